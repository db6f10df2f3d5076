/**
 * Side effects of actor workloads: SQS queues and KEDA ScaledObjects.
 * Admission only enqueues work; a background task runs it, so a slow or
 * failing AWS or API server call never delays or blocks an admission. A
 * periodic resync lists every workload and repairs what a missed or failed
 * call left behind.
 */
import { type ActorConfig, parseActorAnnotations, selectAsyaAnnotations } from "../shared/annotations.ts";
import { actorQueueName, dlqQueueName, sinkQueueName, sumpQueueName } from "../shared/queues.ts";
import {
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  renderScaledObject,
  type ScaleTarget,
  type ScalingSettings,
} from "../shared/scaled-object.ts";
import type { KubernetesApi } from "./kubernetes.ts";
import type { Logger } from "./log.ts";
import type { WebhookMetrics } from "./metrics.ts";
import { GRACE_MARGIN_SECONDS } from "./patch/pod.ts";
import type { WorkloadLike } from "./patch/workload.ts";
import type { QueueApi } from "./queues.ts";

/** State of a workload that an admission enqueues for reconciliation. */
export interface WorkloadState {
  target: ScaleTarget;
  /** Actor config after admission; undefined when the workload is no longer an actor. */
  config: ActorConfig | undefined;
}

/** Options of `Reconciler`. */
export interface ReconcilerOptions {
  kubernetes: KubernetesApi | undefined;
  queues: QueueApi | undefined;
  /** Create queues (ASYA_CREATE_QUEUES); false only looks their URLs up. */
  createQueues: boolean;
  scaling: ScalingSettings;
  metrics: WebhookMetrics;
  log: Logger;
  /** Attempts per workload before waiting for the next resync, default 3. */
  attempts?: number;
  /** Waits between attempts, default 1 s doubling; tests pass 0. */
  retryDelayMs?: number;
}

/** Converges queues and ScaledObjects of actor workloads, off the request path. */
export class Reconciler {
  private readonly pending = new Map<string, WorkloadState>();
  private running: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private resyncing: Promise<void> | undefined;

  constructor(private readonly options: ReconcilerOptions) {}

  /**
   * Queues the workload for reconciliation and returns at once. A newer
   * state of the same workload replaces an older one still waiting.
   */
  enqueue(state: WorkloadState): void {
    const { target } = state;
    this.pending.set(`${target.kind}/${target.namespace}/${target.name}`, state);
    if (this.running === undefined) {
      this.running = this.drainPending().finally(() => {
        this.running = undefined;
      });
    }
  }

  /** Resolves when no enqueued work is left; for tests and shutdown. */
  async idle(): Promise<void> {
    // Work enqueued while draining starts a new run, so loop until none is left.
    for (let round = 0; round < 100 && (this.running !== undefined || this.resyncing !== undefined); round++) {
      await this.running;
      await this.resyncing;
    }
  }

  /** Starts periodic resync every `intervalMs`; 0 leaves it off. */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.resync(), intervalMs);
  }

  /** Stops periodic resync. Work already enqueued still finishes. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Lists every Deployment and StatefulSet, reconciles each actor, and
   * deletes managed ScaledObjects whose workload is gone or no longer
   * scaled by KEDA. One pass runs at a time; a call during a pass joins it.
   */
  resync(): Promise<void> {
    if (this.resyncing === undefined) {
      this.resyncing = this.runResync().finally(() => {
        this.resyncing = undefined;
      });
    }
    return this.resyncing;
  }

  private async runResync(): Promise<void> {
    const { kubernetes, log, metrics } = this.options;
    if (kubernetes === undefined) return;
    try {
      const workloads = [
        ...await kubernetes.listWorkloads("Deployment"),
        ...await kubernetes.listWorkloads("StatefulSet"),
      ];
      const scaled = new Set<string>();
      for (const workload of workloads) {
        const state = stateOfListedWorkload(workload);
        if (state === undefined) continue;
        const key = `${workload.metadata?.namespace}/${workload.metadata?.name}`;
        // A workload with bad annotations keeps its ScaledObject until its owner fixes them.
        if (state === "invalid" || state.config?.scaling === "keda") scaled.add(key);
        // One attempt each: the next pass retries what fails now. ScaledObjects
        // of workloads that are no longer actors go in the orphan pass below.
        if (state !== "invalid" && state.config !== undefined) await this.reconcile(state, true);
      }

      for (const scaledObject of await kubernetes.listScaledObjects(`${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`)) {
        if (scaled.has(`${scaledObject.namespace}/${scaledObject.name}`)) continue;
        await kubernetes.deleteScaledObject(scaledObject.namespace, scaledObject.name, scaledObject.uid);
        metrics.recordReconcile("delete-scaled-object", "success");
        log.info("scaled_object_deleted", { namespace: scaledObject.namespace, name: scaledObject.name, cause: "resync" });
      }
      metrics.recordReconcile("resync", "success");
      log.info("resync_finished", { workloads: workloads.length, actors: scaled.size });
    } catch (error) {
      metrics.recordReconcile("resync", "failure");
      log.error("resync_failed", { error: errorMessage(error) });
    }
  }

  private async drainPending(): Promise<void> {
    while (this.pending.size > 0) {
      const [key, state] = this.pending.entries().next().value as [string, WorkloadState];
      this.pending.delete(key);
      await this.reconcileWithRetries(state);
    }
  }

  private async reconcileWithRetries(state: WorkloadState): Promise<void> {
    const attempts = this.options.attempts ?? 3;
    let delay = this.options.retryDelayMs ?? 1_000;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (await this.reconcile(state, attempt === attempts)) return;
      if (attempt < attempts && delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }

  // Returns true when every step succeeded; a failure is logged and counted.
  private async reconcile(state: WorkloadState, lastAttempt: boolean): Promise<boolean> {
    const { target, config } = state;
    const log = this.options.log.with({ namespace: target.namespace, workload: target.name, kind: target.kind });
    const step = async (action: string, run: () => Promise<void>): Promise<boolean> => {
      try {
        await run();
        this.options.metrics.recordReconcile(action, "success");
        return true;
      } catch (error) {
        this.options.metrics.recordReconcile(action, "failure");
        const event = lastAttempt ? "reconcile_failed" : "reconcile_retry";
        log[lastAttempt ? "error" : "warn"](event, { action, actor: config?.actor, error: errorMessage(error) });
        return false;
      }
    };

    let queueUrl: string | undefined;
    if (config !== undefined) {
      const queuesReady = await step("queues", async () => {
        queueUrl = await this.ensureQueues(target.namespace, config);
      });
      if (!queuesReady) return false;
    }

    if (config !== undefined && config.scaling === "keda") {
      return await step("apply-scaled-object", () => this.applyScaledObject(target, config, queueUrl, log));
    }
    return await step("delete-scaled-object", () => this.deleteScaledObject(target, log));
  }

  // Returns the actor queue URL, or the bare queue name when SQS is not configured.
  private async ensureQueues(namespace: string, config: ActorConfig): Promise<string> {
    const queueName = unwrap(actorQueueName(namespace, config.actor));
    const queues = this.options.queues;
    if (queues === undefined) return queueName;
    if (!this.options.createQueues) return await queues.getQueueUrl(queueName);

    const queueUrl = await queues.ensureActorQueues({
      queueName,
      dlqName: unwrap(dlqQueueName(namespace, config.actor)),
      maxReceiveCount: config.maxReceiveCount,
      visibilityTimeoutSeconds: Math.min(Math.ceil(config.timeoutMs / 1_000) + GRACE_MARGIN_SECONDS, 43_200),
    });
    // Every actor routes to the end actors of its namespace, so their queues must exist too.
    await queues.ensureQueue(unwrap(sinkQueueName(namespace)));
    await queues.ensureQueue(unwrap(sumpQueueName(namespace)));
    this.options.log.info("queues_ready", { namespace, actor: config.actor, queue: queueName });
    return queueUrl;
  }

  private async applyScaledObject(target: ScaleTarget, config: ActorConfig, queueUrl: string | undefined, log: Logger) {
    const kubernetes = this.options.kubernetes;
    if (kubernetes === undefined) return;
    // Never take over a ScaledObject that someone else created under this name.
    const existing = await kubernetes.getScaledObject(target.namespace, target.name);
    if (existing !== undefined && existing.labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
      throw new Error(
        `ScaledObject ${target.namespace}/${target.name} exists without label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}; ` +
          "delete it or set asya.sh/scaling: none",
      );
    }
    // A CREATE review carries no uid; the owner reference needs the stored object's.
    const uid = target.uid ?? await kubernetes.getWorkloadUid(target.kind, target.namespace, target.name);
    if (uid === undefined) throw new Error(`${target.kind} ${target.namespace}/${target.name} not found yet`);
    const queue = queueUrl ?? unwrap(actorQueueName(target.namespace, config.actor));
    await kubernetes.applyScaledObject(renderScaledObject({ ...target, uid }, config, this.options.scaling, queue));
    log.info("scaled_object_applied", { actor: config.actor });
  }

  private async deleteScaledObject(target: ScaleTarget, log: Logger) {
    const kubernetes = this.options.kubernetes;
    if (kubernetes === undefined) return;
    const existing = await kubernetes.getScaledObject(target.namespace, target.name);
    if (existing === undefined || existing.labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return;
    await kubernetes.deleteScaledObject(target.namespace, target.name, existing.uid);
    log.info("scaled_object_deleted", { cause: "annotation removed" });
  }
}

/**
 * Returns the reconcile state of a listed workload, with no config when it
 * is not an actor. Returns undefined without a name and namespace, and
 * "invalid" when its annotations do not parse: its admission was denied,
 * so resync leaves it alone.
 */
export function stateOfListedWorkload(
  workload: WorkloadLike & { apiVersion: string; kind: "Deployment" | "StatefulSet" },
): WorkloadState | "invalid" | undefined {
  const metadata = workload.metadata ?? {};
  if (metadata.name === undefined || metadata.namespace === undefined) return undefined;
  const annotations = {
    ...selectAsyaAnnotations(workload.spec?.template?.metadata?.annotations),
    ...selectAsyaAnnotations(metadata.annotations),
  };
  const parsed = parseActorAnnotations(annotations, { namespace: metadata.namespace });
  if (!parsed.ok) return "invalid";
  return {
    target: {
      apiVersion: workload.apiVersion,
      kind: workload.kind,
      name: metadata.name,
      namespace: metadata.namespace,
      uid: metadata.uid,
    },
    config: parsed.value.config,
  };
}

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
