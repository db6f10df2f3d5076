/**
 * Checks for each envelope member after `JSON.parse`. Each function takes
 * the member's path (for example `route` or `frames[1].route`) and the
 * message context, so the same rules serve envelopes and runtime frames.
 */
import { parseS3Uri } from "./claim-check.ts";
import { checkTimestamp } from "./deadline.ts";
import {
  describeValue,
  ENVELOPE_PHASES,
  type EnvelopeError,
  envelopeError,
  type EnvelopePhase,
  type EnvelopeStatus,
  type PayloadRef,
  type Route,
} from "./envelope-types.ts";
import { err, ok, type Result } from "./result.ts";

type Check<T> = Result<T, EnvelopeError>;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const STATUS_TIMESTAMPS = ["created_at", "updated_at", "deadline_at"] as const;

/** Rejects a member the wire format does not define. */
export function unknownMemberError(
  field: string,
  allowed: readonly string[],
  context: string,
): EnvelopeError {
  const expected = `one of ${allowed.join(", ")}`;
  return {
    field,
    expected,
    found: "an unknown member",
    message: `${context}: ${field} is not a known member, expected ${expected}`,
  };
}

/** Checks a non-empty string such as `id` or `parent_id`. */
export function checkNonEmptyString(
  value: unknown,
  field: string,
  context: string,
): Check<string> {
  if (typeof value !== "string" || value === "") {
    return err(
      envelopeError(field, "a non-empty string", describeValue(value), context),
    );
  }
  return ok(value);
}

/** Checks a JSON object (not an array, not null) such as `headers`. */
export function checkObject(
  value: unknown,
  field: string,
  context: string,
): Check<Record<string, unknown>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return err(
      envelopeError(field, "an object", describeValue(value), context),
    );
  }
  return ok(value as Record<string, unknown>);
}

/** Checks a route: exactly `prev`, `curr` and `next`, with non-empty actor names in the arrays. */
export function checkRoute(
  value: unknown,
  field: string,
  context: string,
): Check<Route> {
  const object = checkObject(value, field, context);
  if (!object.ok) return object;

  const allowed = ["prev", "curr", "next"];
  const unknown = Object.keys(object.value).find((key) =>
    !allowed.includes(key)
  );
  if (unknown !== undefined) {
    return err(unknownMemberError(`${field}.${unknown}`, allowed, context));
  }

  const prev = checkActorList(object.value.prev, `${field}.prev`, context);
  if (!prev.ok) return prev;
  const curr = object.value.curr;
  if (typeof curr !== "string") {
    return err(
      envelopeError(`${field}.curr`, "a string", describeValue(curr), context),
    );
  }
  const next = checkActorList(object.value.next, `${field}.next`, context);
  if (!next.ok) return next;
  return ok({ prev: prev.value, curr, next: next.value });
}

function checkActorList(
  value: unknown,
  field: string,
  context: string,
): Check<string[]> {
  if (!Array.isArray(value)) {
    return err(
      envelopeError(
        field,
        "an array of strings",
        describeValue(value),
        context,
      ),
    );
  }
  for (const [index, actor] of value.entries()) {
    if (typeof actor !== "string" || actor === "") {
      return err(
        envelopeError(
          `${field}[${index}]`,
          "a non-empty actor name",
          describeValue(actor),
          context,
        ),
      );
    }
  }
  return ok([...value]);
}

/** Checks `payload_ref`: exactly `uri` (s3://bucket/key), `bytes` and `sha256`. */
export function checkPayloadRef(
  value: unknown,
  field: string,
  context: string,
): Check<PayloadRef> {
  const object = checkObject(value, field, context);
  if (!object.ok) return object;

  const allowed = ["uri", "bytes", "sha256"];
  const unknown = Object.keys(object.value).find((key) =>
    !allowed.includes(key)
  );
  if (unknown !== undefined) {
    return err(unknownMemberError(`${field}.${unknown}`, allowed, context));
  }

  const { uri, bytes, sha256 } = object.value;
  if (typeof uri !== "string") {
    return err(
      envelopeError(
        `${field}.uri`,
        "an s3://bucket/key URI",
        describeValue(uri),
        context,
      ),
    );
  }
  const location = parseS3Uri(uri);
  if (!location.ok) {
    const error = envelopeError(
      `${field}.uri`,
      "an s3://bucket/key URI",
      describeValue(uri),
      context,
    );
    const reason = location.error.charAt(0).toLowerCase() +
      location.error.slice(1);
    return err({ ...error, message: `${context}: ${field}.uri: ${reason}` });
  }
  if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0) {
    return err(
      envelopeError(
        `${field}.bytes`,
        "a non-negative integer",
        describeNumber(bytes),
        context,
      ),
    );
  }
  if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256)) {
    return err(
      envelopeError(
        `${field}.sha256`,
        "64 lowercase hexadecimal digits",
        describeValue(sha256),
        context,
      ),
    );
  }
  return ok({ uri, bytes, sha256 });
}

/** Checks `status`: typed members are checked, other members are kept as they are. */
export function checkStatus(
  value: unknown,
  field: string,
  context: string,
): Check<EnvelopeStatus> {
  const object = checkObject(value, field, context);
  if (!object.ok) return object;
  const status = object.value as EnvelopeStatus;

  const phase = status.phase;
  if (
    phase !== undefined && !ENVELOPE_PHASES.includes(phase as EnvelopePhase)
  ) {
    return err(
      envelopeError(
        `${field}.phase`,
        `one of ${ENVELOPE_PHASES.join(", ")}`,
        describeValue(phase),
        context,
      ),
    );
  }
  for (const member of ["actor", "reason"] as const) {
    if (status[member] !== undefined && typeof status[member] !== "string") {
      return err(
        envelopeError(
          `${field}.${member}`,
          "a string",
          describeValue(status[member]),
          context,
        ),
      );
    }
  }
  const attempt = status.attempt;
  if (
    attempt !== undefined &&
    (typeof attempt !== "number" || !Number.isSafeInteger(attempt) ||
      attempt < 0)
  ) {
    return err(
      envelopeError(
        `${field}.attempt`,
        "a non-negative integer",
        describeNumber(attempt),
        context,
      ),
    );
  }
  for (const member of STATUS_TIMESTAMPS) {
    if (status[member] === undefined) continue;
    const timestamp = checkTimestamp(`${field}.${member}`, status[member]);
    if (!timestamp.ok) {
      return err(
        envelopeError(
          timestamp.error.field,
          timestamp.error.expected,
          timestamp.error.found,
          context,
        ),
      );
    }
  }
  return ok(status);
}

// Numbers are shown here because a wrong size or attempt count is not payload data.
function describeNumber(value: unknown): string {
  if (typeof value === "number" && Number.isFinite(value)) {
    return `number ${value}`;
  }
  return describeValue(value);
}
