/**
 * ASYA_SIDECAR_ENV_SECRET: the injected sidecar, and nothing else, gets
 * `envFrom` the named Secret, so static AWS credentials reach the SDK's
 * default chain on clusters without IRSA.
 */
import { describe, expect, it } from "vitest";
import { Pod } from "kubernetes-models/v1";
import { createApp } from "../../webhook/app.ts";
import { loadConfig, type WebhookConfig } from "../../webhook/config.ts";
import { createLogger } from "../../webhook/log.ts";
import { actorPod, admit, applyPatch, patchOf, reviewOf, TEST_CONFIG } from "./helpers.ts";

const quietLog = createLogger({ level: "error", print: () => {} });
const SECRET = "asya-aws-credentials";

function makeApp(config: WebhookConfig, minor: number) {
  return createApp({ config, kubernetesVersion: { major: 1, minor }, log: quietLog });
}

// deno-lint-ignore no-explicit-any
function containersOf(pod: any): any[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
}

describe.each([
  ["native sidecar", 30],
  ["plain sidecar container", 28],
])("sidecar env Secret with a %s", (_mode, minor) => {
  it("adds envFrom to the sidecar only", async () => {
    const app = makeApp({ ...TEST_CONFIG, sidecarEnvSecret: SECRET }, minor);
    const pod = actorPod();
    const { body } = await admit(app, reviewOf(pod));
    expect(body.response.allowed).toBe(true);

    const patched = applyPatch(pod, patchOf(body));
    const byName = Object.fromEntries(containersOf(patched).map((container) => [container.name, container]));
    expect(byName["asya-sidecar"].envFrom).toEqual([{ secretRef: { name: SECRET } }]);
    expect(byName["asya-install-runtime"].envFrom).toBeUndefined();
    expect(byName.main.envFrom).toBeUndefined();
  });

  it("keeps the sidecar's own env beside envFrom", async () => {
    const app = makeApp({ ...TEST_CONFIG, sidecarEnvSecret: SECRET }, minor);
    const pod = actorPod();
    const patched = applyPatch(pod, patchOf((await admit(app, reviewOf(pod))).body));
    const sidecar = containersOf(patched).find((container) => container.name === "asya-sidecar");
    const names = sidecar.env.map((variable: { name: string }) => variable.name);
    expect(names).toContain("ASYA_ACTOR_NAME");
    expect(names).toContain("ASYA_S3_BUCKET");
  });

  it("adds no envFrom when unset", async () => {
    const app = makeApp(TEST_CONFIG, minor);
    const pod = actorPod();
    const operations = patchOf((await admit(app, reviewOf(pod))).body);
    expect(JSON.stringify(operations)).not.toContain("envFrom");
    const patched = applyPatch(pod, operations);
    for (const container of containersOf(patched)) expect(container.envFrom, container.name).toBeUndefined();
  });

  it("gives a pod that validates", async () => {
    const app = makeApp({ ...TEST_CONFIG, sidecarEnvSecret: SECRET }, minor);
    const pod = actorPod();
    const patched = applyPatch(pod, patchOf((await admit(app, reviewOf(pod))).body));
    expect(() => new Pod(patched as never).validate()).not.toThrow();
  });

  it("gives an empty patch on re-admission", async () => {
    const app = makeApp({ ...TEST_CONFIG, sidecarEnvSecret: SECRET }, minor);
    const pod = actorPod();
    const patched = applyPatch(pod, patchOf((await admit(app, reviewOf(pod))).body));
    const second = await admit(app, reviewOf(patched as Record<string, unknown>));
    expect(second.body.response.allowed).toBe(true);
    expect(second.body.response.patch).toBeUndefined();
  });

  it("keeps a user's envFrom on the handler container", async () => {
    const app = makeApp({ ...TEST_CONFIG, sidecarEnvSecret: SECRET }, minor);
    const pod = actorPod();
    const userEnvFrom = [{ configMapRef: { name: "handler-settings" } }];
    Object.assign(pod.spec.containers[0], { envFrom: userEnvFrom });
    const patched = applyPatch(pod, patchOf((await admit(app, reviewOf(pod))).body));
    const main = containersOf(patched).find((container) => container.name === "main");
    expect(main.envFrom).toEqual(userEnvFrom);
  });
});

describe("sidecar env Secret on workloads", () => {
  it("leaves the pod template without envFrom", async () => {
    const app = makeApp({ ...TEST_CONFIG, sidecarEnvSecret: SECRET }, 30);
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "summarize", namespace: "pipelines", annotations: { "asya.sh/actor": "summarize" } },
      spec: {
        selector: { matchLabels: { app: "summarize" } },
        template: {
          metadata: { labels: { app: "summarize" } },
          spec: { containers: [{ name: "main", image: "python:3.11-slim", env: [{ name: "ASYA_HANDLER", value: "app.run" }] }] },
        },
      },
    };
    const operations = patchOf((await admit(app, reviewOf(deployment))).body);
    expect(operations.length).toBeGreaterThan(0);
    expect(JSON.stringify(operations)).not.toContain("envFrom");
  });
});

describe("ASYA_SIDECAR_ENV_SECRET config", () => {
  const minimal = { ASYA_SIDECAR_IMAGE: "registry.example/asya-sidecar:0.1.0", ASYA_S3_BUCKET: "asya-claims" };

  it("is unset by default", () => {
    const loaded = loadConfig(minimal);
    expect(loaded.ok && loaded.value.sidecarEnvSecret).toBeUndefined();
  });

  it("treats an empty value as unset", () => {
    const loaded = loadConfig({ ...minimal, ASYA_SIDECAR_ENV_SECRET: "" });
    expect(loaded.ok).toBe(true);
    expect(loaded.ok && loaded.value.sidecarEnvSecret).toBeUndefined();
  });

  it.each([
    ["asya-aws-credentials"],
    ["a"],
    ["aws.credentials-2"],
    ["0creds9"],
    ["a".repeat(253)],
  ])("accepts %s", (name) => {
    const loaded = loadConfig({ ...minimal, ASYA_SIDECAR_ENV_SECRET: name });
    expect(loaded.ok ? [] : loaded.error).toEqual([]);
    expect(loaded.ok && loaded.value.sidecarEnvSecret).toBe(name);
  });

  it.each([
    ["uppercase", "AWS-Credentials"],
    ["underscore", "aws_credentials"],
    ["leading hyphen", "-aws"],
    ["trailing hyphen", "aws-"],
    ["trailing dot", "aws."],
    ["empty label", "aws..credentials"],
    ["label starting with a hyphen", "aws.-credentials"],
    ["whitespace", " "],
    ["slash", "asya-system/asya-aws-credentials"],
    ["254 characters", "a".repeat(254)],
  ])("rejects a name with %s", (_case, name) => {
    expect(loadConfig({ ...minimal, ASYA_SIDECAR_ENV_SECRET: name })).toEqual({
      ok: false,
      error: [
        "Invalid environment variable ASYA_SIDECAR_ENV_SECRET: expected the name of a Secret in the actor's " +
        "namespace: a DNS-1123 subdomain of at most 253 characters of [a-z0-9.-] that starts and ends with a " +
        `letter or digit, such as asya-aws-credentials, found ${JSON.stringify(name)}`,
      ],
    });
  });

  it("is reported along with other bad variables", () => {
    const loaded = loadConfig({ ...minimal, ASYA_SIDECAR_ENV_SECRET: "Bad_Name", ASYA_LOG_LEVEL: "verbose" });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.error).toHaveLength(2);
    expect(loaded.error[0]).toMatch(/^Invalid environment variable ASYA_SIDECAR_ENV_SECRET: .*found "Bad_Name"$/);
    expect(loaded.error[1]).toMatch(/^Invalid environment variable ASYA_LOG_LEVEL: /);
  });
});
