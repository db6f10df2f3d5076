// The end actors run the sidecar image alone. Their env must load with the
// sidecar's own config parser and match the webhook's settings, so that the
// envelopes actors send to x-sink and x-sump are stored in the same bucket.
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../sidecar/config.ts";
import { buildKustomization, findObject, prepareLocalOverlayCopy, REPO_ROOT } from "./kustomize-build.ts";
import { type KubeObject, validateObject } from "./schemas.ts";

const localCopy = prepareLocalOverlayCopy();
afterAll(() => localCopy.cleanup());
const localInstall = buildKustomization(join(localCopy.root, "kustomize/overlays/local"));
const endActors = buildKustomization(join(REPO_ROOT, "kustomize/overlays/local-end-actors"));

// Resolves env as the kubelet would for these containers: plain values,
// the namespace field reference, and envFrom Secrets of the same build.
function resolvedEnv(deployment: KubeObject, objects: KubeObject[]): Record<string, string> {
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const secret = findObject(objects, "Secret", from.secretRef.name);
    expect(secret.metadata.namespace).toBe(deployment.metadata.namespace);
    for (const [key, value] of Object.entries(secret.data as Record<string, string>)) {
      env[key] = Buffer.from(value, "base64").toString("utf8");
    }
  }
  for (const entry of container.env) {
    if (entry.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[entry.name] = deployment.metadata.namespace!;
    else env[entry.name] = entry.value;
  }
  return env;
}

describe("local end actors", () => {
  const webhookEnv = Object.fromEntries(
    findObject(localInstall, "Deployment", "asya-webhook").spec.template.spec.containers[0].env
      .map((e: { name: string; value: string }) => [e.name, e.value]),
  );

  it("builds objects that validate", () => {
    expect(endActors.flatMap(validateObject)).toEqual([]);
  });

  it.each([["asya-x-sink", "sink", "x-sink"], ["asya-x-sump", "sump", "x-sump"]])(
    "configures %s for the sidecar",
    (name, role, actor) => {
      const deployment = findObject(endActors, "Deployment", name);
      const loaded = loadConfig(resolvedEnv(deployment, endActors));
      expect(loaded.ok ? [] : loaded.error).toEqual([]);
      if (!loaded.ok) return;
      expect(loaded.value.role).toBe(role);
      expect(loaded.value.actorName).toBe(actor);
      expect(loaded.value.namespace).toBe("book-insights");
      expect(loaded.value.s3Bucket).toBe(webhookEnv.ASYA_S3_BUCKET);
      expect(loaded.value.sqsEndpoint).toBe(webhookEnv.ASYA_SQS_ENDPOINT);
      expect(loaded.value.s3Endpoint).toBe(webhookEnv.ASYA_S3_ENDPOINT);
      expect(loaded.value.awsRegion).toBe(webhookEnv.ASYA_AWS_REGION);
    },
  );

  it("uses the sidecar image the webhook injects", () => {
    for (const deployment of endActors.filter((o) => o.kind === "Deployment")) {
      expect(deployment.spec.template.spec.containers[0].image).toBe(webhookEnv.ASYA_SIDECAR_IMAGE);
    }
  });
});
