import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GetQueueAttributesCommand, GetQueueUrlCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { startLocalStack, type LocalStack } from "../../local/mod.ts";
import { createApp } from "../../webhook/app.ts";
import { HttpKubernetesApi } from "../../webhook/kubernetes.ts";
import { createLogger } from "../../webhook/log.ts";
import { WebhookMetrics } from "../../webhook/metrics.ts";
import { SqsQueueApi } from "../../webhook/queues.ts";
import { Reconciler } from "../../webhook/reconcile.ts";
import { type FakeKubernetes, startFakeKubernetes, storeWorkload } from "./fake-kubernetes.ts";
import { admit, patchOf, reviewOf, TEST_CONFIG } from "./helpers.ts";

let kube: FakeKubernetes;
let stack: LocalStack;
let dataDir: string;
let sqs: SQSClient;

beforeAll(async () => {
  kube = await startFakeKubernetes();
  dataDir = mkdtempSync(join(tmpdir(), "asya-webhook-test-"));
  stack = await startLocalStack({ dataDir, sqsPort: 0, s3Port: 0 });
  sqs = new SQSClient({
    region: "us-east-1",
    endpoint: stack.sqsEndpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
});

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
  await kube?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function deployment(name: string, annotations: Record<string, string>, namespace = "pipelines") {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, annotations },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "main", image: "python:3.11-slim" }] },
      },
    },
  };
}

function setup(options: { createQueues?: boolean } = {}) {
  const lines: any[] = [];
  const log = createLogger({ level: "debug", print: (line) => lines.push(JSON.parse(line)) });
  const metrics = new WebhookMetrics();
  const kubernetes = new HttpKubernetesApi({ baseUrl: kube.url, token: async () => "test-token" });
  const queues = new SqsQueueApi(sqs);
  const reconciler = new Reconciler({
    kubernetes,
    queues,
    createQueues: options.createQueues ?? true,
    scaling: { awsRegion: "us-east-1", sqsEndpoint: stack.sqsEndpoint, authKind: "ClusterTriggerAuthentication", authName: "asya-aws" },
    metrics,
    log,
    retryDelayMs: 0,
  });
  const app = createApp({
    config: { ...TEST_CONFIG, sqsEndpoint: stack.sqsEndpoint },
    kubernetesVersion: { major: 1, minor: 30 },
    kubernetes,
    queues,
    log,
    metrics,
    reconciler,
  });
  return { app, reconciler, metrics, lines };
}

async function queueNames(): Promise<string[]> {
  const listed = await sqs.send(new ListQueuesCommand({}));
  return (listed.QueueUrls ?? []).map((url) => url.split("/").pop()!).sort();
}

beforeEach(() => {
  kube.requests.length = 0;
  kube.scaledObjects.clear();
  kube.workloads.clear();
  kube.failApplyWith = 0;
});

describe("workload side effects", () => {
  it("creates queues and applies the ScaledObject", async () => {
    const { app, reconciler, metrics } = setup();
    const workload = deployment("summarize", { "asya.sh/actor": "summarize", "asya.sh/handler": "m.f", "asya.sh/max-receive-count": "5" });
    const stored = storeWorkload(kube, workload);

    const { body } = await admit(app, reviewOf(workload));
    expect(body.response.allowed).toBe(true);
    expect(patchOf(body)).toHaveLength(1);
    await reconciler.idle();

    const names = await queueNames();
    for (const name of ["asya-pipelines-summarize", "asya-pipelines-summarize-dlq", "asya-pipelines-x-sink", "asya-pipelines-x-sump"]) {
      expect(names).toContain(name);
    }
    const queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: "asya-pipelines-summarize" }))).QueueUrl!;
    const attributes = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }))).Attributes!;
    const redrive = JSON.parse(attributes.RedrivePolicy!);
    expect(redrive.maxReceiveCount).toBe(5);
    expect(redrive.deadLetterTargetArn).toMatch(/:asya-pipelines-summarize-dlq$/);
    expect(attributes.VisibilityTimeout).toBe("330");

    const apply = kube.requests.find((request) => request.method === "PATCH")!;
    expect(apply.path).toBe("/apis/keda.sh/v1alpha1/namespaces/pipelines/scaledobjects/summarize");
    expect(apply.query).toEqual({ fieldManager: "asya-webhook", force: "true" });
    expect(apply.contentType).toBe("application/apply-patch+yaml");
    expect(apply.authorization).toBe("Bearer test-token");

    const scaledObject = kube.scaledObjects.get("pipelines/summarize");
    expect(() => new ScaledObject(scaledObject).validate()).not.toThrow();
    expect(scaledObject.metadata.ownerReferences).toEqual([{
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "summarize",
      uid: stored.metadata.uid,
      controller: false,
      blockOwnerDeletion: false,
    }]);
    expect(scaledObject.spec.triggers[0].metadata).toEqual({
      queueURL: queueUrl,
      queueLength: "5",
      activationQueueLength: "0",
      awsRegion: "us-east-1",
      scaleOnInFlight: "true",
      awsEndpoint: stack.sqsEndpoint,
    });
    expect(metrics.reconcileCount("apply-scaled-object", "success")).toBe(1);
    expect(metrics.reconcileCount("queues", "success")).toBe(1);
  });

  it("creates queues once across admissions", async () => {
    const { app, reconciler } = setup();
    const workload = deployment("once", { "asya.sh/actor": "once", "asya.sh/handler": "m.f" });
    storeWorkload(kube, workload);
    await admit(app, reviewOf(workload));
    await reconciler.idle();
    const before = await queueNames();
    await admit(app, reviewOf(workload, { operation: "UPDATE", oldObject: workload }));
    await reconciler.idle();
    expect(await queueNames()).toEqual(before);
    expect(before.filter((name) => name.startsWith("asya-pipelines-once"))).toEqual(["asya-pipelines-once", "asya-pipelines-once-dlq"]);
  });

  it("does nothing on a dry run", async () => {
    const { app, reconciler } = setup();
    const workload = deployment("dry", { "asya.sh/actor": "dry", "asya.sh/handler": "m.f" });
    const { body } = await admit(app, reviewOf(workload, { dryRun: true }));
    expect(body.response.allowed).toBe(true);
    expect(patchOf(body)).toHaveLength(1);
    await reconciler.idle();
    expect(kube.requests).toEqual([]);
    expect((await queueNames()).filter((name) => name.includes("-dry"))).toEqual([]);
  });

  it("deletes the ScaledObject when the annotation is removed", async () => {
    const { app, reconciler } = setup();
    const before = deployment("removal", { "asya.sh/actor": "removal", "asya.sh/handler": "m.f" });
    storeWorkload(kube, before);
    await admit(app, reviewOf(before));
    await reconciler.idle();
    const uid = kube.scaledObjects.get("pipelines/removal").metadata.uid;

    const after = deployment("removal", {});
    (after.spec.template.metadata as any).annotations = { "asya.sh/actor": "removal", "asya.sh/handler": "m.f" };
    const { body } = await admit(app, reviewOf(after, { operation: "UPDATE", oldObject: before }));
    expect(patchOf(body)).toEqual([
      { op: "remove", path: "/spec/template/metadata/annotations/asya.sh~1actor" },
      { op: "remove", path: "/spec/template/metadata/annotations/asya.sh~1handler" },
    ]);
    await reconciler.idle();
    expect(kube.scaledObjects.has("pipelines/removal")).toBe(false);
    const deletion = kube.requests.find((request) => request.method === "DELETE")!;
    expect(deletion.body.preconditions).toEqual({ uid });
  });

  it("creates no ScaledObject with scaling none", async () => {
    const { app, reconciler } = setup();
    const workload = deployment("manual", { "asya.sh/actor": "manual", "asya.sh/handler": "m.f", "asya.sh/scaling": "none" });
    await admit(app, reviewOf(workload));
    await reconciler.idle();
    expect(kube.requests.filter((request) => request.method === "PATCH")).toEqual([]);
    expect(await queueNames()).toContain("asya-pipelines-manual");
  });

  it("never takes over a foreign ScaledObject", async () => {
    const { app, reconciler, lines } = setup();
    kube.scaledObjects.set("pipelines/taken", { metadata: { name: "taken", namespace: "pipelines", uid: "theirs", labels: {} } });
    const workload = deployment("taken", { "asya.sh/actor": "taken", "asya.sh/handler": "m.f" });
    storeWorkload(kube, workload);
    await admit(app, reviewOf(workload));
    await reconciler.idle();
    expect(kube.requests.filter((request) => request.method === "PATCH")).toEqual([]);
    expect(kube.scaledObjects.get("pipelines/taken").metadata.uid).toBe("theirs");
    const failure = lines.find((line) => line.event === "reconcile_failed");
    expect(failure.error).toContain("exists without label app.kubernetes.io/managed-by=asya-webhook");
  });

  it("admits despite a failing API server, then resync heals", async () => {
    const { app, reconciler, metrics, lines } = setup();
    kube.failApplyWith = 500;
    const workload = deployment("heal", { "asya.sh/actor": "heal", "asya.sh/handler": "m.f" });
    storeWorkload(kube, { ...workload, metadata: { ...workload.metadata } });
    (kube.workloads.get("Deployment/pipelines/heal").spec.template.metadata as any).annotations = workload.metadata.annotations;

    const { body } = await admit(app, reviewOf(workload));
    expect(body.response.allowed).toBe(true);
    await reconciler.idle();
    expect(kube.scaledObjects.has("pipelines/heal")).toBe(false);
    expect(metrics.reconcileCount("apply-scaled-object", "failure")).toBe(3);
    expect(lines.filter((line) => line.event === "reconcile_retry")).toHaveLength(2);
    expect(lines.find((line) => line.event === "reconcile_failed").error).toContain("HTTP 500: injected failure");

    kube.failApplyWith = 0;
    await reconciler.resync();
    expect(kube.scaledObjects.has("pipelines/heal")).toBe(true);
    expect(metrics.reconcileCount("resync", "success")).toBe(1);
  });
});

describe("resync", () => {
  it("applies missing and deletes orphaned ScaledObjects", async () => {
    const { reconciler } = setup();
    storeWorkload(kube, deployment("missed", { "asya.sh/actor": "missed", "asya.sh/handler": "m.f" }));
    storeWorkload(kube, { ...deployment("stateful", {}), kind: "StatefulSet" });
    (kube.workloads.get("StatefulSet/pipelines/stateful").spec.template.metadata as any).annotations = {
      "asya.sh/actor": "stateful",
      "asya.sh/handler": "m.f",
    };
    storeWorkload(kube, deployment("plain", {}));
    kube.scaledObjects.set("pipelines/gone", {
      metadata: { name: "gone", namespace: "pipelines", uid: "u-gone", labels: { "app.kubernetes.io/managed-by": "asya-webhook" } },
    });
    kube.scaledObjects.set("pipelines/users", { metadata: { name: "users", namespace: "pipelines", uid: "u-users", labels: {} } });

    await reconciler.resync();

    expect([...kube.scaledObjects.keys()].sort()).toEqual(["pipelines/missed", "pipelines/stateful", "pipelines/users"]);
    expect(kube.scaledObjects.get("pipelines/stateful").spec.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      name: "stateful",
    });
    expect(await queueNames()).toContain("asya-pipelines-missed");
  });

  it("keeps the ScaledObject of a workload with bad annotations", async () => {
    const { reconciler } = setup();
    storeWorkload(kube, deployment("broken", { "asya.sh/actor": "broken", "asya.sh/timeout": "soon" }));
    kube.scaledObjects.set("pipelines/broken", {
      metadata: { name: "broken", namespace: "pipelines", uid: "u", labels: { "app.kubernetes.io/managed-by": "asya-webhook" } },
    });
    await reconciler.resync();
    expect(kube.scaledObjects.has("pipelines/broken")).toBe(true);
  });

  it("runs periodically until stopped", async () => {
    const { reconciler } = setup();
    storeWorkload(kube, deployment("tick", { "asya.sh/actor": "tick", "asya.sh/handler": "m.f" }));
    reconciler.start(20);
    try {
      for (let attempt = 0; attempt < 200 && !kube.scaledObjects.has("pipelines/tick"); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      reconciler.stop();
      await reconciler.idle();
    }
    expect(kube.scaledObjects.has("pipelines/tick")).toBe(true);
  });
});

describe("HttpKubernetesApi", () => {
  it("reads versions with a plus suffix", async () => {
    const api = new HttpKubernetesApi({ baseUrl: kube.url, token: async () => undefined });
    expect(await api.getVersion()).toEqual({ major: 1, minor: 30, gitVersion: "v1.30.2-eks-1234" });
    expect(kube.requests[0].authorization).toBeUndefined();
  });

  it("treats a missing ScaledObject as deleted", async () => {
    const api = new HttpKubernetesApi({ baseUrl: kube.url, token: async () => "t" });
    await expect(api.deleteScaledObject("pipelines", "none", "u")).resolves.toBeUndefined();
    expect(await api.getScaledObject("pipelines", "none")).toBeUndefined();
  });
});
