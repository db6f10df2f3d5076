import { beforeEach, describe, expect, it } from "vitest";
import { Pod } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { createApp } from "../../webhook/app.ts";
import { createLogger } from "../../webhook/log.ts";
import { WebhookMetrics } from "../../webhook/metrics.ts";
import { Reconciler } from "../../webhook/reconcile.ts";
import { actorPod, admit, applyPatch, patchOf, reviewOf, TEST_CONFIG } from "./helpers.ts";

const quietLog = createLogger({ level: "error", print: () => {} });

function makeApp(version = { major: 1, minor: 30 }, nativeSidecar: "auto" | "always" | "never" = "auto") {
  const metrics = new WebhookMetrics();
  const reconciler = new Reconciler({
    kubernetes: undefined,
    queues: undefined,
    createQueues: true,
    scaling: { awsRegion: "us-east-1", authKind: "ClusterTriggerAuthentication", authName: "asya-aws" },
    metrics,
    log: quietLog,
  });
  const app = createApp({
    config: { ...TEST_CONFIG, nativeSidecar },
    kubernetesVersion: version,
    log: quietLog,
    metrics,
    reconciler,
  });
  return { app, metrics };
}

describe("pod injection", () => {
  let app: ReturnType<typeof makeApp>["app"];
  let metrics: WebhookMetrics;
  beforeEach(() => {
    ({ app, metrics } = makeApp());
  });

  it("injects a native sidecar on 1.30", async () => {
    const pod = actorPod();
    const { status, body } = await admit(app, reviewOf(pod));
    expect(status).toBe(200);
    expect(body.response.uid).toBe("705ab4f5-6393-11e8-b7cc-42010a800002");
    expect(body.response.allowed).toBe(true);

    const result = applyPatch(pod, patchOf(body)) as any;
    expect(() => new Pod(result).validate()).not.toThrow();
    expect(result.metadata.annotations["asya.sh/injected"]).toBe("0.1.0");
    expect(result.spec.volumes).toEqual([
      { name: "asya-socket", emptyDir: {} },
      { name: "asya-runtime", emptyDir: {} },
    ]);
    expect(result.spec.initContainers.map((c: any) => c.name)).toEqual(["asya-install-runtime", "asya-sidecar"]);
    expect(result.spec.initContainers[0].command).toEqual([
      "/usr/local/bin/asya-sidecar",
      "copy-runtime",
      "/opt/asya/asya_runtime.py",
    ]);
    expect(result.spec.initContainers[1].restartPolicy).toBe("Always");
    expect(result.spec.containers.map((c: any) => c.name)).toEqual(["main"]);

    const main = result.spec.containers[0];
    expect(main.command).toEqual(["python3", "/opt/asya/asya_runtime.py"]);
    expect(main.args).toEqual(["--port", "80"]);
    expect(main.image).toBe("python:3.11-slim");
    expect(main.env).toEqual([
      { name: "ASYA_HANDLER", value: "app.handlers.summarize" },
      { name: "ASYA_HANDLER_MODE", value: "payload" },
      { name: "ASYA_SOCKET_DIR", value: "/var/run/asya" },
    ]);
    expect(main.volumeMounts).toEqual([
      { name: "asya-socket", mountPath: "/var/run/asya" },
      { name: "asya-runtime", mountPath: "/opt/asya", readOnly: true },
    ]);
    expect(result.spec.terminationGracePeriodSeconds).toBe(330);
    expect(metrics.admissionCount("Pod", "patched")).toBe(1);
  });

  it("sets the sidecar env from annotations and config", async () => {
    const pod = actorPod({ "asya.sh/timeout": "90s", "asya.sh/concurrency": "4", "asya.sh/claim-check-threshold": "1Mi" });
    const { body } = await admit(app, reviewOf(pod));
    const result = applyPatch(pod, patchOf(body)) as any;
    const sidecar = result.spec.initContainers[1];
    expect(sidecar.name).toBe("asya-sidecar");
    expect(sidecar.image).toBe("registry.example/asya-sidecar:0.1.0");
    expect(sidecar.imagePullPolicy).toBe("IfNotPresent");
    expect(sidecar.ports).toEqual([{ name: "metrics", containerPort: 8090, protocol: "TCP" }]);
    expect(sidecar.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    expect(sidecar.securityContext.runAsNonRoot).toBe(true);
    expect(sidecar.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(sidecar.env).toEqual([
      { name: "ASYA_ACTOR_NAME", value: "summarize" },
      { name: "ASYA_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "ASYA_ROLE", value: "actor" },
      { name: "ASYA_AWS_REGION", value: "us-east-1" },
      { name: "ASYA_S3_BUCKET", value: "asya-claims" },
      { name: "ASYA_CLAIM_CHECK_THRESHOLD", value: "1048576" },
      { name: "ASYA_SOCKET_DIR", value: "/var/run/asya" },
      { name: "ASYA_CONCURRENCY", value: "4" },
      { name: "ASYA_RESILIENCY_ACTOR_TIMEOUT", value: "1m30s" },
      { name: "ASYA_SQS_VISIBILITY_TIMEOUT", value: "120" },
      { name: "ASYA_HTTP_PORT", value: "8090" },
    ]);
    expect(result.spec.terminationGracePeriodSeconds).toBe(120);
  });

  it("injects a plain container on 1.28", async () => {
    ({ app } = makeApp({ major: 1, minor: 28 }));
    const pod = actorPod();
    const { body } = await admit(app, reviewOf(pod));
    const result = applyPatch(pod, patchOf(body)) as any;
    expect(() => new Pod(result).validate()).not.toThrow();
    expect(result.spec.initContainers.map((c: any) => c.name)).toEqual(["asya-install-runtime"]);
    expect(result.spec.containers.map((c: any) => c.name)).toEqual(["main", "asya-sidecar"]);
    expect(result.spec.containers[1].restartPolicy).toBeUndefined();
  });

  it("follows ASYA_NATIVE_SIDECAR over the version", async () => {
    ({ app } = makeApp({ major: 1, minor: 31 }, "never"));
    let result = applyPatch(actorPod(), patchOf((await admit(app, reviewOf(actorPod()))).body)) as any;
    expect(result.spec.containers.map((c: any) => c.name)).toContain("asya-sidecar");

    ({ app } = makeApp({ major: 1, minor: 20 }, "always"));
    result = applyPatch(actorPod(), patchOf((await admit(app, reviewOf(actorPod()))).body)) as any;
    expect(result.spec.initContainers.map((c: any) => c.name)).toContain("asya-sidecar");
  });

  it("gives an empty patch on re-admission", async () => {
    const pod = actorPod();
    const first = await admit(app, reviewOf(pod));
    const injected = applyPatch(pod, patchOf(first.body));
    const second = await admit(app, reviewOf(injected));
    expect(second.body.response.allowed).toBe(true);
    expect(second.body.response.patch).toBeUndefined();
  });

  it("never patches a pod on UPDATE", async () => {
    const pod = actorPod();
    const { body } = await admit(app, reviewOf(pod, { operation: "UPDATE", oldObject: pod }));
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.warnings).toEqual([
      "Pod has asya.sh/actor but was created without the asya sidecar; delete it so its controller recreates it injected",
    ]);
  });

  it("allows a pod without the actor annotation unchanged", async () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web" }, spec: { containers: [{ name: "web", image: "nginx" }] } };
    const { body } = await admit(app, reviewOf(pod));
    expect(body.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
    expect(metrics.admissionCount("Pod", "allowed")).toBe(1);
  });

  it("warns about asya annotations without an actor", async () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { annotations: { "asya.sh/actr": "x" } }, spec: { containers: [{ name: "a", image: "a" }] } };
    const { body } = await admit(app, reviewOf(pod));
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.warnings).toEqual([
      "Annotations asya.sh/actr have no effect without asya.sh/actor (did you mean asya.sh/actor instead of asya.sh/actr?)",
    ]);
  });

  it("keeps user env, mounts and init containers", async () => {
    const pod = actorPod({}, {
      initContainers: [{ name: "migrate", image: "busybox", command: ["true"] }],
      volumes: [{ name: "models", emptyDir: {} }],
    });
    (pod.spec.containers[0] as any).env = [
      { name: "MODEL", value: "small" },
      { name: "ASYA_HANDLER_MODE", value: "envelope" },
    ];
    (pod.spec.containers[0] as any).volumeMounts = [{ name: "models", mountPath: "/models" }];
    const { body } = await admit(app, reviewOf(pod));
    const result = applyPatch(pod, patchOf(body)) as any;
    expect(() => new Pod(result).validate()).not.toThrow();
    expect(result.spec.initContainers.map((c: any) => c.name)).toEqual(["migrate", "asya-install-runtime", "asya-sidecar"]);
    expect(result.spec.volumes.map((v: any) => v.name)).toEqual(["models", "asya-socket", "asya-runtime"]);
    const main = result.spec.containers[0];
    expect(main.env).toEqual([
      { name: "MODEL", value: "small" },
      { name: "ASYA_HANDLER_MODE", value: "payload" },
      { name: "ASYA_HANDLER", value: "app.handlers.summarize" },
      { name: "ASYA_SOCKET_DIR", value: "/var/run/asya" },
    ]);
    expect(main.volumeMounts.map((m: any) => m.mountPath)).toEqual(["/models", "/var/run/asya", "/opt/asya"]);
  });

  it("uses the handler env when the annotation is absent", async () => {
    const pod = actorPod();
    delete (pod.metadata.annotations as any)["asya.sh/handler"];
    (pod.spec.containers[0] as any).env = [{ name: "ASYA_HANDLER", value: "mod.fn" }];
    const { body } = await admit(app, reviewOf(pod));
    const result = applyPatch(pod, patchOf(body)) as any;
    expect(result.spec.containers[0].env[0]).toEqual({ name: "ASYA_HANDLER", value: "mod.fn" });
    expect(result.spec.containers[0].env.filter((e: any) => e.name === "ASYA_HANDLER")).toHaveLength(1);
  });

  it("picks the annotated container", async () => {
    const pod = actorPod({ "asya.sh/container": "worker" });
    pod.spec.containers.unshift({ name: "proxy", image: "envoy", command: ["envoy"], args: [] } as any);
    (pod.spec.containers[1] as any).name = "worker";
    const { body } = await admit(app, reviewOf(pod));
    const result = applyPatch(pod, patchOf(body)) as any;
    expect(result.spec.containers[0].command).toEqual(["envoy"]);
    expect(result.spec.containers[1].command).toEqual(["python3", "/opt/asya/asya_runtime.py"]);
  });

  it("escapes keys in pointers", async () => {
    const pod = actorPod({ "example.com/a~b": "x" });
    const operations = patchOf((await admit(app, reviewOf(pod))).body);
    expect(operations[0]).toEqual({ op: "add", path: "/metadata/annotations/asya.sh~1injected", value: "0.1.0" });
  });

  it("creates an absent annotation map on workloads", async () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "summarize", namespace: "pipelines", annotations: { "asya.sh/actor": "summarize", "asya.sh/handler": "m.f" } },
      spec: {
        selector: { matchLabels: { app: "s" } },
        template: { metadata: { labels: { app: "s" } }, spec: { containers: [{ name: "main", image: "python:3.11" }] } },
      },
    };
    const operations = patchOf((await admit(app, reviewOf(deployment))).body);
    expect(operations).toEqual([{
      op: "add",
      path: "/spec/template/metadata/annotations",
      value: { "asya.sh/actor": "summarize", "asya.sh/handler": "m.f" },
    }]);
    const result = applyPatch(deployment, operations);
    expect(() => new Deployment(result as any).validate()).not.toThrow();
  });

  it("copies nothing into a workload without an actor", async () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "pipelines", annotations: { "asya.sh/timeout": "10m" } },
      spec: {
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } },
      },
    };
    const { body } = await admit(app, reviewOf(deployment));
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.patchType).toBeUndefined();
    expect(body.response.warnings).toEqual(["Annotations asya.sh/timeout have no effect without asya.sh/actor"]);
    expect(metrics.admissionCount("Deployment", "allowed")).toBe(1);
  });
});

describe("pod denials", () => {
  let app: ReturnType<typeof makeApp>["app"];
  beforeEach(() => {
    ({ app } = makeApp());
  });

  async function denialOf(pod: unknown): Promise<string> {
    const { status, body } = await admit(app, reviewOf(pod as Record<string, unknown>));
    expect(status).toBe(200);
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.code).toBe(403);
    expect(body.response.patch).toBeUndefined();
    return body.response.status.message;
  }

  it("denies a bad annotation naming key and value", async () => {
    expect(await denialOf(actorPod({ "asya.sh/timeout": "soon" }))).toBe(
      "Invalid annotation asya.sh/timeout: expected a Go-style duration greater than 0 and at most 12h, " +
        'such as 90s, 5m or 1h30m (12h is how long SQS keeps a received message in flight), found "soon"',
    );
  });

  it("denies a queue name over the SQS limit", async () => {
    const pod = actorPod({ "asya.sh/actor": "a".repeat(63) });
    const message = await denialOf(pod);
    expect(message).toContain("Invalid annotation asya.sh/actor");
    expect(message).toContain("at most 80 characters");
  });

  it("denies a missing handler", async () => {
    const pod = actorPod();
    delete (pod.metadata.annotations as any)["asya.sh/handler"];
    expect(await denialOf(pod)).toBe(
      'Missing handler: set annotation asya.sh/handler or env ASYA_HANDLER in container "main"',
    );
  });

  it("denies an unknown container", async () => {
    expect(await denialOf(actorPod({ "asya.sh/container": "worker" }))).toBe(
      'Invalid annotation asya.sh/container: expected the name of a container of the pod (main), found "worker"',
    );
  });

  it("denies clashing names, mounts and ports", async () => {
    const pod = actorPod({}, {
      volumes: [{ name: "asya-socket", emptyDir: {} }],
      initContainers: [{ name: "asya-sidecar", image: "x" }],
    });
    (pod.spec.containers[0] as any).ports = [{ containerPort: 8090 }];
    (pod.spec.containers[0] as any).volumeMounts = [{ name: "code", mountPath: "/opt/asya" }];
    const message = await denialOf(pod);
    expect(message).toContain('Volume name "asya-socket" is already used in the pod');
    expect(message).toContain('Container name "asya-sidecar" is already used in the pod');
    expect(message).toContain('Container "main" uses port 8090');
    expect(message).toContain('Container "main" already mounts volume "code" at /opt/asya');
  });

  it("denies hostNetwork pods", async () => {
    expect(await denialOf(actorPod({}, { hostNetwork: true }))).toContain("Pod uses hostNetwork");
  });

  it("denies a pod without containers", async () => {
    const pod = { kind: "Pod", metadata: { annotations: { "asya.sh/actor": "a", "asya.sh/handler": "m.f" } }, spec: {} };
    expect(await denialOf(pod)).toBe("Invalid pod: expected spec.containers to be a non-empty array, found nothing");
  });
});

describe("bad requests", () => {
  let app: ReturnType<typeof makeApp>["app"];
  let metrics: WebhookMetrics;
  beforeEach(() => {
    ({ app, metrics } = makeApp());
  });

  it.each([
    ["not JSON", "{", "Invalid AdmissionReview: expected a JSON object, found text that is not JSON"],
    ["an array", "[]", "Invalid AdmissionReview: expected a JSON object, found an array"],
    ["wrong kind", JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "Pod" }), 'Invalid AdmissionReview: expected kind AdmissionReview, found "Pod"'],
    [
      "v1beta1",
      JSON.stringify({ apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview", request: { uid: "u" } }),
      'Unsupported AdmissionReview apiVersion: expected admission.k8s.io/v1, found "admission.k8s.io/v1beta1"',
    ],
    [
      "no request",
      JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }),
      "Invalid AdmissionReview: expected a request object, found nothing",
    ],
    [
      "no uid",
      JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { operation: "CREATE" } }),
      "Invalid AdmissionReview: expected request.uid to be a non-empty string, found nothing",
    ],
    [
      "bad operation",
      JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u", operation: "PATCH" } }),
      'Invalid AdmissionReview: expected request.operation CREATE, UPDATE, DELETE or CONNECT, found "PATCH"',
    ],
  ])("rejects %s with 400", async (_name, body, message) => {
    const { status, body: answer } = await admit(app, body);
    expect(status).toBe(400);
    expect(answer).toEqual({ error: message });
    expect(metrics.admissionCount("unknown", "invalid")).toBe(1);
  });

  it("rejects an oversized streamed body with 413", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(1024 * 1024));
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent++ < 5) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await app.request("/mutate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(metrics.admissionCount("unknown", "invalid")).toBe(1);
  });

  it("rejects an oversized body with 413", async () => {
    const response = await app.request("/mutate", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(5 * 1024 * 1024) },
      body: "{}",
    });
    expect(response.status).toBe(413);
    expect((await response.json()).error).toContain("Request body too large");
  });

  it("allows an unknown kind unchanged", async () => {
    const { status, body } = await admit(app, reviewOf({ kind: "Service", metadata: { name: "s" } }));
    expect(status).toBe(200);
    expect(body.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
  });

  it("allows DELETE unchanged", async () => {
    const { body } = await admit(app, reviewOf(actorPod(), { operation: "DELETE" }));
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
  });

  it("allows a review without an object", async () => {
    const review = reviewOf(actorPod()) as any;
    review.request.object = null;
    const { body } = await admit(app, review);
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
  });

  it("denies malformed pod specs without a 500", async () => {
    const pod = actorPod() as any;
    pod.spec.containers = "main";
    const { status, body } = await admit(app, reviewOf(pod));
    expect(status).toBe(200);
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.message).toContain("expected spec.containers to be a non-empty array, found string");
  });

  it("denies a broken container entry without a 500", async () => {
    const pod = actorPod() as any;
    pod.spec.containers = [null];
    const { status, body } = await admit(app, reviewOf(pod));
    expect(status).toBe(200);
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.message).toBe("Invalid pod: expected every container to be an object with a name, found null");
  });
});

describe("probes and metrics", () => {
  it("serves health, readiness and metrics", async () => {
    let isReady = false;
    const app = createApp({ config: TEST_CONFIG, log: quietLog, ready: () => isReady });
    expect((await app.request("/healthz")).status).toBe(200);
    expect((await app.request("/readyz")).status).toBe(503);
    isReady = true;
    expect((await app.request("/readyz")).status).toBe(200);

    await admit(app, reviewOf(actorPod()));
    const text = await (await app.request("/metrics")).text();
    expect(text).toContain('asya_webhook_admissions_total{kind="Pod",result="patched"} 1');
    expect(text).toContain('asya_webhook_admission_duration_seconds_count 1');
    expect((await app.request("/nope")).status).toBe(404);
  });
});
