/**
 * Sidecar metrics and their Prometheus text exposition (format 0.0.4).
 *
 * The registry is a plain in-memory object; `renderMetrics` turns it into
 * the text served at `GET /metrics`. Label values are escaped as the format
 * requires (backslash, double quote, newline).
 */

/** Upper bounds, in seconds, of the handler duration histogram buckets. */
export const HANDLER_DURATION_BUCKETS = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
];

/** Counters and gauges of one sidecar process. */
export interface Metrics {
  /** SQS messages received from the actor's queue. */
  received: number;
  /** Envelopes whose outgoing messages were all sent and whose message was deleted. */
  succeeded: number;
  /** Envelopes sent to `x-sump`, by `status.reason`. */
  failed: Map<string, number>;
  /** Outgoing envelopes, by destination actor. */
  routed: Map<string, number>;
  /** Envelopes being processed right now. */
  inFlight: number;
  /** Claim-check payload bytes uploaded to S3. */
  claimCheckBytesUploaded: number;
  /** Claim-check payload bytes downloaded from S3. */
  claimCheckBytesDownloaded: number;
  /** Handler call durations: cumulative bucket counts, sum and count. */
  handlerDuration: { bucketCounts: number[]; sum: number; count: number };
}

export function createMetrics(): Metrics {
  return {
    received: 0,
    succeeded: 0,
    failed: new Map(),
    routed: new Map(),
    inFlight: 0,
    claimCheckBytesUploaded: 0,
    claimCheckBytesDownloaded: 0,
    handlerDuration: {
      bucketCounts: HANDLER_DURATION_BUCKETS.map(() => 0),
      sum: 0,
      count: 0,
    },
  };
}

export function incrementLabel(
  map: Map<string, number>,
  label: string,
  by = 1,
): void {
  map.set(label, (map.get(label) ?? 0) + by);
}

/** Records one handler call that took `seconds`. */
export function observeHandlerDuration(
  metrics: Metrics,
  seconds: number,
): void {
  const histogram = metrics.handlerDuration;
  HANDLER_DURATION_BUCKETS.forEach((bound, index) => {
    if (seconds <= bound) histogram.bucketCounts[index] += 1;
  });
  histogram.sum += seconds;
  histogram.count += 1;
}

/** Renders the metrics as Prometheus text, labelled with the actor name. */
export function renderMetrics(metrics: Metrics, actor: string): string {
  const actorLabel = `actor="${escapeLabelValue(actor)}"`;
  const lines: string[] = [];

  function single(
    name: string,
    help: string,
    value: number,
    type: "counter" | "gauge" = "counter",
  ): void {
    lines.push(
      `# HELP ${name} ${help}`,
      `# TYPE ${name} ${type}`,
      `${name}{${actorLabel}} ${formatNumber(value)}`,
    );
  }

  function labelled(
    name: string,
    help: string,
    labelName: string,
    values: Map<string, number>,
  ): void {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (
      const [label, value] of [...values.entries()].sort(([a], [b]) =>
        a.localeCompare(b)
      )
    ) {
      lines.push(
        `${name}{${actorLabel},${labelName}="${escapeLabelValue(label)}"} ${
          formatNumber(value)
        }`,
      );
    }
  }

  single(
    "asya_sidecar_messages_received_total",
    "SQS messages received from the actor queue.",
    metrics.received,
  );
  single(
    "asya_sidecar_envelopes_succeeded_total",
    "Envelopes fully routed and deleted from the actor queue.",
    metrics.succeeded,
  );
  labelled(
    "asya_sidecar_envelopes_failed_total",
    "Envelopes sent to x-sump, by reason.",
    "reason",
    metrics.failed,
  );
  labelled(
    "asya_sidecar_envelopes_routed_total",
    "Outgoing envelopes, by destination actor.",
    "destination",
    metrics.routed,
  );
  single(
    "asya_sidecar_envelopes_in_flight",
    "Envelopes being processed now.",
    metrics.inFlight,
    "gauge",
  );

  const bytesName = "asya_sidecar_claim_check_bytes_total";
  lines.push(
    `# HELP ${bytesName} Claim-check payload bytes transferred to and from S3.`,
    `# TYPE ${bytesName} counter`,
    `${bytesName}{${actorLabel},direction="download"} ${
      formatNumber(metrics.claimCheckBytesDownloaded)
    }`,
    `${bytesName}{${actorLabel},direction="upload"} ${
      formatNumber(metrics.claimCheckBytesUploaded)
    }`,
  );

  const histogramName = "asya_sidecar_handler_duration_seconds";
  const histogram = metrics.handlerDuration;
  lines.push(
    `# HELP ${histogramName} Duration of handler calls to the runtime.`,
    `# TYPE ${histogramName} histogram`,
  );
  HANDLER_DURATION_BUCKETS.forEach((bound, index) => {
    lines.push(
      `${histogramName}_bucket{${actorLabel},le="${bound}"} ${
        histogram.bucketCounts[index]
      }`,
    );
  });
  lines.push(
    `${histogramName}_bucket{${actorLabel},le="+Inf"} ${histogram.count}`,
    `${histogramName}_sum{${actorLabel}} ${formatNumber(histogram.sum)}`,
    `${histogramName}_count{${actorLabel}} ${histogram.count}`,
  );

  return lines.join("\n") + "\n";
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
    /\n/g,
    "\\n",
  );
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
