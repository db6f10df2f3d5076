import { err, ok, type Result } from "./result.ts";

/** Actor that stores finished envelopes. */
export const SINK_ACTOR = "x-sink";

/** Actor that stores failed envelopes with the failure reason. */
export const SUMP_ACTOR = "x-sump";

/** Maximum length of an SQS queue name (standard queues). */
export const MAX_QUEUE_NAME_LENGTH = 80;

const QUEUE_NAME_PREFIX = "asya-";
const DLQ_SUFFIX = "-dlq";
const VALID_CHARACTER = /^[A-Za-z0-9_-]$/;

/** Rejection of a queue name that SQS would not accept. */
export interface QueueNameError {
  /** The rejected queue name. */
  queueName: string;
  /** Rule the name breaks. */
  reason: "too-long" | "invalid-character" | "empty-part";
  /** Sentence-case message naming the queue, the problem and the limit. */
  message: string;
}

/**
 * Builds the queue name of an actor: `asya-{namespace}-{actor}`.
 * Fails when the name is longer than 80 characters, contains a character
 * outside `[A-Za-z0-9_-]`, or when the namespace or actor is empty.
 */
export function actorQueueName(
  namespace: string,
  actor: string,
): Result<string, QueueNameError> {
  const queueName = `${QUEUE_NAME_PREFIX}${namespace}-${actor}`;
  if (namespace === "" || actor === "") {
    const part = namespace === "" ? "namespace" : "actor";
    return err({
      queueName,
      reason: "empty-part",
      message:
        `Invalid queue name "${queueName}": the ${part} must not be empty`,
    });
  }
  return checkQueueName(queueName);
}

/**
 * Builds the dead-letter queue name of an actor:
 * `asya-{namespace}-{actor}-dlq`. It is the longest name an actor needs, so
 * admission checks it to be sure every queue of the actor fits the limit.
 */
export function dlqQueueName(
  namespace: string,
  actor: string,
): Result<string, QueueNameError> {
  const base = actorQueueName(namespace, actor);
  if (!base.ok) {
    const queueName = `${base.error.queueName}${DLQ_SUFFIX}`;
    return err({
      ...base.error,
      queueName,
      message: base.error.message.replace(base.error.queueName, queueName),
    });
  }
  return checkQueueName(`${base.value}${DLQ_SUFFIX}`);
}

/** Builds the queue name of the `x-sink` end actor in a namespace. */
export function sinkQueueName(
  namespace: string,
): Result<string, QueueNameError> {
  return actorQueueName(namespace, SINK_ACTOR);
}

/** Builds the queue name of the `x-sump` end actor in a namespace. */
export function sumpQueueName(
  namespace: string,
): Result<string, QueueNameError> {
  return actorQueueName(namespace, SUMP_ACTOR);
}

/**
 * Checks a complete queue name against the SQS rules: 1 to 80 characters
 * of `[A-Za-z0-9_-]`. Returns the name unchanged when it is valid.
 */
export function checkQueueName(
  queueName: string,
): Result<string, QueueNameError> {
  if (queueName === "") {
    return err({
      queueName,
      reason: "empty-part",
      message: "Invalid queue name: the name must not be empty",
    });
  }

  // Characters first: once every character is ASCII, `length` counts them.
  for (const [index, character] of Array.from(queueName).entries()) {
    if (!VALID_CHARACTER.test(character)) {
      return err({
        queueName,
        reason: "invalid-character",
        message: `Invalid queue name "${queueName}": character ` +
          `${JSON.stringify(character)} at position ${index}, ` +
          "SQS allows only [A-Za-z0-9_-]",
      });
    }
  }

  if (queueName.length > MAX_QUEUE_NAME_LENGTH) {
    return err({
      queueName,
      reason: "too-long",
      message:
        `Invalid queue name "${queueName}": ${queueName.length} characters, ` +
        `SQS allows at most ${MAX_QUEUE_NAME_LENGTH}`,
    });
  }
  return ok(queueName);
}
