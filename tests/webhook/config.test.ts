import { describe, expect, it } from "vitest";
import { loadConfig, resolveNativeSidecar } from "../../webhook/config.ts";

const AWS_REGION_EXPECTED = "an AWS region of lowercase letters, digits and hyphens " +
  "such as us-east-1, eu-central-2 or us-gov-west-1";

const minimal = { ASYA_SIDECAR_IMAGE: "registry.example/asya-sidecar:0.1.0", ASYA_S3_BUCKET: "asya-claims" };

describe("loadConfig", () => {
  it("applies defaults", () => {
    expect(loadConfig(minimal)).toEqual({
      ok: true,
      value: {
        port: 8443,
        certDir: "/etc/asya/tls",
        sidecarImage: "registry.example/asya-sidecar:0.1.0",
        sidecarPullPolicy: "IfNotPresent",
        s3Bucket: "asya-claims",
        awsRegion: "us-east-1",
        sqsEndpoint: undefined,
        s3Endpoint: undefined,
        claimCheckThresholdBytes: 262_144,
        kedaAuthKind: "ClusterTriggerAuthentication",
        kedaAuthName: "asya-aws",
        createQueues: true,
        nativeSidecar: "auto",
        resyncIntervalMs: 300_000,
        logLevel: "info",
        kubernetesUrl: undefined,
        kubernetesTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
        kubernetesCaFile: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
      },
    });
  });

  it("reads every variable", () => {
    const result = loadConfig({
      ...minimal,
      ASYA_WEBHOOK_PORT: "9443",
      ASYA_WEBHOOK_CERT_DIR: "/certs",
      ASYA_SIDECAR_PULL_POLICY: "Always",
      ASYA_S3_BUCKET: "claims",
      ASYA_AWS_REGION: "eu-west-1",
      ASYA_SQS_ENDPOINT: "http://sqs.local:4566/",
      ASYA_S3_ENDPOINT: "http://s3.local:4569",
      ASYA_CLAIM_CHECK_THRESHOLD: "128Ki",
      ASYA_KEDA_AUTH_KIND: "TriggerAuthentication",
      ASYA_KEDA_AUTH_NAME: "irsa",
      ASYA_CREATE_QUEUES: "false",
      ASYA_NATIVE_SIDECAR: "never",
      ASYA_SIDECAR_ENV_SECRET: "asya-aws-credentials",
      ASYA_RESYNC_INTERVAL: "0",
      ASYA_LOG_LEVEL: "debug",
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({
      port: 9443,
      certDir: "/certs",
      sidecarPullPolicy: "Always",
      s3Bucket: "claims",
      awsRegion: "eu-west-1",
      sqsEndpoint: "http://sqs.local:4566",
      s3Endpoint: "http://s3.local:4569",
      claimCheckThresholdBytes: 131_072,
      kedaAuthKind: "TriggerAuthentication",
      kedaAuthName: "irsa",
      createQueues: false,
      nativeSidecar: "never",
      sidecarEnvSecret: "asya-aws-credentials",
      resyncIntervalMs: 0,
      logLevel: "debug",
      kubernetesUrl: "https://10.96.0.1:443",
    });
  });

  it("accepts AWS region names", () => {
    for (const region of ["us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1", "ap-southeast-5", "us-isob-east-1"]) {
      const result = loadConfig({ ...minimal, ASYA_AWS_REGION: region });
      expect(result.ok && result.value.awsRegion).toBe(region);
    }
  });

  it("rejects a malformed AWS region", () => {
    for (const region of ["not a region", "US-EAST-1", "us-east", "useast1", "us_east_1", "us-east-1 "]) {
      expect(loadConfig({ ...minimal, ASYA_AWS_REGION: region })).toEqual({
        ok: false,
        error: [`Invalid environment variable ASYA_AWS_REGION: expected ${AWS_REGION_EXPECTED}, found ${JSON.stringify(region)}`],
      });
    }
  });

  it("brackets an IPv6 service host", () => {
    const result = loadConfig({ ...minimal, KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" });
    expect(result.ok && result.value.kubernetesUrl).toBe("https://[fd00::1]:443");
  });

  it("reports every bad variable", () => {
    const result = loadConfig({
      ASYA_WEBHOOK_PORT: "70000",
      ASYA_SIDECAR_PULL_POLICY: "sometimes",
      ASYA_S3_BUCKET: "Claims_Bucket",
      ASYA_SQS_ENDPOINT: "sqs.local",
      ASYA_CLAIM_CHECK_THRESHOLD: "2Mi",
      ASYA_CREATE_QUEUES: "yes",
      ASYA_NATIVE_SIDECAR: "on",
      ASYA_RESYNC_INTERVAL: "1s",
      ASYA_LOG_LEVEL: "verbose",
    });
    expect(result).toEqual({
      ok: false,
      error: [
        'Invalid environment variable ASYA_WEBHOOK_PORT: expected a TCP port from 1 to 65535, found "70000"',
        "Missing environment variable ASYA_SIDECAR_IMAGE: expected a container image reference such as registry.example/asya-sidecar:0.1.0",
        'Invalid environment variable ASYA_SIDECAR_PULL_POLICY: expected Always, IfNotPresent, Never, found "sometimes"',
        'Invalid environment variable ASYA_S3_BUCKET: expected an S3 bucket name of 3 to 63 characters of [a-z0-9.-], found "Claims_Bucket"',
        'Invalid environment variable ASYA_SQS_ENDPOINT: expected an http or https URL, found "sqs.local"',
        'Invalid environment variable ASYA_CLAIM_CHECK_THRESHOLD: expected a byte quantity from 1 to 1Mi, such as 256Ki, found "2Mi"',
        'Invalid environment variable ASYA_CREATE_QUEUES: expected true or false, found "yes"',
        'Invalid environment variable ASYA_NATIVE_SIDECAR: expected auto, always, never, found "on"',
        'Invalid environment variable ASYA_RESYNC_INTERVAL: expected a duration of at least 10s, or 0 to turn resync off, found "1s"',
        'Invalid environment variable ASYA_LOG_LEVEL: expected debug, info, warn or error, found "verbose"',
      ],
    });
  });
});

describe("resolveNativeSidecar", () => {
  it.each([
    ["auto", { major: 1, minor: 29 }, true],
    ["auto", { major: 1, minor: 28 }, false],
    ["auto", { major: 2, minor: 0 }, true],
    ["auto", undefined, false],
    ["always", undefined, true],
    ["never", { major: 1, minor: 31 }, false],
  ] as const)("%s with %j gives %s", (mode, version, expected) => {
    expect(resolveNativeSidecar(mode, version)).toBe(expected);
  });
});
