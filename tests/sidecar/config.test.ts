import { describe, expect, it } from "vitest";
import { loadConfig } from "../../sidecar/config.ts";

const base = {
  ASYA_ACTOR_NAME: "summarize",
  ASYA_NAMESPACE: "default",
  ASYA_S3_BUCKET: "asya-data",
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  const result = loadConfig(env);
  if (result.ok) throw new Error("expected loadConfig to fail");
  return result.error;
}

describe("loadConfig", () => {
  it("applies defaults", () => {
    const result = loadConfig(base);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toEqual({
      actorName: "summarize",
      namespace: "default",
      role: "actor",
      awsRegion: "us-east-1",
      sqsEndpoint: undefined,
      s3Endpoint: undefined,
      s3Bucket: "asya-data",
      s3Prefix: "claims/default/",
      claimCheckThresholdBytes: 262_144,
      socketDir: "/var/run/asya",
      concurrency: 1,
      actorTimeoutMs: 300_000,
      sqsWaitTimeSeconds: 20,
      sqsVisibilityTimeoutSeconds: 60,
      httpHost: "0.0.0.0",
      httpPort: 8090,
      logLevel: "info",
    });
  });

  it("reads every variable", () => {
    const result = loadConfig({
      ...base,
      ASYA_AWS_REGION: "eu-west-1",
      ASYA_SQS_ENDPOINT: "http://127.0.0.1:4566/",
      ASYA_S3_ENDPOINT: "https://s3.example.test",
      ASYA_S3_PREFIX: "big/",
      ASYA_CLAIM_CHECK_THRESHOLD: "64Ki",
      ASYA_SOCKET_DIR: "/tmp/asya",
      ASYA_CONCURRENCY: "4",
      ASYA_RESILIENCY_ACTOR_TIMEOUT: "1h30m",
      ASYA_SQS_WAIT_TIME_SECONDS: "0",
      ASYA_SQS_VISIBILITY_TIMEOUT: "120",
      ASYA_HTTP_HOST: "127.0.0.1",
      ASYA_HTTP_PORT: "0",
      ASYA_LOG_LEVEL: "WARNING",
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.awsRegion).toBe("eu-west-1");
    expect(result.value.sqsEndpoint).toBe("http://127.0.0.1:4566");
    expect(result.value.s3Endpoint).toBe("https://s3.example.test");
    expect(result.value.s3Prefix).toBe("big/");
    expect(result.value.claimCheckThresholdBytes).toBe(65_536);
    expect(result.value.socketDir).toBe("/tmp/asya");
    expect(result.value.concurrency).toBe(4);
    expect(result.value.actorTimeoutMs).toBe(5_400_000);
    expect(result.value.sqsWaitTimeSeconds).toBe(0);
    expect(result.value.sqsVisibilityTimeoutSeconds).toBe(120);
    expect(result.value.httpHost).toBe("127.0.0.1");
    expect(result.value.httpPort).toBe(0);
    expect(result.value.logLevel).toBe("warn");
  });

  it("names end actors by role", () => {
    const sink = loadConfig({
      ASYA_ROLE: "sink",
      ASYA_NAMESPACE: "ns",
      ASYA_S3_BUCKET: "asya-data",
    });
    expect(sink.ok).toBe(true);
    if (sink.ok) expect(sink.value.actorName).toBe("x-sink");

    const sump = loadConfig({
      ASYA_ROLE: "sump",
      ASYA_NAMESPACE: "ns",
      ASYA_S3_BUCKET: "asya-data",
    });
    expect(sump.ok).toBe(true);
    if (sump.ok) expect(sump.value.actorName).toBe("x-sump");
  });

  it("reports every missing variable", () => {
    const problems = problemsOf({});
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^missing ASYA_NAMESPACE: /);
    expect(problems[1]).toMatch(/^missing ASYA_ACTOR_NAME: /);
    expect(problems[2]).toMatch(/^missing ASYA_S3_BUCKET: /);
  });

  const invalidCases: Array<[string, string, RegExp]> = [
    [
      "ASYA_ROLE",
      "worker",
      /^invalid ASYA_ROLE: expected actor, sink or sump, found "worker"$/,
    ],
    [
      "ASYA_CONCURRENCY",
      "0",
      /^invalid ASYA_CONCURRENCY: expected a whole number from 1 to 1000 .*found "0"$/,
    ],
    ["ASYA_CONCURRENCY", "2.5", /found "2.5"$/],
    [
      "ASYA_SQS_WAIT_TIME_SECONDS",
      "21",
      /^invalid ASYA_SQS_WAIT_TIME_SECONDS: expected a whole number from 0 to 20/,
    ],
    [
      "ASYA_SQS_VISIBILITY_TIMEOUT",
      "1",
      /^invalid ASYA_SQS_VISIBILITY_TIMEOUT: expected a whole number from 2 to 43200/,
    ],
    ["ASYA_HTTP_PORT", "70000", /^invalid ASYA_HTTP_PORT: .*found "70000"$/],
    [
      "ASYA_AWS_REGION",
      "not a region",
      /^invalid ASYA_AWS_REGION: expected an AWS region .*such as us-east-1.*found "not a region"$/,
    ],
    [
      "ASYA_RESILIENCY_ACTOR_TIMEOUT",
      "5",
      /^invalid ASYA_RESILIENCY_ACTOR_TIMEOUT: expected a Go-style duration.*"5"/,
    ],
    [
      "ASYA_RESILIENCY_ACTOR_TIMEOUT",
      "0",
      /expected a duration greater than zero, such as 5m, found "0"$/,
    ],
    [
      "ASYA_CLAIM_CHECK_THRESHOLD",
      "256m",
      /^invalid ASYA_CLAIM_CHECK_THRESHOLD: expected a byte quantity/,
    ],
    [
      "ASYA_CLAIM_CHECK_THRESHOLD",
      "2Mi",
      /expected a quantity from 1 to 1048576 bytes .*found "2Mi"$/,
    ],
    [
      "ASYA_SQS_ENDPOINT",
      "localhost:4566",
      /^invalid ASYA_SQS_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/,
    ],
    [
      "ASYA_S3_BUCKET",
      "My_Bucket",
      /^invalid ASYA_S3_BUCKET: expected an S3 bucket name/,
    ],
    [
      "ASYA_S3_PREFIX",
      "/claims/",
      /^invalid ASYA_S3_PREFIX: expected an S3 key prefix without a leading slash/,
    ],
    [
      "ASYA_LOG_LEVEL",
      "verbose",
      /^invalid ASYA_LOG_LEVEL: expected debug, info, warn or error, found "verbose"$/,
    ],
    [
      "ASYA_ACTOR_NAME",
      "x-sink",
      /^invalid ASYA_ACTOR_NAME: expected a user actor name; set ASYA_ROLE=sink/,
    ],
    [
      "ASYA_ACTOR_NAME",
      "bad.name",
      /^invalid ASYA_ACTOR_NAME or ASYA_NAMESPACE: invalid queue name .*character "\."/,
    ],
    [
      "ASYA_ACTOR_NAME",
      "a".repeat(80),
      /^invalid ASYA_ACTOR_NAME or ASYA_NAMESPACE: .*SQS allows at most 80/,
    ],
  ];
  for (const [name, value, pattern] of invalidCases) {
    it(`rejects ${name}=${value.slice(0, 12)}`, () => {
      const problems = problemsOf({ ...base, [name]: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(pattern);
    });
  }

  it("reads the signing settings", () => {
    const result = loadConfig({
      ...base,
      ASYA_SIGNING_KEY_FILE: "/etc/asya/signing/key",
      ASYA_SIGNING_KEY_ID: "v2",
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.signingKeyFile).toBe("/etc/asya/signing/key");
    expect(result.value.signingKeyId).toBe("v2");
  });

  it("rejects a key id without key file", () => {
    expect(problemsOf({ ...base, ASYA_SIGNING_KEY_ID: "v2" })).toEqual([
      "invalid ASYA_SIGNING_KEY_ID: it needs ASYA_SIGNING_KEY_FILE, the file with the signing key",
    ]);
  });

  it("rejects a user actor name for an end role", () => {
    const problems = problemsOf({ ...base, ASYA_ROLE: "sink" });
    expect(problems).toEqual([
      'invalid ASYA_ACTOR_NAME: expected x-sink or unset when ASYA_ROLE=sink, found "summarize"',
    ]);
  });
});
