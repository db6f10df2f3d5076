/**
 * Webhook configuration, read once at startup from environment variables
 * into a typed object. Every variable is documented with its default in
 * docs/reference/webhook.md.
 */
import { err, ok, type Result } from "../shared/result.ts";
import { MAX_CLAIM_CHECK_THRESHOLD_BYTES } from "../shared/annotations.ts";
import { parseAwsRegion } from "../shared/scaled-object.ts";
import { parseDuration, parseQuantity } from "../shared/units.ts";
import { type LogLevel, parseLogLevel } from "./log.ts";

/** Version written to `asya.sh/injected` and reported on `/healthz`. */
export const WEBHOOK_VERSION = "0.1.0";

/** Sidecar injection mode: auto follows the API server version. */
export type NativeSidecarMode = "auto" | "always" | "never";

/** Typed webhook configuration. */
export interface WebhookConfig {
  port: number;
  certDir: string;
  sidecarImage: string;
  sidecarPullPolicy: "Always" | "IfNotPresent" | "Never";
  s3Bucket: string;
  awsRegion: string;
  sqsEndpoint: string | undefined;
  s3Endpoint: string | undefined;
  claimCheckThresholdBytes: number;
  kedaAuthKind: "TriggerAuthentication" | "ClusterTriggerAuthentication";
  kedaAuthName: string;
  createQueues: boolean;
  nativeSidecar: NativeSidecarMode;
  /**
   * Secret whose keys every injected sidecar receives as environment
   * variables (`envFrom`). Undefined adds none, which suits IRSA on EKS.
   */
  sidecarEnvSecret?: string | undefined;
  /** Milliseconds between resync passes; 0 turns resync off. */
  resyncIntervalMs: number;
  logLevel: LogLevel;
  /** API server URL; undefined outside a cluster, which turns side effects off. */
  kubernetesUrl: string | undefined;
  /** Service account token file, re-read for every request. */
  kubernetesTokenFile: string;
  /** CA bundle that signs the API server certificate. */
  kubernetesCaFile: string;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * Reads the configuration from environment variables. Collects every
 * invalid variable, so one start reports all of them; each message names
 * the variable, the value found and what is accepted.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Result<WebhookConfig, string[]> {
  const problems: string[] = [];
  const read = <T>(name: string, fallback: string | undefined, parse: (text: string) => Result<T, string>): T => {
    const text = env[name] === undefined || env[name] === "" ? fallback : env[name];
    if (text === undefined) {
      problems.push(`Missing environment variable ${name}: expected ${describeParser(parse)}`);
      return undefined as T;
    }
    const parsed = parse(text);
    if (!parsed.ok) {
      problems.push(`Invalid environment variable ${name}: expected ${parsed.error}, found ${JSON.stringify(text)}`);
      return undefined as T;
    }
    return parsed.value;
  };

  const serviceHost = env.KUBERNETES_SERVICE_HOST;
  const defaultKubernetesUrl = serviceHost
    ? `https://${serviceHost.includes(":") ? `[${serviceHost}]` : serviceHost}:${env.KUBERNETES_SERVICE_PORT ?? "443"}`
    : undefined;

  const config: WebhookConfig = {
    port: read("ASYA_WEBHOOK_PORT", "8443", port),
    certDir: read("ASYA_WEBHOOK_CERT_DIR", "/etc/asya/tls", nonEmpty),
    sidecarImage: read("ASYA_SIDECAR_IMAGE", undefined, image),
    sidecarPullPolicy: read("ASYA_SIDECAR_PULL_POLICY", "IfNotPresent", oneOf(["Always", "IfNotPresent", "Never"] as const)),
    s3Bucket: read("ASYA_S3_BUCKET", undefined, bucket),
    awsRegion: read("ASYA_AWS_REGION", "us-east-1", parseAwsRegion),
    sqsEndpoint: env.ASYA_SQS_ENDPOINT ? read("ASYA_SQS_ENDPOINT", undefined, url) : undefined,
    s3Endpoint: env.ASYA_S3_ENDPOINT ? read("ASYA_S3_ENDPOINT", undefined, url) : undefined,
    claimCheckThresholdBytes: read("ASYA_CLAIM_CHECK_THRESHOLD", "256Ki", threshold),
    kedaAuthKind: read(
      "ASYA_KEDA_AUTH_KIND",
      "ClusterTriggerAuthentication",
      oneOf(["TriggerAuthentication", "ClusterTriggerAuthentication"] as const),
    ),
    kedaAuthName: read("ASYA_KEDA_AUTH_NAME", "asya-aws", nonEmpty),
    createQueues: read("ASYA_CREATE_QUEUES", "true", boolean),
    nativeSidecar: read("ASYA_NATIVE_SIDECAR", "auto", oneOf(["auto", "always", "never"] as const)),
    sidecarEnvSecret: env.ASYA_SIDECAR_ENV_SECRET ? read("ASYA_SIDECAR_ENV_SECRET", undefined, secretName) : undefined,
    resyncIntervalMs: read("ASYA_RESYNC_INTERVAL", "5m", interval),
    logLevel: read("ASYA_LOG_LEVEL", "info", logLevel),
    kubernetesUrl: env.ASYA_KUBERNETES_URL ? read("ASYA_KUBERNETES_URL", undefined, url) : defaultKubernetesUrl,
    kubernetesTokenFile: env.ASYA_KUBERNETES_TOKEN_FILE || `${SERVICE_ACCOUNT_DIR}/token`,
    kubernetesCaFile: env.ASYA_KUBERNETES_CA_FILE || `${SERVICE_ACCOUNT_DIR}/ca.crt`,
  };
  return problems.length > 0 ? err(problems) : ok(config);
}

/**
 * Decides whether to inject a native sidecar. Native sidecars (init
 * containers with restartPolicy Always) are on by default from Kubernetes
 * 1.29; an unknown version falls back to a plain container, which works on
 * every version.
 */
export function resolveNativeSidecar(mode: NativeSidecarMode, version: { major: number; minor: number } | undefined): boolean {
  if (mode === "always") return true;
  if (mode === "never" || version === undefined) return false;
  return version.major > 1 || (version.major === 1 && version.minor >= 29);
}

// Sidecars refuse to start without a valid bucket, so the webhook checks it once at startup.
function bucket(text: string): Result<string, string> {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(text)
    ? ok(text)
    : err("an S3 bucket name of 3 to 63 characters of [a-z0-9.-]");
}

// Kubernetes requires a Secret name to be a DNS-1123 subdomain: RFC 1123
// labels joined by dots, at most 253 characters in all.
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_SUBDOMAIN_LENGTH = 253;

function secretName(text: string): Result<string, string> {
  return text.length <= MAX_SUBDOMAIN_LENGTH && DNS_1123_SUBDOMAIN.test(text)
    ? ok(text)
    : err(
      "the name of a Secret in the actor's namespace: a DNS-1123 subdomain of at most 253 characters " +
        "of [a-z0-9.-] that starts and ends with a letter or digit, such as asya-aws-credentials",
    );
}

function nonEmpty(text: string): Result<string, string> {
  return text.trim() === "" ? err("a non-empty value") : ok(text);
}

function image(text: string): Result<string, string> {
  return /^\S+$/.test(text) ? ok(text) : err("a container image reference such as registry.example/asya-sidecar:0.1.0");
}

function port(text: string): Result<number, string> {
  const value = Number(text);
  return /^\d+$/.test(text) && value >= 1 && value <= 65_535 ? ok(value) : err("a TCP port from 1 to 65535");
}

function url(text: string): Result<string, string> {
  try {
    const parsed = new URL(text);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") return ok(text.replace(/\/+$/, ""));
  } catch {
    // Reported below with the accepted form.
  }
  return err("an http or https URL");
}

function boolean(text: string): Result<boolean, string> {
  if (text === "true") return ok(true);
  if (text === "false") return ok(false);
  return err("true or false");
}

function threshold(text: string): Result<number, string> {
  const parsed = parseQuantity(text);
  if (!parsed.ok || parsed.value < 1 || parsed.value > MAX_CLAIM_CHECK_THRESHOLD_BYTES) {
    return err("a byte quantity from 1 to 1Mi, such as 256Ki");
  }
  return ok(parsed.value);
}

function interval(text: string): Result<number, string> {
  const parsed = parseDuration(text);
  if (!parsed.ok) return err("a Go-style duration such as 5m, or 0 to turn resync off");
  if (parsed.value !== 0 && parsed.value < 10_000) return err("a duration of at least 10s, or 0 to turn resync off");
  return ok(parsed.value);
}

function logLevel(text: string): Result<LogLevel, string> {
  const level = parseLogLevel(text);
  return level === undefined ? err("debug, info, warn or error") : ok(level);
}

function oneOf<T extends string>(values: readonly T[]): (text: string) => Result<T, string> {
  return (text) => (values as readonly string[]).includes(text) ? ok(text as T) : err(values.join(", "));
}

function describeParser(parse: (text: string) => Result<unknown, string>): string {
  const probe = parse("");
  return probe.ok ? "a value" : probe.error;
}
