/**
 * The `asya.sh/*` annotation model: the table of keys with defaults,
 * accepted values and meaning (`ANNOTATIONS`), and the parser that turns
 * the annotations of a workload or pod into one typed actor config.
 *
 * Unknown `asya.sh/` keys on an actor are errors, so the webhook denies
 * them: a misspelt key such as `asya.sh/max-replica` would otherwise be
 * ignored and the actor would run with a setting its owner did not choose.
 * On an object without `asya.sh/actor` nothing is injected, so the same
 * keys only produce warnings.
 *
 * Pure and runtime-neutral: runs unchanged on Deno and Node.
 */
import { dlqQueueName, MAX_QUEUE_NAME_LENGTH, SINK_ACTOR, SUMP_ACTOR } from "./queues.ts";
import { err, ok, type Result } from "./result.ts";
import { formatDuration, parseDuration, parseQuantity } from "./units.ts";

/** Prefix of every annotation key that Asya reads. */
export const ANNOTATION_PREFIX = "asya.sh/";

/** Annotation that names the actor and turns injection on. */
export const ACTOR_ANNOTATION = "asya.sh/actor";

/**
 * Marker the webhook writes on every pod it injected, with the webhook
 * version as value. A pod that carries it is never injected again.
 */
export const INJECTED_ANNOTATION = "asya.sh/injected";

/** Handler input: the payload alone or the whole envelope. */
export type HandlerMode = "payload" | "envelope";

/** Whether the webhook creates a KEDA ScaledObject for the workload. */
export type ScalingMode = "keda" | "none";

/** Typed actor settings read from the `asya.sh/*` annotations. */
export interface ActorConfig {
  /** Actor name: the route entry and the middle part of the queue name. */
  actor: string;
  /** Dotted handler path; undefined means the container's `ASYA_HANDLER` env. */
  handler: string | undefined;
  /** Container holding the handler; undefined means the only or first one. */
  container: string | undefined;
  handlerMode: HandlerMode;
  /** Per-call timeout in milliseconds. */
  timeoutMs: number;
  /** Envelopes in flight per pod. */
  concurrency: number;
  minReplicas: number;
  maxReplicas: number;
  /** KEDA target of messages per replica. */
  queueLength: number;
  /** KEDA activation threshold in messages. */
  activationQueueLength: number;
  pollingIntervalSeconds: number;
  cooldownPeriodSeconds: number;
  /** Deliveries before SQS moves a message to the dead-letter queue. */
  maxReceiveCount: number;
  /** Claim-check threshold in bytes; undefined means the webhook default. */
  claimCheckThresholdBytes: number | undefined;
  /** Python interpreter inside the user's image. */
  python: string;
  scaling: ScalingMode;
}

/** One row of the annotation table, for docs and tools. */
export interface AnnotationSpec {
  /** Full key, for example `asya.sh/timeout`. */
  key: string;
  /** Default in the annotation's own syntax, or undefined when there is none. */
  default: string | undefined;
  /** Source of the value when the annotation is absent, in words. */
  defaultSource: string;
  /** Accepted values, in words. */
  accepted: string;
  /** Effect of the annotation. */
  meaning: string;
}

/** Maximum per-call timeout, because SQS keeps a received message invisible for at most 12 hours in total. */
export const MAX_TIMEOUT_MS = 12 * 3_600_000;

/**
 * Maximum claim-check threshold: 1 MiB, the SQS maximum message size.
 * NOTE: AWS raised that maximum from 256 KiB to 1 MiB in August 2025; an
 * SQS-compatible endpoint with the old limit rejects envelopes between the two.
 */
export const MAX_CLAIM_CHECK_THRESHOLD_BYTES = 1_048_576;

/** Upper bound of `asya.sh/concurrency`, a guard against typed extra zeros. */
export const MAX_CONCURRENCY = 1_000;

/** Bounds of the SQS redrive policy's maxReceiveCount. */
export const MAX_RECEIVE_COUNT_LIMIT = 1_000;

const ACTOR_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
const HANDLER_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const CONTAINER_NAME = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const INTERPRETER = /^[A-Za-z0-9_./+-]+$/;
const WHOLE_NUMBER = /^\d+$/;

/**
 * Every annotation key Asya reads, in documentation order. Docs and the
 * install helper's generated reference are built from this table.
 */
export const ANNOTATIONS: readonly AnnotationSpec[] = [
  {
    key: "asya.sh/actor",
    default: undefined,
    defaultSource: "required: without it nothing is injected",
    accepted: "1 to 63 characters of [A-Za-z0-9_-], starting and ending with a letter or digit; " +
      `not ${SINK_ACTOR} or ${SUMP_ACTOR}; the dead-letter queue name asya-{namespace}-{actor}-dlq must fit 80 characters`,
    meaning: "Actor name; turns injection on and names the actor's queues",
  },
  {
    key: "asya.sh/handler",
    default: undefined,
    defaultSource: "env ASYA_HANDLER of the handler container",
    accepted: "a dotted Python path: module.function or module.Class.method (packages allowed: pkg.module.function)",
    meaning: "Python function or method the runtime calls for each envelope",
  },
  {
    key: "asya.sh/container",
    default: undefined,
    defaultSource: "the only container, or the first one",
    accepted: "the name of a container of the pod",
    meaning: "Container that runs the handler",
  },
  {
    key: "asya.sh/handler-mode",
    default: "payload",
    defaultSource: "payload",
    accepted: "payload or envelope",
    meaning: "Whether the handler receives the payload only or the whole envelope",
  },
  {
    key: "asya.sh/timeout",
    default: "5m",
    defaultSource: "5m",
    accepted: "a Go-style duration greater than 0 and at most 12h, such as 90s, 5m, 1h30m",
    meaning: "Per-call timeout; also sets the pod's minimum termination grace period",
  },
  {
    key: "asya.sh/concurrency",
    default: "1",
    defaultSource: "1",
    accepted: `a whole number from 1 to ${MAX_CONCURRENCY}`,
    meaning: "Envelopes in flight per pod",
  },
  {
    key: "asya.sh/min-replicas",
    default: "0",
    defaultSource: "0",
    accepted: "a whole number from 0 to asya.sh/max-replicas",
    meaning: "KEDA minReplicaCount; 0 scales to zero when the queue is empty",
  },
  {
    key: "asya.sh/max-replicas",
    default: "10",
    defaultSource: "10",
    accepted: "a whole number of at least 1 and at least asya.sh/min-replicas",
    meaning: "KEDA maxReplicaCount",
  },
  {
    key: "asya.sh/queue-length",
    default: "5",
    defaultSource: "5",
    accepted: "a whole number of at least 1",
    meaning: "KEDA aws-sqs-queue queueLength: target messages per replica",
  },
  {
    key: "asya.sh/activation-queue-length",
    default: "0",
    defaultSource: "0",
    accepted: "a whole number of at least 0",
    meaning: "KEDA aws-sqs-queue activationQueueLength: messages above which the actor scales from zero",
  },
  {
    key: "asya.sh/polling-interval",
    default: "10",
    defaultSource: "10",
    accepted: "a whole number of seconds, at least 1",
    meaning: "KEDA pollingInterval in seconds",
  },
  {
    key: "asya.sh/cooldown-period",
    default: "300",
    defaultSource: "300",
    accepted: "a whole number of seconds, at least 0",
    meaning: "KEDA cooldownPeriod in seconds before scaling to zero",
  },
  {
    key: "asya.sh/max-receive-count",
    default: "3",
    defaultSource: "3",
    accepted: `a whole number from 1 to ${MAX_RECEIVE_COUNT_LIMIT}`,
    meaning: "Deliveries of one message before SQS moves it to the dead-letter queue",
  },
  {
    key: "asya.sh/claim-check-threshold",
    default: "256Ki",
    defaultSource: "the webhook's ASYA_CLAIM_CHECK_THRESHOLD, 256Ki unless set",
    accepted: "a byte quantity from 1 to 1Mi, such as 256Ki, 512000, 1Mi",
    meaning: "Envelopes larger than this store their payload in S3 and travel with a reference",
  },
  {
    key: "asya.sh/python",
    default: "python3",
    defaultSource: "python3",
    accepted: "an interpreter name or absolute path of [A-Za-z0-9_./+-], such as python3 or /opt/conda/bin/python",
    meaning: "Python interpreter inside the user's image that runs the runtime",
  },
  {
    key: "asya.sh/scaling",
    default: "keda",
    defaultSource: "keda",
    accepted: "keda or none",
    meaning: "keda creates a ScaledObject for the workload; none leaves replicas to the user",
  },
  {
    key: INJECTED_ANNOTATION,
    default: undefined,
    defaultSource: "written by the webhook, not by users",
    accepted: "any value; the webhook writes its version",
    meaning: "Marks a pod as injected, so admitting it again changes nothing",
  },
];

const KNOWN_KEYS: ReadonlySet<string> = new Set(ANNOTATIONS.map((spec) => spec.key));

/** One rejected annotation: which key, the value found and what is accepted. */
export interface AnnotationError {
  /** Full annotation key. */
  key: string;
  /** Value found, or undefined when the annotation is missing. */
  value: string | undefined;
  /** Accepted values, in words. */
  expected: string;
  /** Sentence-case message naming the key, the value and what is accepted. */
  message: string;
}

/** Outcome of reading the annotations of one object. */
export interface ParsedAnnotations {
  /** The actor config, or undefined when `asya.sh/actor` is absent. */
  config: ActorConfig | undefined;
  /** Problems that do not block admission, such as keys without an actor. */
  warnings: string[];
}

/** Options of `parseActorAnnotations`. */
export interface ParseOptions {
  /**
   * Namespace of the object. When given, the actor's queue and dead-letter
   * queue names are checked against the SQS limits.
   */
  namespace?: string;
}

/** Returns the `asya.sh/*` entries of an annotation map, in their original order. */
export function selectAsyaAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const selected: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (key.startsWith(ANNOTATION_PREFIX)) selected[key] = value;
  }
  return selected;
}

/**
 * Parses the `asya.sh/*` annotations of a workload, pod template or pod
 * into one actor config with defaults applied.
 *
 * Without `asya.sh/actor` the result has no config, and any other
 * `asya.sh/` keys (except `asya.sh/injected`) become warnings. With it,
 * every bad value and every unknown `asya.sh/` key is an error; all errors
 * are collected, so one admission shows every problem at once.
 */
export function parseActorAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  options: ParseOptions = {},
): Result<ParsedAnnotations, AnnotationError[]> {
  const asya = selectAsyaAnnotations(annotations);
  const unknownKeys = Object.keys(asya).filter((key) => !KNOWN_KEYS.has(key));

  if (!(ACTOR_ANNOTATION in asya)) {
    const ignored = Object.keys(asya).filter((key) => key !== INJECTED_ANNOTATION);
    const warnings = ignored.length === 0 ? [] : [
      `Annotations ${ignored.join(", ")} have no effect without ${ACTOR_ANNOTATION}` +
      suggestionFor(unknownKeys.find((key) => suggestKey(key) === ACTOR_ANNOTATION)),
    ];
    return ok({ config: undefined, warnings });
  }

  const reader = new AnnotationReader(asya);
  const actor = reader.read("asya.sh/actor", undefined, parseActorName);
  const handler = reader.read("asya.sh/handler", undefined, parseHandlerPath);
  const container = reader.read("asya.sh/container", undefined, parseContainerName);
  const handlerMode = reader.read("asya.sh/handler-mode", "payload", parseHandlerMode);
  const timeoutMs = reader.read("asya.sh/timeout", "5m", parseTimeout);
  const concurrency = reader.read("asya.sh/concurrency", "1", wholeNumber(1, MAX_CONCURRENCY));
  const minReplicas = reader.read("asya.sh/min-replicas", "0", wholeNumber(0));
  const maxReplicas = reader.read("asya.sh/max-replicas", "10", wholeNumber(1));
  const queueLength = reader.read("asya.sh/queue-length", "5", wholeNumber(1));
  const activationQueueLength = reader.read("asya.sh/activation-queue-length", "0", wholeNumber(0));
  const pollingIntervalSeconds = reader.read("asya.sh/polling-interval", "10", wholeNumber(1, undefined, "seconds"));
  const cooldownPeriodSeconds = reader.read("asya.sh/cooldown-period", "300", wholeNumber(0, undefined, "seconds"));
  const maxReceiveCount = reader.read("asya.sh/max-receive-count", "3", wholeNumber(1, MAX_RECEIVE_COUNT_LIMIT));
  const claimCheckThresholdBytes = reader.read("asya.sh/claim-check-threshold", undefined, parseThreshold);
  const python = reader.read("asya.sh/python", "python3", parseInterpreter);
  const scaling = reader.read("asya.sh/scaling", "keda", parseScalingMode);

  if (minReplicas !== undefined && maxReplicas !== undefined && minReplicas > maxReplicas) {
    reader.reject(
      "asya.sh/min-replicas",
      `a whole number no greater than asya.sh/max-replicas (${maxReplicas})`,
    );
  }

  if (actor !== undefined && options.namespace !== undefined) {
    // The dead-letter queue name is the longest of the actor's queue names.
    const dlq = dlqQueueName(options.namespace, actor);
    if (!dlq.ok) {
      reader.reject(
        "asya.sh/actor",
        `a name whose dead-letter queue name asya-${options.namespace}-{actor}-dlq fits SQS ` +
          `(at most ${MAX_QUEUE_NAME_LENGTH} characters of [A-Za-z0-9_-])`,
        "Invalid annotation",
        lowerFirst(dlq.error.message),
      );
    }
  }

  for (const key of unknownKeys) {
    const suggestion = suggestKey(key);
    reader.reject(
      key,
      "one of the known asya.sh/ keys" + (suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`),
      "Unknown annotation",
    );
  }

  if (reader.errors.length > 0) return err(reader.errors);

  // Every read above returned a value, because a failed read recorded an error.
  const config: ActorConfig = {
    actor: actor!,
    handler,
    container,
    handlerMode: handlerMode!,
    timeoutMs: timeoutMs!,
    concurrency: concurrency!,
    minReplicas: minReplicas!,
    maxReplicas: maxReplicas!,
    queueLength: queueLength!,
    activationQueueLength: activationQueueLength!,
    pollingIntervalSeconds: pollingIntervalSeconds!,
    cooldownPeriodSeconds: cooldownPeriodSeconds!,
    maxReceiveCount: maxReceiveCount!,
    claimCheckThresholdBytes,
    python: python!,
    scaling: scaling!,
  };
  return ok({ config, warnings: [] });
}

/**
 * Renders a config back into annotations: the inverse of
 * `parseActorAnnotations` for every field that is set. Used by tests and
 * tools that write annotations.
 */
export function formatActorAnnotations(config: ActorConfig): Record<string, string> {
  const annotations: Record<string, string> = { "asya.sh/actor": config.actor };
  if (config.handler !== undefined) annotations["asya.sh/handler"] = config.handler;
  if (config.container !== undefined) annotations["asya.sh/container"] = config.container;
  annotations["asya.sh/handler-mode"] = config.handlerMode;
  annotations["asya.sh/timeout"] = formatDuration(config.timeoutMs);
  annotations["asya.sh/concurrency"] = String(config.concurrency);
  annotations["asya.sh/min-replicas"] = String(config.minReplicas);
  annotations["asya.sh/max-replicas"] = String(config.maxReplicas);
  annotations["asya.sh/queue-length"] = String(config.queueLength);
  annotations["asya.sh/activation-queue-length"] = String(config.activationQueueLength);
  annotations["asya.sh/polling-interval"] = String(config.pollingIntervalSeconds);
  annotations["asya.sh/cooldown-period"] = String(config.cooldownPeriodSeconds);
  annotations["asya.sh/max-receive-count"] = String(config.maxReceiveCount);
  if (config.claimCheckThresholdBytes !== undefined) {
    annotations["asya.sh/claim-check-threshold"] = String(config.claimCheckThresholdBytes);
  }
  annotations["asya.sh/python"] = config.python;
  annotations["asya.sh/scaling"] = config.scaling;
  return annotations;
}

/**
 * Returns the known key closest to an unknown `asya.sh/` key (at most two
 * edits apart, ignoring case), or undefined when none is close.
 */
export function suggestKey(unknownKey: string): string | undefined {
  const name = unknownKey.slice(ANNOTATION_PREFIX.length).toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const spec of ANNOTATIONS) {
    if (spec.key === INJECTED_ANNOTATION) continue;
    const distance = editDistance(name, spec.key.slice(ANNOTATION_PREFIX.length));
    if (distance < bestDistance) {
      best = spec.key;
      bestDistance = distance;
    }
  }
  return best;
}

// A value parser returns the parsed value or the accepted values in words.
type ValueParser<T> = (text: string) => Result<T, string>;

// Collects errors while reading keys, so one pass reports every problem.
class AnnotationReader {
  readonly errors: AnnotationError[] = [];

  constructor(private readonly annotations: Readonly<Record<string, string>>) {}

  read<T>(key: string, fallback: string | undefined, parse: ValueParser<T>): T | undefined {
    const text = this.annotations[key] ?? fallback;
    if (text === undefined) return undefined;
    const parsed = parse(text);
    if (parsed.ok) return parsed.value;
    this.reject(key, parsed.error);
    return undefined;
  }

  reject(key: string, expected: string, summary = "Invalid annotation", detail?: string): void {
    const value = this.annotations[key];
    const found = value === undefined ? "it is missing" : `found ${JSON.stringify(value)}`;
    const suffix = detail === undefined ? "" : ` (${detail})`;
    this.errors.push({ key, value, expected, message: `${summary} ${key}: expected ${expected}, ${found}${suffix}` });
  }
}

function parseActorName(text: string): Result<string, string> {
  if (!ACTOR_NAME.test(text)) {
    return err("1 to 63 characters of [A-Za-z0-9_-], starting and ending with a letter or digit");
  }
  if (text === SINK_ACTOR || text === SUMP_ACTOR) {
    return err(`an actor name other than ${SINK_ACTOR} and ${SUMP_ACTOR}, which are reserved for the end actors`);
  }
  return ok(text);
}

function parseHandlerPath(text: string): Result<string, string> {
  if (HANDLER_PATH.test(text)) return ok(text);
  return err("a dotted Python path such as module.function or module.Class.method");
}

function parseContainerName(text: string): Result<string, string> {
  if (CONTAINER_NAME.test(text)) return ok(text);
  return err("a container name (lowercase letters, digits and '-', at most 63 characters)");
}

function parseHandlerMode(text: string): Result<HandlerMode, string> {
  if (text === "payload" || text === "envelope") return ok(text);
  return err("payload or envelope");
}

function parseScalingMode(text: string): Result<ScalingMode, string> {
  if (text === "keda" || text === "none") return ok(text);
  return err("keda or none");
}

const TIMEOUT_ACCEPTED = "a Go-style duration greater than 0 and at most 12h, such as 90s, 5m or 1h30m " +
  "(12h is how long SQS keeps a received message in flight)";

function parseTimeout(text: string): Result<number, string> {
  const parsed = parseDuration(text);
  if (!parsed.ok && WHOLE_NUMBER.test(text)) return err(`${TIMEOUT_ACCEPTED}; a bare number needs a unit, as in ${text}s`);
  if (!parsed.ok || parsed.value <= 0 || parsed.value > MAX_TIMEOUT_MS) return err(TIMEOUT_ACCEPTED);
  return ok(parsed.value);
}

const THRESHOLD_ACCEPTED = "a byte quantity from 1 to 1Mi, such as 256Ki, 512000 or 1Mi " +
  "(1Mi is the SQS maximum message size)";

function parseThreshold(text: string): Result<number, string> {
  const parsed = parseQuantity(text);
  if (!parsed.ok && /^\d+(?:\.\d*)?m$/.test(text)) return err(`${THRESHOLD_ACCEPTED}; m means thousandths, did you mean ${text.slice(0, -1)}Mi?`);
  if (!parsed.ok || parsed.value < 1 || parsed.value > MAX_CLAIM_CHECK_THRESHOLD_BYTES) return err(THRESHOLD_ACCEPTED);
  return ok(parsed.value);
}

function parseInterpreter(text: string): Result<string, string> {
  if (INTERPRETER.test(text)) return ok(text);
  return err("an interpreter name or absolute path of [A-Za-z0-9_./+-], such as python3");
}

function wholeNumber(min: number, max?: number, unit?: string): ValueParser<number> {
  const noun = unit === undefined ? "a whole number" : `a whole number of ${unit}`;
  const range = max === undefined ? `${noun} of at least ${min}` : `${noun} from ${min} to ${max}`;
  return (text) => {
    if (!WHOLE_NUMBER.test(text)) return err(range);
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) return err(range);
    return ok(value);
  };
}

function suggestionFor(key: string | undefined): string {
  return key === undefined ? "" : ` (did you mean ${ACTOR_ANNOTATION} instead of ${key}?)`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

// Levenshtein distance; keys are short, so the full table is cheap.
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
