import { describe, expect, it } from "vitest";
import { parseActorAnnotations } from "../../shared/annotations.ts";
import type { KubernetesApi, ScaledObjectInfo } from "../../webhook/kubernetes.ts";
import { createLogger } from "../../webhook/log.ts";
import { WebhookMetrics } from "../../webhook/metrics.ts";
import type { ActorQueueSpec, QueueApi } from "../../webhook/queues.ts";
import { Reconciler, type WorkloadState } from "../../webhook/reconcile.ts";

function configOf(annotations: Record<string, string>) {
  const parsed = parseActorAnnotations(annotations);
  if (!parsed.ok || parsed.value.config === undefined) throw new Error("bad test annotations");
  return parsed.value.config;
}

function fakes() {
  const calls: string[] = [];
  const scaledObjects = new Map<string, ScaledObjectInfo>();
  const kubernetes: KubernetesApi = {
    getVersion: async () => ({ major: 1, minor: 30, gitVersion: "v1.30.0" }),
    applyScaledObject: async (scaledObject) => {
      calls.push(`apply ${scaledObject.metadata.name} max=${scaledObject.spec.maxReplicaCount}`);
      scaledObjects.set(scaledObject.metadata.name, {
        name: scaledObject.metadata.name,
        namespace: scaledObject.metadata.namespace,
        uid: "so-1",
        labels: scaledObject.metadata.labels,
      });
    },
    getScaledObject: async (_namespace, name) => scaledObjects.get(name),
    deleteScaledObject: async (_namespace, name) => {
      calls.push(`delete ${name}`);
      scaledObjects.delete(name);
    },
    listScaledObjects: async () => [...scaledObjects.values()],
    listWorkloads: async () => [],
    getWorkloadUid: async () => "uid-1",
  };
  const queues: QueueApi = {
    ensureActorQueues: async (spec: ActorQueueSpec) => {
      calls.push(`queues ${spec.queueName} receive=${spec.maxReceiveCount} visibility=${spec.visibilityTimeoutSeconds}`);
      return `https://sqs.test/000000000000/${spec.queueName}`;
    },
    ensureQueue: async (name) => {
      calls.push(`queue ${name}`);
      return `https://sqs.test/000000000000/${name}`;
    },
    getQueueUrl: async (name) => {
      calls.push(`lookup ${name}`);
      return `https://sqs.test/000000000000/${name}`;
    },
  };
  return { calls, kubernetes, queues, scaledObjects };
}

function state(name: string, config: WorkloadState["config"]): WorkloadState {
  return { target: { apiVersion: "apps/v1", kind: "Deployment", name, namespace: "ns" }, config };
}

const log = createLogger({ level: "error", print: () => {} });
const scaling = { awsRegion: "us-east-1", authKind: "ClusterTriggerAuthentication" as const, authName: "asya-aws" };

describe("Reconciler", () => {
  it("replaces a waiting state of the same workload", async () => {
    const { calls, kubernetes, queues } = fakes();
    const reconciler = new Reconciler({ kubernetes, queues, createQueues: true, scaling, metrics: new WebhookMetrics(), log });
    reconciler.enqueue(state("first", configOf({ "asya.sh/actor": "first" })));
    reconciler.enqueue(state("second", configOf({ "asya.sh/actor": "second", "asya.sh/max-replicas": "2" })));
    reconciler.enqueue(state("second", configOf({ "asya.sh/actor": "second", "asya.sh/max-replicas": "7" })));
    await reconciler.idle();
    expect(calls.filter((call) => call.startsWith("apply"))).toEqual(["apply first max=10", "apply second max=7"]);
  });

  it("creates queues with the annotated settings", async () => {
    const { calls, kubernetes, queues } = fakes();
    const reconciler = new Reconciler({ kubernetes, queues, createQueues: true, scaling, metrics: new WebhookMetrics(), log });
    reconciler.enqueue(state("a", configOf({ "asya.sh/actor": "a", "asya.sh/max-receive-count": "7", "asya.sh/timeout": "1m" })));
    await reconciler.idle();
    expect(calls.slice(0, 3)).toEqual(["queues asya-ns-a receive=7 visibility=90", "queue asya-ns-x-sink", "queue asya-ns-x-sump"]);
  });

  it("only looks queues up when creation is off", async () => {
    const { calls, kubernetes, queues } = fakes();
    const reconciler = new Reconciler({ kubernetes, queues, createQueues: false, scaling, metrics: new WebhookMetrics(), log });
    reconciler.enqueue(state("a", configOf({ "asya.sh/actor": "a" })));
    await reconciler.idle();
    expect(calls).toEqual(["lookup asya-ns-a", "apply a max=10"]);
  });

  it("deletes its ScaledObject when scaling is none", async () => {
    const { calls, kubernetes, queues, scaledObjects } = fakes();
    const reconciler = new Reconciler({ kubernetes, queues, createQueues: false, scaling, metrics: new WebhookMetrics(), log });
    reconciler.enqueue(state("a", configOf({ "asya.sh/actor": "a" })));
    await reconciler.idle();
    reconciler.enqueue(state("a", configOf({ "asya.sh/actor": "a", "asya.sh/scaling": "none" })));
    await reconciler.idle();
    expect(calls.at(-1)).toBe("delete a");
    expect(scaledObjects.size).toBe(0);
  });

  it("counts failures and stops after the attempts", async () => {
    const { kubernetes, queues } = fakes();
    queues.ensureActorQueues = async () => {
      throw new Error("AccessDenied: not authorized to perform sqs:CreateQueue");
    };
    const lines: any[] = [];
    const metrics = new WebhookMetrics();
    const reconciler = new Reconciler({
      kubernetes,
      queues,
      createQueues: true,
      scaling,
      metrics,
      log: createLogger({ level: "warn", print: (line) => lines.push(JSON.parse(line)) }),
      attempts: 2,
      retryDelayMs: 0,
    });
    reconciler.enqueue(state("a", configOf({ "asya.sh/actor": "a" })));
    await reconciler.idle();
    expect(metrics.reconcileCount("queues", "failure")).toBe(2);
    expect(metrics.reconcileCount("apply-scaled-object", "success")).toBe(0);
    expect(lines.map((line) => line.event)).toEqual(["reconcile_retry", "reconcile_failed"]);
    expect(lines[1]).toMatchObject({ action: "queues", actor: "a", namespace: "ns", workload: "a", error: "AccessDenied: not authorized to perform sqs:CreateQueue" });
  });
});
