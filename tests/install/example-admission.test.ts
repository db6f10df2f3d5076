// Runs the example overlay's Deployments through the webhook application
// in-process, with the webhook configured from the local overlay's
// Deployment, and validates what comes out: the mutated Deployments, the
// pods their ReplicaSets would create, and the ScaledObjects.
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig as loadSidecarConfig } from "../../sidecar/config.ts";
import { createApp } from "../../webhook/app.ts";
import { loadConfig, type WebhookConfig } from "../../webhook/config.ts";
import type { KubernetesApi, ScaledObjectInfo } from "../../webhook/kubernetes.ts";
import { createLogger } from "../../webhook/log.ts";
import { WebhookMetrics } from "../../webhook/metrics.ts";
import type { ActorQueueSpec, QueueApi } from "../../webhook/queues.ts";
import { Reconciler } from "../../webhook/reconcile.ts";
import type { ScaledObject } from "../../shared/scaled-object.ts";
import { applyJsonPatch, type PatchOperation } from "./json-patch.ts";
import { buildKustomization, findObject, prepareLocalOverlayCopy, REPO_ROOT } from "./kustomize-build.ts";
import { type KubeObject, validateObject } from "./schemas.ts";

const localCopy = prepareLocalOverlayCopy();
afterAll(() => localCopy.cleanup());
const localInstall = buildKustomization(join(localCopy.root, "kustomize/overlays/local"));
const example = buildKustomization(join(REPO_ROOT, "kustomize/overlays/example"));
const endActors = buildKustomization(join(REPO_ROOT, "kustomize/overlays/local-end-actors"));
const deployments = example.filter((object) => object.kind === "Deployment");

// The webhook's configuration exactly as the local overlay's Deployment sets it.
function configFromOverlay(): WebhookConfig {
  const container = findObject(localInstall, "Deployment", "asya-webhook").spec.template.spec.containers[0];
  const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(`The local overlay's webhook env does not load: ${loaded.error.join("; ")}`);
  return loaded.value;
}

class RecordingKubernetes implements KubernetesApi {
  readonly applied: ScaledObject[] = [];
  getVersion() {
    return Promise.resolve({ major: 1, minor: 30, gitVersion: "v1.30.0" });
  }
  applyScaledObject(scaledObject: ScaledObject) {
    this.applied.push(scaledObject);
    return Promise.resolve();
  }
  getScaledObject(): Promise<ScaledObjectInfo | undefined> {
    return Promise.resolve(undefined);
  }
  deleteScaledObject() {
    return Promise.resolve();
  }
  listScaledObjects() {
    return Promise.resolve([]);
  }
  listWorkloads() {
    return Promise.resolve([]);
  }
  getWorkloadUid(_kind: string, namespace: string, name: string) {
    return Promise.resolve(`uid-${namespace}-${name}`);
  }
}

class RecordingQueues implements QueueApi {
  readonly actorQueues: ActorQueueSpec[] = [];
  readonly plainQueues = new Set<string>();
  ensureActorQueues(spec: ActorQueueSpec) {
    this.actorQueues.push(spec);
    return Promise.resolve(`http://asya-local-aws.asya-system.svc:4566/000000000000/${spec.queueName}`);
  }
  ensureQueue(queueName: string) {
    this.plainQueues.add(queueName);
    return Promise.resolve(`http://asya-local-aws.asya-system.svc:4566/000000000000/${queueName}`);
  }
  getQueueUrl(queueName: string) {
    return Promise.resolve(`http://asya-local-aws.asya-system.svc:4566/000000000000/${queueName}`);
  }
}

function review(object: KubeObject, group: string, kind: string, resource: string, uid: string) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group, version: "v1", kind },
      resource: { group, version: "v1", resource },
      requestKind: { group, version: "v1", kind },
      namespace: object.metadata.namespace,
      name: object.metadata.name ?? "",
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller" },
      object,
      oldObject: null,
      dryRun: false,
    },
  };
}

async function admit(app: ReturnType<typeof createApp>, body: unknown, object: KubeObject): Promise<KubeObject> {
  const response = await app.request("/mutate", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  const answer = await response.json();
  expect(answer.response.allowed, JSON.stringify(answer.response.status)).toBe(true);
  if (answer.response.patch === undefined) return object;
  expect(answer.response.patchType).toBe("JSONPatch");
  const operations: PatchOperation[] = JSON.parse(Buffer.from(answer.response.patch, "base64").toString("utf8"));
  return applyJsonPatch(object, operations);
}

// deno-lint-ignore no-explicit-any
type Container = any;

// Resolves a container's env as the kubelet would: envFrom Secrets of the
// pod's namespace first, then plain values and the namespace field
// reference, which win over Secret keys of the same name.
function resolvedEnv(container: Container, namespace: string, objects: KubeObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const matches = objects.filter((o) =>
      o.kind === "Secret" && o.metadata.name === from.secretRef.name && o.metadata.namespace === namespace
    );
    if (matches.length !== 1) throw new Error(`Expected Secret ${namespace}/${from.secretRef.name}, found ${matches.length}`);
    for (const [key, value] of Object.entries(matches[0].data as Record<string, string>)) {
      env[key] = Buffer.from(value, "base64").toString("utf8");
    }
  }
  for (const entry of container.env ?? []) {
    env[entry.name] = entry.valueFrom?.fieldRef?.fieldPath === "metadata.namespace" ? namespace : entry.value;
  }
  return env;
}

// The pod a ReplicaSet would create from the Deployment's template.
function podFromTemplate(deployment: KubeObject): KubeObject {
  const template = deployment.spec.template;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...structuredClone(template.metadata),
      name: `${deployment.metadata.name}-7d4b9c8f6-x2x7q`,
      generateName: `${deployment.metadata.name}-7d4b9c8f6-`,
      namespace: deployment.metadata.namespace,
    },
    spec: structuredClone(template.spec),
  };
}

describe.each([
  ["native sidecar", { major: 1, minor: 30 }],
  ["plain sidecar container", { major: 1, minor: 28 }],
])("example overlay admitted with a %s", (_mode, kubernetesVersion) => {
  const config = configFromOverlay();
  const kubernetes = new RecordingKubernetes();
  const queues = new RecordingQueues();
  const logLines: string[] = [];
  const log = createLogger({ level: "warn", print: (line) => logLines.push(line) });
  const metrics = new WebhookMetrics();
  const reconciler = new Reconciler({
    kubernetes,
    queues,
    createQueues: config.createQueues,
    scaling: {
      awsRegion: config.awsRegion,
      sqsEndpoint: config.sqsEndpoint,
      authKind: config.kedaAuthKind,
      authName: config.kedaAuthName,
    },
    metrics,
    log,
    retryDelayMs: 0,
  });
  const app = createApp({ config, kubernetesVersion, kubernetes, queues, reconciler, log, metrics });
  const admittedDeployments: KubeObject[] = [];
  const pods: KubeObject[] = [];

  beforeAll(async () => {
    for (const [index, deployment] of deployments.entries()) {
      const admitted = await admit(app, review(deployment, "apps", "Deployment", "deployments", `d-${index}`), deployment);
      admittedDeployments.push(admitted);
      const pod = podFromTemplate(admitted);
      pods.push(await admit(app, review(pod, "", "Pod", "pods", `p-${index}`), pod));
    }
    await reconciler.idle();
  });

  it("keeps the Deployments valid", () => {
    expect(admittedDeployments).toHaveLength(4);
    expect(admittedDeployments.flatMap(validateObject)).toEqual([]);
  });

  it("gives pods that validate", () => {
    expect(pods).toHaveLength(4);
    expect(pods.flatMap(validateObject)).toEqual([]);
  });

  it("injects the sidecar and the runtime into every pod", () => {
    for (const pod of pods) {
      const spec = pod.spec;
      const sidecars = kubernetesVersion.minor >= 29
        ? spec.initContainers.filter((c: { name: string }) => c.name === "asya-sidecar")
        : spec.containers.filter((c: { name: string }) => c.name === "asya-sidecar");
      expect(sidecars).toHaveLength(1);
      expect(sidecars[0].image).toBe(config.sidecarImage);
      if (kubernetesVersion.minor >= 29) expect(sidecars[0].restartPolicy).toBe("Always");
      const install = spec.initContainers.find((c: { name: string }) => c.name === "asya-install-runtime");
      expect(install.command).toEqual(["/usr/local/bin/asya-sidecar", "copy-runtime", "/opt/asya/asya_runtime.py"]);
      const handler = spec.containers.find((c: { name: string }) => c.name === "handler");
      expect(handler.command).toEqual(["python3", "/opt/asya/asya_runtime.py"]);
      expect(spec.volumes.map((v: { name: string }) => v.name).sort()).toEqual(["asya-runtime", "asya-socket"]);
      expect(pod.metadata.annotations?.["asya.sh/injected"]).toBeDefined();
    }
  });

  it("points the sidecars at the emulator endpoints", () => {
    for (const pod of pods) {
      const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
      const sidecar = all.find((c: { name: string }) => c.name === "asya-sidecar");
      const env = Object.fromEntries(sidecar.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
      expect(env.ASYA_SQS_ENDPOINT).toBe(config.sqsEndpoint);
      expect(env.ASYA_S3_ENDPOINT).toBe(config.s3Endpoint);
      expect(env.ASYA_S3_BUCKET).toBe(config.s3Bucket);
      expect(env.ASYA_ACTOR_NAME).toBe(pod.metadata.annotations?.["asya.sh/actor"]);
    }
  });

  it("gives sidecars the end actors' credentials Secret", () => {
    expect(config.sidecarEnvSecret).toBeDefined();
    for (const pod of pods) {
      const all: Container[] = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
      const sidecar = all.find((c) => c.name === "asya-sidecar");
      expect(sidecar.envFrom).toEqual([{ secretRef: { name: config.sidecarEnvSecret } }]);
      for (const other of all.filter((c) => c.name !== "asya-sidecar")) expect(other.envFrom, other.name).toBeUndefined();

      const env = resolvedEnv(sidecar, pod.metadata.namespace!, endActors);
      expect(env.AWS_ACCESS_KEY_ID).toMatch(/\S/);
      expect(env.AWS_SECRET_ACCESS_KEY).toMatch(/\S/);
      const loaded = loadSidecarConfig(env);
      expect(loaded.ok ? [] : loaded.error).toEqual([]);
    }
  });

  it("gives ScaledObjects that validate", () => {
    expect(kubernetes.applied.map((s) => s.metadata.name).sort()).toEqual(["analyze", "router", "split", "summarize"]);
    expect(kubernetes.applied.flatMap((s) => validateObject(s as unknown as KubeObject))).toEqual([]);
  });

  it("uses the overlay's KEDA authentication", () => {
    const auth = findObject(localInstall, "ClusterTriggerAuthentication", config.kedaAuthName);
    for (const scaledObject of kubernetes.applied) {
      expect(scaledObject.metadata.namespace).toBe("book-insights");
      expect(scaledObject.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: scaledObject.metadata.name });
      expect(scaledObject.metadata.ownerReferences?.[0].uid).toBe(`uid-book-insights-${scaledObject.metadata.name}`);
      const trigger = scaledObject.spec.triggers[0];
      expect(trigger.authenticationRef).toEqual({ kind: auth.kind, name: auth.metadata.name });
      expect(trigger.metadata.awsEndpoint).toBe(config.sqsEndpoint);
      expect(trigger.metadata.queueURL).toMatch(new RegExp(`/asya-book-insights-${scaledObject.metadata.name}$`));
    }
  });

  it("creates the actor and end-actor queues", () => {
    expect(queues.actorQueues.map((q) => q.queueName).sort()).toEqual([
      "asya-book-insights-analyze",
      "asya-book-insights-router",
      "asya-book-insights-split",
      "asya-book-insights-summarize",
    ]);
    expect([...queues.plainQueues].sort()).toEqual(["asya-book-insights-x-sink", "asya-book-insights-x-sump"]);
  });

  it("logs no warnings or errors", () => {
    expect(logLines).toEqual([]);
  });
});
