/**
 * Sidecar configuration: environment variables parsed once at startup into
 * a typed object. Every variable is listed with its default and meaning in
 * docs/reference/sidecar.md.
 *
 * `loadConfig` takes the environment as a plain map (no `Deno.env`), so it
 * runs in unit tests on Node too. It returns every problem it finds, one
 * line each, naming the variable, the value found and what is accepted.
 */
import {
  actorQueueName,
  dlqQueueName,
  SINK_ACTOR,
  SUMP_ACTOR,
} from "../shared/queues.ts";
import { err, ok, type Result } from "../shared/result.ts";
import { parseDuration, parseQuantity } from "../shared/units.ts";
import { parseAwsRegion } from "../shared/scaled-object.ts";
import type { LogLevel } from "./log.ts";

export type Role = "actor" | "sink" | "sump";

export interface SidecarConfig {
  /** Actor whose queue this sidecar consumes; `x-sink` / `x-sump` for end actors. */
  actorName: string;
  namespace: string;
  role: Role;
  awsRegion: string;
  /** SQS endpoint override; undefined means the AWS endpoint of the region. */
  sqsEndpoint?: string;
  /** S3 endpoint override; undefined means the AWS endpoint of the region. */
  s3Endpoint?: string;
  s3Bucket: string;
  /** Key prefix of claim-check objects; also the only prefix `payload_ref` may point into. */
  s3Prefix: string;
  /** Serialised-message size in bytes above which the payload moves to S3. */
  claimCheckThresholdBytes: number;
  socketDir: string;
  concurrency: number;
  /** Per-call handler timeout in milliseconds. */
  actorTimeoutMs: number;
  sqsWaitTimeSeconds: number;
  sqsVisibilityTimeoutSeconds: number;
  httpHost: string;
  httpPort: number;
  logLevel: LogLevel;
  /** File with the HS256 envelope signing key; undefined disables signing and verification. */
  signingKeyFile?: string;
  /** Key id written to the `kid` header of signatures and required on received ones. */
  signingKeyId?: string;
}

/** Largest SQS message AWS accepts (1 MiB since August 2025), so the largest useful threshold. */
export const MAX_SQS_MESSAGE_BYTES = 1_048_576;

const DEFAULT_THRESHOLD = "256Ki";
const DEFAULT_TIMEOUT = "5m";
const MAX_CONCURRENCY = 1000;
const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

type Env = Record<string, string | undefined>;

/** Parses the sidecar settings from `env`; the error lists one line per bad or missing variable. */
export function loadConfig(env: Env): Result<SidecarConfig, string[]> {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === ""
      ? undefined
      : value.trim();
  };
  const invalid = (name: string, value: string, expected: string) =>
    problems.push(
      `invalid ${name}: expected ${expected}, found ${JSON.stringify(value)}`,
    );

  const role = parseRole(read("ASYA_ROLE"), invalid);
  const namespace = read("ASYA_NAMESPACE");
  if (namespace === undefined) {
    problems.push(
      `missing ASYA_NAMESPACE: expected the Kubernetes namespace of the actor, for example "default"`,
    );
  }

  const actorName = parseActorName(
    read("ASYA_ACTOR_NAME"),
    role,
    namespace,
    problems,
    invalid,
  );

  const s3Bucket = read("ASYA_S3_BUCKET");
  if (s3Bucket === undefined) {
    problems.push(
      `missing ASYA_S3_BUCKET: expected the S3 bucket for claim checks and end-actor results`,
    );
  } else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3Bucket)) {
    invalid(
      "ASYA_S3_BUCKET",
      s3Bucket,
      "an S3 bucket name of 3 to 63 characters of [a-z0-9.-]",
    );
  }

  const s3Prefix = read("ASYA_S3_PREFIX") ?? `claims/${namespace ?? ""}/`;
  if (s3Prefix.startsWith("/")) {
    invalid(
      "ASYA_S3_PREFIX",
      s3Prefix,
      "an S3 key prefix without a leading slash",
    );
  }

  const sqsEndpoint = parseEndpoint(
    "ASYA_SQS_ENDPOINT",
    read("ASYA_SQS_ENDPOINT"),
    invalid,
  );
  const s3Endpoint = parseEndpoint(
    "ASYA_S3_ENDPOINT",
    read("ASYA_S3_ENDPOINT"),
    invalid,
  );

  const thresholdText = read("ASYA_CLAIM_CHECK_THRESHOLD") ?? DEFAULT_THRESHOLD;
  const threshold = parseQuantity(thresholdText);
  let claimCheckThresholdBytes = 262_144;
  if (!threshold.ok) {
    problems.push(
      `invalid ASYA_CLAIM_CHECK_THRESHOLD: ${lowerFirst(threshold.error)}`,
    );
  } else if (threshold.value < 1 || threshold.value > MAX_SQS_MESSAGE_BYTES) {
    invalid(
      "ASYA_CLAIM_CHECK_THRESHOLD",
      thresholdText,
      `a quantity from 1 to ${MAX_SQS_MESSAGE_BYTES} bytes (1Mi, the SQS message size limit)`,
    );
  } else {
    claimCheckThresholdBytes = threshold.value;
  }

  const timeoutText = read("ASYA_RESILIENCY_ACTOR_TIMEOUT") ?? DEFAULT_TIMEOUT;
  const timeout = parseDuration(timeoutText);
  let actorTimeoutMs = 300_000;
  if (!timeout.ok) {
    problems.push(
      `invalid ASYA_RESILIENCY_ACTOR_TIMEOUT: ${lowerFirst(timeout.error)}`,
    );
  } else if (timeout.value <= 0) {
    invalid(
      "ASYA_RESILIENCY_ACTOR_TIMEOUT",
      timeoutText,
      "a duration greater than zero, such as 5m",
    );
  } else {
    actorTimeoutMs = timeout.value;
  }

  const integer = (
    name: string,
    fallback: number,
    min: number,
    max: number,
    meaning: string,
  ) => parseInteger(name, read(name), fallback, min, max, meaning, invalid);
  const concurrency = integer(
    "ASYA_CONCURRENCY",
    1,
    1,
    MAX_CONCURRENCY,
    "envelopes in flight",
  );
  const sqsWaitTimeSeconds = integer(
    "ASYA_SQS_WAIT_TIME_SECONDS",
    20,
    0,
    20,
    "seconds of SQS long polling",
  );
  const sqsVisibilityTimeoutSeconds = integer(
    "ASYA_SQS_VISIBILITY_TIMEOUT",
    60,
    2,
    MAX_VISIBILITY_TIMEOUT_SECONDS,
    "seconds",
  );
  const httpPort = integer(
    "ASYA_HTTP_PORT",
    8090,
    0,
    65_535,
    "a TCP port; 0 picks a free one",
  );

  const logLevel = parseLogLevel(read("ASYA_LOG_LEVEL"), invalid);

  const awsRegion = read("ASYA_AWS_REGION") ?? "us-east-1";
  const region = parseAwsRegion(awsRegion);
  if (!region.ok) invalid("ASYA_AWS_REGION", awsRegion, region.error);

  const signingKeyFile = read("ASYA_SIGNING_KEY_FILE");
  const signingKeyId = read("ASYA_SIGNING_KEY_ID");
  if (signingKeyId !== undefined && signingKeyFile === undefined) {
    problems.push(
      "invalid ASYA_SIGNING_KEY_ID: it needs ASYA_SIGNING_KEY_FILE, the file with the signing key",
    );
  }

  if (problems.length > 0) return err(problems);
  return ok({
    actorName: actorName!,
    namespace: namespace!,
    role,
    awsRegion,
    sqsEndpoint,
    s3Endpoint,
    s3Bucket: s3Bucket!,
    s3Prefix,
    claimCheckThresholdBytes,
    socketDir: read("ASYA_SOCKET_DIR") ?? "/var/run/asya",
    concurrency,
    actorTimeoutMs,
    sqsWaitTimeSeconds,
    sqsVisibilityTimeoutSeconds,
    httpHost: read("ASYA_HTTP_HOST") ?? "0.0.0.0",
    httpPort,
    logLevel,
    signingKeyFile,
    signingKeyId,
  });
}

type Invalid = (name: string, value: string, expected: string) => void;

function parseRole(value: string | undefined, invalid: Invalid): Role {
  if (value === undefined) return "actor";
  if (value === "actor" || value === "sink" || value === "sump") return value;
  invalid("ASYA_ROLE", value, "actor, sink or sump");
  return "actor";
}

// End actors have fixed names, so ASYA_ACTOR_NAME may be left out for them.
// The queue-name checks use the DLQ name because it is the longest one.
function parseActorName(
  value: string | undefined,
  role: Role,
  namespace: string | undefined,
  problems: string[],
  invalid: Invalid,
): string | undefined {
  let endActor: string | undefined;
  if (role === "sink") endActor = SINK_ACTOR;
  if (role === "sump") endActor = SUMP_ACTOR;
  if (endActor !== undefined) {
    if (value !== undefined && value !== endActor) {
      invalid(
        "ASYA_ACTOR_NAME",
        value,
        `${endActor} or unset when ASYA_ROLE=${role}`,
      );
    }
    return endActor;
  }

  if (value === undefined) {
    problems.push(
      `missing ASYA_ACTOR_NAME: expected the actor name, for example "summarize"`,
    );
    return undefined;
  }
  if (value === SINK_ACTOR || value === SUMP_ACTOR) {
    const role = value === SINK_ACTOR ? "sink" : "sump";
    invalid(
      "ASYA_ACTOR_NAME",
      value,
      `a user actor name; set ASYA_ROLE=${role} to run the ${value} end actor`,
    );
    return undefined;
  }
  if (namespace !== undefined) {
    const queue = actorQueueName(namespace, value);
    const dlq = dlqQueueName(namespace, value);
    const checked = queue.ok ? dlq : queue;
    if (!checked.ok) {
      problems.push(
        `invalid ASYA_ACTOR_NAME or ASYA_NAMESPACE: ${
          lowerFirst(checked.error.message)
        }`,
      );
      return undefined;
    }
  }
  return value;
}

function parseEndpoint(
  name: string,
  value: string | undefined,
  invalid: Invalid,
): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") {
      return value.replace(/\/+$/, "");
    }
  } catch {
    // Reported below with the accepted form.
  }
  invalid(name, value, "an http:// or https:// URL, or unset for AWS");
  return undefined;
}

function parseInteger(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
  meaning: string,
  invalid: Invalid,
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    invalid(name, value, `a whole number from ${min} to ${max} (${meaning})`);
    return fallback;
  }
  return number;
}

function parseLogLevel(value: string | undefined, invalid: Invalid): LogLevel {
  if (value === undefined) return "info";
  const level = value.toLowerCase();
  if (
    level === "debug" || level === "info" || level === "warn" ||
    level === "error"
  ) return level;
  // Python's logging spells it "warning"; the runtime shares this variable.
  if (level === "warning") return "warn";
  invalid("ASYA_LOG_LEVEL", value, "debug, info, warn or error");
  return "info";
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
