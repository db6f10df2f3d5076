// Queue attributes: defaults, ranges and the RedrivePolicy format, as the
// Amazon SQS API reference for CreateQueue and SetQueueAttributes gives them.

import {
  invalidAttributeName,
  invalidAttributeValue,
  invalidParameterValue,
} from "./sqs-errors.ts";

/** Settable attributes with their defaults (all values are strings on the wire). */
export const QUEUE_ATTRIBUTE_DEFAULTS: Readonly<Record<string, string>> = {
  DelaySeconds: "0",
  // 1 MiB: the default and maximum that the SQS API reference gives for
  // MaximumMessageSize since 2025 (it was 256 KiB before).
  MaximumMessageSize: "1048576",
  MessageRetentionPeriod: "345600",
  ReceiveMessageWaitTimeSeconds: "0",
  VisibilityTimeout: "30",
};

const INTEGER_RANGES: Readonly<Record<string, [number, number]>> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1048576],
  MessageRetentionPeriod: [60, 1209600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43200],
  KmsDataKeyReusePeriodSeconds: [60, 86400],
};

// Accepted and stored so infrastructure code that sets them keeps working;
// the local endpoint does not enforce policies or encryption.
const STORED_ONLY = new Set([
  "Policy",
  "RedriveAllowPolicy",
  "KmsMasterKeyId",
  "SqsManagedSseEnabled",
]);

/** The maximum receive count AWS accepts in a RedrivePolicy. */
const MAX_RECEIVE_COUNT_LIMIT = 1000;

/** A parsed RedrivePolicy. */
export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

/** Builds the queue ARN for a region and name in the local account. */
export function queueArn(region: string, name: string): string {
  return `arn:aws:sqs:${region}:${ACCOUNT_ID}:${name}`;
}

/** The account id used in queue URLs and ARNs. */
export const ACCOUNT_ID = "000000000000";

/**
 * Validates settable queue attributes and returns them normalised
 * (integers without leading zeros, RedrivePolicy as compact JSON).
 * `queueExists` resolves a dead-letter target ARN to whether that queue
 * exists. Throws InvalidAttributeName or InvalidAttributeValue.
 */
export function normaliseQueueAttributes(
  attributes: Record<string, unknown> | undefined,
  queueExists: (arn: string) => boolean,
): Record<string, string> {
  const normalised: Record<string, string> = {};
  for (const [name, raw] of Object.entries(attributes ?? {})) {
    if (typeof raw !== "string") {
      throw invalidAttributeValue(
        name,
        `expected a string value, found ${typeof raw}`,
      );
    }
    if (
      name === "FifoQueue" || name === "ContentBasedDeduplication" ||
      name === "DeduplicationScope" || name === "FifoThroughputLimit"
    ) {
      if (name === "FifoQueue" && raw === "false") continue;
      throw invalidAttributeValue(
        name,
        "FIFO queues are not supported by the local SQS endpoint",
      );
    }
    if (name in INTEGER_RANGES) {
      normalised[name] = String(parseIntegerAttribute(name, raw));
    } else if (name === "RedrivePolicy") {
      normalised[name] = raw === ""
        ? ""
        : JSON.stringify(parseRedrivePolicy(raw, queueExists));
    } else if (STORED_ONLY.has(name)) {
      normalised[name] = raw;
    } else {
      throw invalidAttributeName(name);
    }
  }
  return normalised;
}

function parseIntegerAttribute(name: string, raw: string): number {
  const [min, max] = INTEGER_RANGES[name];
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidAttributeValue(
      name,
      `must be an integer from ${min} to ${max}, found "${raw}"`,
    );
  }
  return value;
}

/** Parses a RedrivePolicy JSON string; throws InvalidParameterValue naming the bad field. */
export function parseRedrivePolicy(
  raw: string,
  queueExists: (arn: string) => boolean,
): RedrivePolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalidParameterValue(
      `Value ${raw} for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map.`,
    );
  }
  const policy = (parsed ?? {}) as Record<string, unknown>;
  const arn = policy.deadLetterTargetArn;
  if (
    typeof arn !== "string" ||
    !/^arn:aws:sqs:[^:]+:\d{12}:[A-Za-z0-9_-]{1,80}$/.test(arn)
  ) {
    throw invalidParameterValue(
      `Value ${raw} for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn, expected arn:aws:sqs:REGION:ACCOUNT:NAME.`,
    );
  }
  const count = Number(policy.maxReceiveCount);
  if (
    !Number.isInteger(count) || count < 1 || count > MAX_RECEIVE_COUNT_LIMIT
  ) {
    throw invalidParameterValue(
      `Value ${raw} for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: ${
        String(policy.maxReceiveCount)
      }, valid values are from 1 to ${MAX_RECEIVE_COUNT_LIMIT} both inclusive.`,
    );
  }
  if (!queueExists(arn)) {
    throw invalidParameterValue(
      `Value ${raw} for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist.`,
    );
  }
  return { deadLetterTargetArn: arn, maxReceiveCount: count };
}

/** Returns the queue name at the end of an SQS ARN. */
export function queueNameFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(":") + 1);
}
