/**
 * Envelope wire types and the error every envelope check returns.
 * The payload body is not part of `Envelope`: it travels beside it as exact
 * JSON source text, so its bytes never pass through `JSON.parse`.
 */

/** Actors already visited, the actor holding the envelope, and those still to come. */
export interface Route {
  prev: string[];
  /** Actor now holding the envelope; `""` once the route is done. */
  curr: string;
  next: string[];
}

/** Claim check: where a large payload is stored, its size and digest. */
export interface PayloadRef {
  /** `s3://bucket/key`. */
  uri: string;
  /** Payload size in bytes of UTF-8 JSON text. */
  bytes: number;
  /** SHA-256 of those bytes, 64 lowercase hexadecimal digits. */
  sha256: string;
}

export const ENVELOPE_PHASES = [
  "pending",
  "running",
  "succeeded",
  "failed",
] as const;

/** Lifecycle phase of an envelope. */
export type EnvelopePhase = typeof ENVELOPE_PHASES[number];

/**
 * Processing state. The listed members are type-checked; other members are
 * kept as parsed JSON so tools may add their own.
 */
export interface EnvelopeStatus {
  phase?: EnvelopePhase;
  /** Actor that last set the status. */
  actor?: string;
  /** Delivery attempt, a non-negative integer. */
  attempt?: number;
  /** RFC 3339 timestamps. */
  created_at?: string;
  updated_at?: string;
  /** Past this instant the envelope fails with reason `Timeout` instead of reaching the handler. */
  deadline_at?: string;
  /** Failure reason such as `ProcessingError` or `Timeout`. */
  reason?: string;
  /** Failure details, any JSON. */
  error?: unknown;
  [member: string]: unknown;
}

/** An envelope without its payload body; see `ParsedEnvelope` for the body. */
export interface Envelope {
  id: string;
  /** Id of the envelope this one was fanned out from. */
  parent_id?: string;
  route: Route;
  /** User and trace metadata, for example `traceparent`. */
  headers?: Record<string, unknown>;
  status?: EnvelopeStatus;
  /** Set instead of an inline payload when the payload is stored in S3. */
  payload_ref?: PayloadRef;
  /** Detached JWS over the canonical envelope. */
  sig?: string;
}

/** A parsed envelope and, when the payload is inline, its exact JSON source text. */
export interface ParsedEnvelope {
  envelope: Envelope;
  payloadText?: string;
}

/** One result the runtime returned for an envelope, with its route already shifted. */
export interface Frame {
  route: Route;
  headers?: Record<string, unknown>;
  status?: EnvelopeStatus;
  payloadText: string;
}

/**
 * A rejected envelope, runtime response or route change. `field` is a path
 * such as `route.next[2]`, or `envelope` for the document as a whole.
 */
export interface EnvelopeError {
  field: string;
  expected: string;
  found: string;
  message: string;
}

/**
 * Builds an error whose message reads
 * `{context}: {field} must be {expected}, found {found}`, or
 * `{context}: {field} is missing, expected {expected}` when found is `missing`.
 */
export function envelopeError(
  field: string,
  expected: string,
  found: string,
  context = "Invalid envelope",
): EnvelopeError {
  const message = found === "missing"
    ? `${context}: ${field} is missing, expected ${expected}`
    : `${context}: ${field} must be ${expected}, found ${found}`;
  return { field, expected, found, message };
}

const MAX_QUOTED_LENGTH = 40;

/**
 * Describes a parsed JSON value for a message: its type, for strings the
 * quoted value cut to 40 characters, and `missing` for undefined.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "string") {
    if (value === "") return "empty string";
    const quoted = value.length > MAX_QUOTED_LENGTH
      ? `${value.slice(0, MAX_QUOTED_LENGTH)}...`
      : value;
    return `string ${JSON.stringify(quoted)}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    return "non-finite number";
  }
  return typeof value;
}
