/**
 * The webhook's HTTP application: `POST /mutate` for AdmissionReviews of
 * Pods, Deployments and StatefulSets, plus `/healthz`, `/readyz` and
 * `/metrics`. Built from its dependencies, so tests call `app.request()`
 * with fakes and no network.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { INJECTED_ANNOTATION } from "../shared/annotations.ts";
import type { ScaleTarget, ScalingSettings } from "../shared/scaled-object.ts";
import {
  type AdmissionRequest,
  type AdmissionReviewResponse,
  allowed,
  decodeAdmissionReview,
  denied,
  patched,
} from "./admission.ts";
import { resolveNativeSidecar, WEBHOOK_VERSION, type WebhookConfig } from "./config.ts";
import type { KubernetesApi } from "./kubernetes.ts";
import { createLogger, type Logger } from "./log.ts";
import { type AdmissionResult, WebhookMetrics } from "./metrics.ts";
import { type InjectionSettings, planPodInjection, type PodLike } from "./patch/pod.ts";
import { planWorkloadAdmission, type WorkloadLike } from "./patch/workload.ts";
import type { QueueApi } from "./queues.ts";
import { Reconciler } from "./reconcile.ts";

/**
 * Largest accepted request body. etcd stores objects of up to 1.5 MiB by
 * default and an UPDATE review carries the object and the old object, so
 * 4 MiB leaves room for the review around them.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Dependencies of the webhook application. */
export interface AppDependencies {
  config: WebhookConfig;
  /** API server version detected at startup; drives native sidecar in auto mode. */
  kubernetesVersion?: { major: number; minor: number };
  /** Kubernetes API for side effects; without it no ScaledObject is applied. */
  kubernetes?: KubernetesApi;
  /** SQS for side effects; without it no queue is created. */
  queues?: QueueApi;
  /** Milliseconds clock for latency measurement, default `performance.now`. */
  clock?: () => number;
  log?: Logger;
  metrics?: WebhookMetrics;
  /** Side-effect runner; built from `kubernetes` and `queues` when absent. */
  reconciler?: Reconciler;
  /** Readiness, for example "the certificate is loaded"; default always ready. */
  ready?: () => boolean;
}

/** Creates the Hono application of the webhook. */
export function createApp(dependencies: AppDependencies): Hono {
  const { config } = dependencies;
  const log = dependencies.log ?? createLogger({ level: config.logLevel });
  const metrics = dependencies.metrics ?? new WebhookMetrics();
  const clock = dependencies.clock ?? (() => performance.now());
  const ready = dependencies.ready ?? (() => true);
  const reconciler = dependencies.reconciler ?? new Reconciler({
    kubernetes: dependencies.kubernetes,
    queues: dependencies.queues,
    createQueues: config.createQueues,
    scaling: scalingSettings(config),
    metrics,
    log,
  });
  const settings: InjectionSettings = {
    sidecarImage: config.sidecarImage,
    sidecarPullPolicy: config.sidecarPullPolicy,
    nativeSidecar: resolveNativeSidecar(config.nativeSidecar, dependencies.kubernetesVersion),
    awsRegion: config.awsRegion,
    sqsEndpoint: config.sqsEndpoint,
    s3Endpoint: config.s3Endpoint,
    s3Bucket: config.s3Bucket,
    claimCheckThresholdBytes: config.claimCheckThresholdBytes,
    sidecarEnvSecret: config.sidecarEnvSecret,
    version: WEBHOOK_VERSION,
  };

  const app = new Hono();

  // Counts streamed bytes too, so a chunked body cannot grow past the limit in memory.
  app.use("/mutate", bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => {
      const error = `Request body too large: the limit is ${MAX_BODY_BYTES} bytes`;
      metrics.recordAdmission("unknown", "invalid", 0);
      log.warn("admission_rejected", { reason: error });
      return c.json({ error }, 413);
    },
  }));

  app.post("/mutate", async function mutate(c) {
    const started = clock();
    const body = await c.req.text();

    const decoded = decodeAdmissionReview(body);
    if (!decoded.ok) {
      metrics.recordAdmission("unknown", "invalid", (clock() - started) / 1_000);
      log.warn("admission_rejected", { reason: decoded.error });
      return c.json({ error: decoded.error }, 400);
    }

    const request = decoded.value;
    const requestLog = log.with({
      uid: request.uid,
      kind: request.kind.kind,
      namespace: request.namespace,
      name: request.name || undefined,
      operation: request.operation,
    });
    let answer: { review: AdmissionReviewResponse; result: AdmissionResult };
    try {
      answer = admit(request, settings, reconciler, requestLog);
    } catch (error) {
      // A bug must not turn into a 500 that the API server may treat as "allow".
      requestLog.error("admission_failed", { error: error instanceof Error ? error.stack ?? error.message : String(error) });
      answer = {
        review: denied(request.uid, ["Internal error in the asya webhook while admitting this object; see its logs"]),
        result: "denied",
      };
    }

    const seconds = (clock() - started) / 1_000;
    metrics.recordAdmission(request.kind.kind || "unknown", answer.result, seconds);
    const level = answer.result === "allowed" ? "debug" : "info";
    requestLog[level]("admission", { result: answer.result, duration_ms: Math.round(seconds * 1e6) / 1e3 });
    return c.json(answer.review);
  });

  app.get("/healthz", (c) => c.json({ status: "ok", version: WEBHOOK_VERSION }));
  app.get("/readyz", (c) => ready() ? c.json({ status: "ready" }) : c.json({ status: "not ready" }, 503));
  app.get("/metrics", (c) => c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }));
  app.notFound((c) => c.json({ error: `Not found: ${c.req.method} ${c.req.path}` }, 404));
  // Reached only when reading the request fails (for example a client that
  // disconnects mid-body), because admission errors are caught above.
  app.onError((error, c) => {
    log.warn("request_failed", { path: c.req.path, error: error.message });
    return c.json({ error: `Invalid request: ${error.message}` }, 400);
  });
  return app;
}

/** Turns the webhook config into the settings the ScaledObject renderer needs. */
export function scalingSettings(config: WebhookConfig): ScalingSettings {
  return {
    awsRegion: config.awsRegion,
    sqsEndpoint: config.sqsEndpoint,
    authKind: config.kedaAuthKind,
    authName: config.kedaAuthName,
  };
}

function admit(
  request: AdmissionRequest,
  settings: InjectionSettings,
  reconciler: Reconciler,
  log: Logger,
): { review: AdmissionReviewResponse; result: AdmissionResult } {
  const { uid, kind } = request;
  if (request.operation !== "CREATE" && request.operation !== "UPDATE") {
    return { review: allowed(uid), result: "allowed" };
  }
  if (!isObject(request.object)) {
    return { review: allowed(uid, [`asya webhook: no object in the ${kind.kind} review, nothing injected`]), result: "allowed" };
  }

  if (kind.group === "" && kind.kind === "Pod") {
    // A pod's containers and volumes cannot change after creation, so an
    // injection patch on UPDATE would make the API server reject the update.
    if (request.operation === "UPDATE") return { review: allowed(uid, podUpdateWarnings(request.object as PodLike)), result: "allowed" };
    const plan = planPodInjection(request.object as PodLike, request.namespace, settings);
    if (!plan.ok) return { review: denied(uid, plan.error), result: "denied" };
    const result = plan.value.operations.length > 0 ? "patched" : "allowed";
    if (plan.value.config !== undefined) log.debug("pod_injected", { actor: plan.value.config.actor });
    return { review: patched(uid, plan.value.operations, plan.value.warnings), result };
  }

  if (kind.group === "apps" && (kind.kind === "Deployment" || kind.kind === "StatefulSet")) {
    const workload = request.object as WorkloadLike;
    const oldWorkload = isObject(request.oldObject) ? request.oldObject as WorkloadLike : undefined;
    const plan = planWorkloadAdmission(workload, oldWorkload, request.namespace, settings);
    if (!plan.ok) return { review: denied(uid, plan.error), result: "denied" };

    const wasActor = oldWorkload !== undefined && isActor(oldWorkload);
    if (!request.dryRun && (plan.value.config !== undefined || wasActor)) {
      reconciler.enqueue({ target: scaleTarget(request, workload, kind.kind), config: plan.value.config });
    }
    const result = plan.value.operations.length > 0 ? "patched" : "allowed";
    return { review: patched(uid, plan.value.operations, plan.value.warnings), result };
  }

  return { review: allowed(uid), result: "allowed" };
}

function podUpdateWarnings(pod: PodLike): string[] {
  const annotations = pod.metadata?.annotations ?? {};
  if (!("asya.sh/actor" in annotations) || INJECTED_ANNOTATION in annotations) return [];
  return ["Pod has asya.sh/actor but was created without the asya sidecar; delete it so its controller recreates it injected"];
}

function scaleTarget(request: AdmissionRequest, workload: WorkloadLike, kind: "Deployment" | "StatefulSet"): ScaleTarget {
  return {
    apiVersion: "apps/v1",
    kind,
    name: workload.metadata?.name || request.name,
    namespace: request.namespace,
    // A CREATE review carries no uid yet; the reconciler looks it up after the object is stored.
    uid: workload.metadata?.uid || undefined,
  };
}

function isActor(workload: WorkloadLike): boolean {
  return "asya.sh/actor" in (workload.metadata?.annotations ?? {}) ||
    "asya.sh/actor" in (workload.spec?.template?.metadata?.annotations ?? {});
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
