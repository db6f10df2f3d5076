// Checks that the webhook objects fit together the way the API server and
// the webhook program expect, in every overlay that installs the webhook.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../webhook/config.ts";
import { buildKustomization, findObject, prepareLocalOverlayCopy, REPO_ROOT } from "./kustomize-build.ts";
import type { KubeObject } from "./schemas.ts";

// Environment variables the webhook reads, as agreed between components.
const WEBHOOK_ENV = new Set([
  "ASYA_WEBHOOK_PORT", "ASYA_WEBHOOK_CERT_DIR", "ASYA_SIDECAR_IMAGE", "ASYA_SIDECAR_PULL_POLICY",
  "ASYA_S3_BUCKET", "ASYA_AWS_REGION", "ASYA_SQS_ENDPOINT", "ASYA_S3_ENDPOINT", "ASYA_CLAIM_CHECK_THRESHOLD",
  "ASYA_KEDA_AUTH_KIND", "ASYA_KEDA_AUTH_NAME", "ASYA_CREATE_QUEUES", "ASYA_NATIVE_SIDECAR",
  "ASYA_SIDECAR_ENV_SECRET", "ASYA_RESYNC_INTERVAL", "ASYA_LOG_LEVEL",
]);

const localCopy = prepareLocalOverlayCopy();
afterAll(() => localCopy.cleanup());

const installs: Array<[string, KubeObject[]]> = [
  ["base", buildKustomization(join(REPO_ROOT, "kustomize/base"))],
  ["local", buildKustomization(join(localCopy.root, "kustomize/overlays/local"))],
  ["aws", buildKustomization(join(REPO_ROOT, "kustomize/overlays/aws"))],
];

// deno-lint-ignore no-explicit-any
type Container = any;

function webhookParts(objects: KubeObject[]) {
  const configuration = findObject(objects, "MutatingWebhookConfiguration", "asya-webhook");
  const service = findObject(objects, "Service", "asya-webhook");
  const deployment = findObject(objects, "Deployment", "asya-webhook");
  const container: Container = deployment.spec.template.spec.containers[0];
  return { configuration, service, deployment, container };
}

function env(container: Container): Map<string, string | undefined> {
  return new Map((container.env ?? []).map((e: { name: string; value?: string }) => [e.name, e.value]));
}

describe.each(installs)("%s install", (_name, objects) => {
  const { configuration, service, deployment, container } = webhookParts(objects);

  it("reaches the container through the Service", () => {
    for (const webhook of configuration.webhooks) {
      const ref = webhook.clientConfig.service;
      expect(ref.namespace).toBe(service.metadata.namespace);
      expect(ref.name).toBe(service.metadata.name);
      expect(ref.path).toBe("/mutate");
      const servicePort = service.spec.ports.find((p: { port: number }) => p.port === ref.port);
      expect(servicePort, `Service port ${ref.port}`).toBeDefined();
      expect(servicePort.name).toBe("https");
      const containerPort = container.ports.find((p: { name: string; containerPort: number }) =>
        p.name === servicePort.targetPort || p.containerPort === servicePort.targetPort
      );
      expect(containerPort?.containerPort).toBe(8443);
      expect(env(container).get("ASYA_WEBHOOK_PORT")).toBe(String(containerPort.containerPort));
    }
  });

  it("selects webhook pods in Service and budget", () => {
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(service.spec.selector)) expect(podLabels[key]).toBe(value);
    const budget = findObject(objects, "PodDisruptionBudget", "asya-webhook");
    for (const [key, value] of Object.entries(budget.spec.selector.matchLabels)) expect(podLabels[key]).toBe(value);
    expect(budget.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    expect(deployment.spec.template.spec.serviceAccountName).toBe("asya-webhook");
  });

  it("registers both webhooks with the agreed settings", () => {
    const names = configuration.webhooks.map((w: { name: string }) => w.name).sort();
    expect(names).toEqual(["pods.asya.sh", "workloads.asya.sh"]);
    for (const webhook of configuration.webhooks) {
      expect(webhook.sideEffects).toBe("NoneOnDryRun");
      expect(webhook.reinvocationPolicy).toBe("IfNeeded");
      expect(webhook.timeoutSeconds).toBe(5);
      expect(webhook.admissionReviewVersions).toEqual(["v1"]);
      expect(webhook.namespaceSelector).toEqual({ matchLabels: { "asya.sh/mesh": "enabled" } });
      expect(webhook.matchConditions.length).toBeGreaterThan(0);
    }
    const byName = Object.fromEntries(configuration.webhooks.map((w: { name: string }) => [w.name, w]));
    expect(byName["workloads.asya.sh"].failurePolicy).toBe("Ignore");
    expect(byName["pods.asya.sh"].failurePolicy).toBe("Fail");
    expect(byName["pods.asya.sh"].rules).toEqual([
      { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" },
    ]);
    expect(byName["workloads.asya.sh"].rules[0].resources.sort()).toEqual(["deployments", "statefulsets"]);
  });

  it("runs two hardened replicas with probes and requests", () => {
    expect(deployment.spec.replicas).toBe(2);
    const podSecurity = deployment.spec.template.spec.securityContext;
    expect(podSecurity.runAsNonRoot).toBe(true);
    expect(podSecurity.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.requests.memory).toBeDefined();
    expect(container.readinessProbe.httpGet).toMatchObject({ path: "/readyz", scheme: "HTTPS" });
    expect(container.livenessProbe.httpGet).toMatchObject({ path: "/healthz", scheme: "HTTPS" });
  });

  it("mounts the TLS Secret at the cert dir", () => {
    const certDir = env(container).get("ASYA_WEBHOOK_CERT_DIR");
    const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === certDir);
    expect(mount?.readOnly).toBe(true);
    const volume = deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
    expect(volume.secret.secretName).toBe("asya-webhook-tls");
  });

  it("sets only environment variables the webhook reads", () => {
    const unknown = [...env(container).keys()].filter((name) => !WEBHOOK_ENV.has(name));
    expect(unknown).toEqual([]);
    expect(env(container).get("ASYA_SIDECAR_IMAGE")).toMatch(/asya-sidecar:/);
  });

  it("sets env the webhook accepts", () => {
    const loaded = loadConfig(Object.fromEntries(env(container)) as Record<string, string>);
    expect(loaded.ok ? [] : loaded.error).toEqual([]);
  });

  it("names the KEDA authentication object that exists", () => {
    const kind = env(container).get("ASYA_KEDA_AUTH_KIND")!;
    const name = env(container).get("ASYA_KEDA_AUTH_NAME")!;
    expect(findObject(objects, kind, name).metadata.namespace).toBeUndefined();
  });

  it("binds the ClusterRole to the webhook ServiceAccount", () => {
    const binding = findObject(objects, "ClusterRoleBinding", "asya-webhook");
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "asya-webhook" });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "asya-webhook", namespace: "asya-system" }]);
    findObject(objects, "ServiceAccount", "asya-webhook");
  });

  it("keeps the webhook namespace out of the mesh", () => {
    const namespace = findObject(objects, "Namespace", "asya-system");
    expect(namespace.metadata.labels?.["asya.sh/mesh"]).toBeUndefined();
    expect(namespace.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });
});
