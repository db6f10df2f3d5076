import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildKustomization, findObject, prepareLocalOverlayCopy, REPO_ROOT } from "./kustomize-build.ts";
import { type KubeObject, validateObject } from "./schemas.ts";

const overlay = (name: string) => join(REPO_ROOT, "kustomize/overlays", name);

function expectAllValid(objects: KubeObject[]): void {
  const problems = objects.flatMap(validateObject);
  expect(problems).toEqual([]);
}

function webhookContainer(objects: KubeObject[]) {
  const deployment = findObject(objects, "Deployment", "asya-webhook");
  return deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === "webhook");
}

function envValue(container: { env?: Array<{ name: string; value?: string }> }, name: string): string | undefined {
  return container.env?.find((entry) => entry.name === name)?.value;
}

describe("schema validation", () => {
  it("rejects an object with a wrongly typed field", () => {
    const broken = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "broken" },
      spec: { selector: {}, template: { spec: { containers: [{ name: "c", ports: [{ containerPort: "http" }] }] } } },
    };
    expect(validateObject(broken)).toEqual([expect.stringContaining("containerPort must be integer")]);
  });

  it("rejects an object whose kind has no schema", () => {
    const unknown = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } };
    expect(validateObject(unknown)).toEqual(["Widget/w: no schema for apiVersion example.com/v1 kind Widget"]);
  });

  it("rejects a Certificate without a secretName", () => {
    const certificate = {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: { name: "c" },
      spec: { issuerRef: { name: "i" }, dnsNames: ["a"], duration: "90 days" },
    };
    expect(validateObject(certificate)).toEqual([
      "Certificate/c: spec.secretName is required",
      "Certificate/c: spec.duration must be a Go duration such as 2160h, found 90 days",
    ]);
  });
});

describe("base", () => {
  const objects = buildKustomization(join(REPO_ROOT, "kustomize/base"));

  it("builds objects that validate", () => {
    expect(objects.length).toBeGreaterThan(0);
    expectAllValid(objects);
  });

  it("contains only the webhook install", () => {
    const names = objects.map((object) => `${object.kind}/${object.metadata.name}`).sort();
    expect(names).toEqual([
      "ClusterRole/asya-webhook",
      "ClusterRoleBinding/asya-webhook",
      "ClusterTriggerAuthentication/asya-aws",
      "Deployment/asya-webhook",
      "MutatingWebhookConfiguration/asya-webhook",
      "Namespace/asya-system",
      "PodDisruptionBudget/asya-webhook",
      "Service/asya-webhook",
      "ServiceAccount/asya-webhook",
    ]);
  });

  it("sets no sidecar env Secret", () => {
    expect(envValue(webhookContainer(objects), "ASYA_SIDECAR_ENV_SECRET")).toBeUndefined();
  });

  it("uses the aws pod identity provider for KEDA", () => {
    const auth = findObject(objects, "ClusterTriggerAuthentication", "asya-aws");
    expect(auth.spec).toEqual({ podIdentity: { provider: "aws" } });
  });
});

describe("local overlay", () => {
  let objects: KubeObject[];
  let cleanup = () => {};

  beforeAll(() => {
    const copy = prepareLocalOverlayCopy();
    cleanup = copy.cleanup;
    objects = buildKustomization(join(copy.root, "kustomize/overlays/local"));
  });
  afterAll(() => cleanup());

  it("builds objects that validate", () => {
    expectAllValid(objects);
  });

  it("sets the generated CA as caBundle of every webhook", () => {
    const secret = findObject(objects, "Secret", "asya-webhook-tls");
    expect(secret.type).toBe("kubernetes.io/tls");
    const ca = Buffer.from(secret.data["ca.crt"], "base64").toString("utf8");
    const configuration = findObject(objects, "MutatingWebhookConfiguration", "asya-webhook");
    expect(configuration.webhooks).toHaveLength(2);
    for (const webhook of configuration.webhooks) {
      expect(Buffer.from(webhook.clientConfig.caBundle, "base64").toString("utf8")).toBe(ca);
    }
    const serving = new X509Certificate(Buffer.from(secret.data["tls.crt"], "base64"));
    expect(serving.verify(new X509Certificate(ca).publicKey)).toBe(true);
  });

  it("points the webhook at the emulator Service", () => {
    const container = webhookContainer(objects);
    const service = findObject(objects, "Service", "asya-local-aws");
    const ports = Object.fromEntries(service.spec.ports.map((p: { name: string; port: number }) => [p.name, p.port]));
    expect(envValue(container, "ASYA_SQS_ENDPOINT")).toBe(`http://asya-local-aws.asya-system.svc:${ports.sqs}`);
    expect(envValue(container, "ASYA_S3_ENDPOINT")).toBe(`http://asya-local-aws.asya-system.svc:${ports.s3}`);
    expect(envValue(container, "ASYA_SIDECAR_IMAGE")).toBe("asya-sidecar:dev");
    expect(container.image).toBe("asya-webhook:dev");
    expect(container.envFrom).toEqual([{ secretRef: { name: "asya-aws-credentials" } }]);
  });

  it("names a sidecar Secret the end-actor overlay creates", () => {
    const secretName = envValue(webhookContainer(objects), "ASYA_SIDECAR_ENV_SECRET");
    expect(secretName).toBeDefined();
    const endActors = buildKustomization(overlay("local-end-actors"));
    const secret = findObject(endActors, "Secret", secretName!);
    const actorNamespaces = buildKustomization(overlay("example"))
      .filter((object) => object.kind === "Deployment")
      .map((deployment) => deployment.metadata.namespace);
    expect(new Set(actorNamespaces)).toEqual(new Set([secret.metadata.namespace]));
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
  });

  it("routes the emulator Service to the host address", () => {
    const slice = findObject(objects, "EndpointSlice", "asya-local-aws-host");
    expect(slice.metadata.labels?.["kubernetes.io/service-name"]).toBe("asya-local-aws");
    expect(slice.endpoints).toEqual([{ addresses: ["172.18.0.1"], conditions: { ready: true } }]);
    // kube-proxy pairs slice ports with Service ports by name, then sends to the slice's port number.
    const service = findObject(objects, "Service", "asya-local-aws");
    const slicePorts = Object.fromEntries(slice.ports.map((p: { name: string; port: number }) => [p.name, p.port]));
    for (const port of service.spec.ports) expect(slicePorts[port.name], port.name).toBe(port.targetPort);
    expect(Object.keys(slicePorts).sort()).toEqual(["s3", "sqs"]);
    expect(service.spec.selector).toBeUndefined();
  });

  it("gives KEDA secret credentials instead of pod identity", () => {
    const auth = findObject(objects, "ClusterTriggerAuthentication", "asya-aws");
    expect(auth.spec.podIdentity).toBeUndefined();
    const secretName = auth.spec.secretTargetRef[0].name;
    const secret = findObject(objects, "Secret", secretName);
    expect(secret.metadata.namespace).toBe("keda");
    for (const ref of auth.spec.secretTargetRef) {
      expect(ref.name).toBe(secretName);
      expect(Object.keys(secret.data ?? {})).toContain(ref.key);
    }
    expect(auth.spec.secretTargetRef.map((ref: { parameter: string }) => ref.parameter).sort())
      .toEqual(["awsAccessKeyID", "awsSecretAccessKey"]);
  });
});

describe("aws overlay", () => {
  const objects = buildKustomization(overlay("aws"));

  it("builds objects that validate", () => {
    expectAllValid(objects);
  });

  it("annotates the webhook ServiceAccount with an IAM role", () => {
    const account = findObject(objects, "ServiceAccount", "asya-webhook");
    expect(account.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toMatch(/^arn:aws:iam::\d{12}:role\/.+$/);
  });

  it("injects the mounted Certificate's CA", () => {
    const configuration = findObject(objects, "MutatingWebhookConfiguration", "asya-webhook");
    const [namespace, name] = configuration.metadata.annotations!["cert-manager.io/inject-ca-from"].split("/");
    const certificate = findObject(objects, "Certificate", name);
    expect(certificate.metadata.namespace).toBe(namespace);
    for (const webhook of configuration.webhooks) expect(webhook.clientConfig.caBundle).toBeUndefined();

    const deployment = findObject(objects, "Deployment", "asya-webhook");
    const tls = deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === "tls");
    expect(tls.secret.secretName).toBe(certificate.spec.secretName);
    expect(certificate.spec.dnsNames).toContain("asya-webhook.asya-system.svc");
    expect(certificate.spec.usages).toContain("server auth");
  });

  it("chains the serving certificate to a CA issuer", () => {
    const serving = findObject(objects, "Certificate", "asya-webhook");
    const caIssuer = findObject(objects, "Issuer", serving.spec.issuerRef.name);
    const caCertificate = objects.find((o) => o.kind === "Certificate" && o.spec.secretName === caIssuer.spec.ca.secretName);
    expect(caCertificate?.spec.isCA).toBe(true);
    const rootIssuer = findObject(objects, "Issuer", caCertificate!.spec.issuerRef.name);
    expect(rootIssuer.spec).toEqual({ selfSigned: {} });
  });

  it("keeps pod identity for KEDA", () => {
    const auth = findObject(objects, "ClusterTriggerAuthentication", "asya-aws");
    expect(auth.spec.podIdentity.provider).toBe("aws");
  });

  it("leaves sidecar credentials to IRSA", () => {
    expect(webhookContainer(objects).env.map((e: { name: string }) => e.name)).not.toContain("ASYA_SIDECAR_ENV_SECRET");
    expect(webhookContainer(objects).envFrom).toBeUndefined();
  });
});

describe("example overlay", () => {
  const objects = buildKustomization(overlay("example"));
  const deployments = objects.filter((object) => object.kind === "Deployment");

  it("builds objects that validate", () => {
    expectAllValid(objects);
  });

  it("contains only namespace and Deployments", () => {
    const kinds = new Set(objects.map((object) => object.kind));
    expect([...kinds].sort()).toEqual(["Deployment", "Namespace"]);
    const namespace = findObject(objects, "Namespace", "book-insights");
    expect(namespace.metadata.labels?.["asya.sh/mesh"]).toBe("enabled");
  });

  it("declares the four book-insights actors", () => {
    const actors = deployments.map((d) => d.metadata.annotations?.["asya.sh/actor"]).sort();
    expect(actors).toEqual(["analyze", "router", "split", "summarize"]);
    for (const deployment of deployments) {
      expect(deployment.metadata.namespace).toBe("book-insights");
      expect(deployment.spec.replicas).toBeUndefined();
    }
  });

  it("adds nothing asya-specific to the pod templates", () => {
    for (const deployment of deployments) {
      const spec = deployment.spec.template.spec;
      expect(spec.containers.map((c: { name: string }) => c.name)).toEqual(["handler"]);
      expect(spec.initContainers).toBeUndefined();
      expect(spec.volumes).toBeUndefined();
      expect(spec.containers[0].command).toBeUndefined();
      const env: Array<{ name: string }> = spec.containers[0].env ?? [];
      expect(env.filter((e) => e.name.startsWith("ASYA_"))).toEqual([]);
    }
  });

  it("names handlers that exist in the example modules", () => {
    for (const deployment of deployments) {
      const handler: string = deployment.metadata.annotations!["asya.sh/handler"];
      const [module, fn] = handler.split(".");
      const path = join(REPO_ROOT, "examples/book-insights", `${module}.py`);
      expect(existsSync(path), path).toBe(true);
      expect(readFileSync(path, "utf8")).toMatch(new RegExp(`^def ${fn}\\(`, "m"));
    }
  });
});

describe("namespaced TriggerAuthentication", () => {
  const objects = buildKustomization(join(REPO_ROOT, "manifests/namespace-trigger-auth"));

  it("builds objects that validate", () => {
    expectAllValid(objects);
  });

  it("matches the webhook's default authentication name", () => {
    const auth = findObject(objects, "TriggerAuthentication", "asya-aws");
    const base = buildKustomization(join(REPO_ROOT, "kustomize/base"));
    const env = webhookContainer(base).env;
    expect(envValue({ env }, "ASYA_KEDA_AUTH_NAME")).toBe(auth.metadata.name);
    expect(auth.spec).toEqual({ podIdentity: { provider: "aws" } });
  });
});
