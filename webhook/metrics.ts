/**
 * The webhook's Prometheus metrics, kept in memory and rendered in the
 * text exposition format (version 0.0.4) on `GET /metrics`.
 */

/** Upper bounds in seconds of the admission latency histogram. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Outcome of one admission. */
export type AdmissionResult = "allowed" | "patched" | "denied" | "invalid";

/** Outcome of one side effect (queue, ScaledObject) or resync pass. */
export type ReconcileResult = "success" | "failure";

/** Counters and the latency histogram of one webhook process. */
export class WebhookMetrics {
  private readonly admissions = new Map<string, number>();
  private readonly reconciles = new Map<string, number>();
  private readonly bucketCounts = LATENCY_BUCKETS.map(() => 0);
  private latencyCount = 0;
  private latencySum = 0;

  /** Counts one admission by object kind and result, with its latency in seconds. */
  recordAdmission(kind: string, result: AdmissionResult, seconds: number): void {
    increment(this.admissions, labels({ kind, result }));
    this.latencyCount += 1;
    this.latencySum += seconds;
    LATENCY_BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) this.bucketCounts[index] += 1;
    });
  }

  /** Counts one reconcile action (queues, apply, delete, resync) by result. */
  recordReconcile(action: string, result: ReconcileResult): void {
    increment(this.reconciles, labels({ action, result }));
  }

  /** Returns the count of one admission series; for tests and the benchmark. */
  admissionCount(kind: string, result: AdmissionResult): number {
    return this.admissions.get(labels({ kind, result })) ?? 0;
  }

  /** Returns the count of one reconcile series. */
  reconcileCount(action: string, result: ReconcileResult): number {
    return this.reconciles.get(labels({ action, result })) ?? 0;
  }

  /** Renders every metric in the Prometheus text format. */
  render(): string {
    const lines: string[] = [
      "# HELP asya_webhook_admissions_total Admission requests by object kind and result.",
      "# TYPE asya_webhook_admissions_total counter",
      ...series("asya_webhook_admissions_total", this.admissions),
      "# HELP asya_webhook_admission_duration_seconds Time to answer one admission request.",
      "# TYPE asya_webhook_admission_duration_seconds histogram",
    ];
    LATENCY_BUCKETS.forEach((bound, index) => {
      lines.push(`asya_webhook_admission_duration_seconds_bucket{le="${bound}"} ${this.bucketCounts[index]}`);
    });
    lines.push(
      `asya_webhook_admission_duration_seconds_bucket{le="+Inf"} ${this.latencyCount}`,
      `asya_webhook_admission_duration_seconds_sum ${this.latencySum}`,
      `asya_webhook_admission_duration_seconds_count ${this.latencyCount}`,
      "# HELP asya_webhook_reconciles_total Side effects and resync passes by action and result.",
      "# TYPE asya_webhook_reconciles_total counter",
      ...series("asya_webhook_reconciles_total", this.reconciles),
    );
    return lines.join("\n") + "\n";
  }
}

function labels(values: Record<string, string>): string {
  return Object.entries(values).map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(",");
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function increment(counters: Map<string, number>, key: string): void {
  counters.set(key, (counters.get(key) ?? 0) + 1);
}

function series(name: string, counters: Map<string, number>): string[] {
  return [...counters.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, count]) => `${name}{${key}} ${count}`);
}
