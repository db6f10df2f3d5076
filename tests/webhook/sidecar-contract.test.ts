/**
 * The env the webhook injects must be accepted by the sidecar's own
 * config parser, so an injected pod never crash-loops on configuration.
 */
import { describe, expect, it } from "vitest";
import { loadConfig as loadSidecarConfig } from "../../sidecar/config.ts";
import { createApp } from "../../webhook/app.ts";
import { createLogger } from "../../webhook/log.ts";
import { actorPod, admit, applyPatch, patchOf, reviewOf, TEST_CONFIG } from "./helpers.ts";

async function injectedSidecarEnv(annotations: Record<string, string>, config = TEST_CONFIG): Promise<Record<string, string>> {
  const app = createApp({ config, kubernetesVersion: { major: 1, minor: 30 }, log: createLogger({ level: "error", print: () => {} }) });
  const pod = actorPod(annotations);
  const { body } = await admit(app, reviewOf(pod));
  const patched = applyPatch(pod, patchOf(body)) as any;
  const sidecar = patched.spec.initContainers.find((container: any) => container.name === "asya-sidecar");
  const env: Record<string, string> = {};
  for (const variable of sidecar.env) {
    // The kubelet resolves the downward API; the pod's namespace replaces it here.
    env[variable.name] = variable.value ?? (variable.valueFrom?.fieldRef?.fieldPath === "metadata.namespace" ? "pipelines" : "");
  }
  return env;
}

describe("injected sidecar env", () => {
  it("passes the sidecar config parser", async () => {
    const env = await injectedSidecarEnv({ "asya.sh/timeout": "1h30m", "asya.sh/concurrency": "16", "asya.sh/claim-check-threshold": "512Ki" });
    const parsed = loadSidecarConfig(env);
    expect(parsed.ok ? [] : parsed.error).toEqual([]);
    if (!parsed.ok) return;
    expect(parsed.value).toMatchObject({
      actorName: "summarize",
      namespace: "pipelines",
      role: "actor",
      awsRegion: "us-east-1",
      s3Bucket: "asya-claims",
      claimCheckThresholdBytes: 524_288,
      socketDir: "/var/run/asya",
      concurrency: 16,
      actorTimeoutMs: 5_400_000,
      sqsVisibilityTimeoutSeconds: 5_430,
      httpPort: 8090,
    });
  });

  it("passes with endpoints and the longest timeout", async () => {
    const env = await injectedSidecarEnv(
      { "asya.sh/timeout": "12h", "asya.sh/claim-check-threshold": "1" },
      { ...TEST_CONFIG, sqsEndpoint: "http://sqs.local:4566", s3Endpoint: "http://s3.local:4569" },
    );
    const parsed = loadSidecarConfig(env);
    expect(parsed.ok ? [] : parsed.error).toEqual([]);
    if (!parsed.ok) return;
    expect(parsed.value.sqsEndpoint).toBe("http://sqs.local:4566");
    expect(parsed.value.s3Endpoint).toBe("http://s3.local:4569");
    expect(parsed.value.sqsVisibilityTimeoutSeconds).toBe(43_200);
    expect(parsed.value.claimCheckThresholdBytes).toBe(1);
  });
});
