/**
 * Claim checks: payloads too large for a queue message are stored in S3 under
 * a content-addressed key, and the envelope carries a `payload_ref` instead.
 */
import type { PayloadRef } from "./envelope-types.ts";
import { checkJsonText } from "./json.ts";
import { err, ok, type Result } from "./result.ts";

/** Default offload threshold: 256Ki bytes, the SQS message size limit before 2025. */
export const DEFAULT_CLAIM_CHECK_THRESHOLD = 262_144;

/** Bucket and key of an `s3://bucket/key` URI. */
export interface S3Location {
  bucket: string;
  key: string;
}

// S3 general purpose bucket naming rules: 3 to 63 characters of lowercase
// letters, digits, dots and hyphens, starting and ending with a letter or digit.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MAX_KEY_BYTES = 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const encoder = new TextEncoder();

/** Counts the bytes of a string encoded as UTF-8. */
export function utf8ByteLength(text: string): number {
  return encoder.encode(text).length;
}

/**
 * Splits `s3://bucket/key` into bucket and key. The bucket must follow the
 * S3 naming rules and the key must be 1 to 1024 UTF-8 bytes. The error
 * string names what was expected and what was found.
 */
export function parseS3Uri(uri: string): Result<S3Location, string> {
  const invalid = `Invalid S3 URI ${JSON.stringify(uri)}`;
  if (!uri.startsWith("s3://")) {
    return err(`${invalid}: expected s3://bucket/key`);
  }

  const rest = uri.slice("s3://".length);
  const slash = rest.indexOf("/");
  if (slash < 0 || slash === rest.length - 1) {
    return err(`${invalid}: expected s3://bucket/key, found no key`);
  }

  const bucket = rest.slice(0, slash);
  const key = rest.slice(slash + 1);
  if (!BUCKET_NAME.test(bucket) || bucket.includes("..")) {
    const quoted = JSON.stringify(bucket);
    return err(
      `${invalid}: bucket ${quoted} must be 3 to 63 characters of lowercase ` +
        "letters, digits, dots and hyphens, starting and ending with a letter or digit",
    );
  }
  const keyBytes = utf8ByteLength(key);
  if (keyBytes > MAX_KEY_BYTES) {
    return err(
      `${invalid}: key is ${keyBytes} bytes, S3 allows at most ${MAX_KEY_BYTES}`,
    );
  }
  return ok({ bucket, key });
}

/** Builds an `s3://bucket/key` URI. */
export function formatS3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** Returns the default key prefix for a namespace: `claims/{namespace}/`. */
export function defaultClaimCheckPrefix(namespace: string): string {
  return `claims/${namespace}/`;
}

/**
 * Builds the content-addressed key `{prefix}{sha256hex}`, so storing the
 * same payload twice writes the same object. Throws a TypeError when the
 * digest is not 64 lowercase hexadecimal digits.
 */
export function claimCheckKey(prefix: string, sha256hex: string): string {
  if (!SHA256_HEX.test(sha256hex)) {
    const quoted = JSON.stringify(sha256hex);
    throw new TypeError(
      `Invalid SHA-256 digest ${quoted}: expected 64 lowercase hexadecimal digits`,
    );
  }
  return `${prefix}${sha256hex}`;
}

/**
 * Checks that a claim check points inside the bucket and prefix this actor
 * reads from. Beyond a plain prefix match, the key must not escape the
 * prefix through a shorter sibling name (`claims/ns` matching
 * `claims/ns-other/x`), through `.` or `..` segments, empty segments or
 * backslashes, because some S3-compatible stores map keys to file paths.
 * The error string names the URI and the rule it breaks.
 */
export function checkRefAllowed(
  ref: PayloadRef,
  bucket: string,
  prefix: string,
): Result<S3Location, string> {
  const location = parseS3Uri(ref.uri);
  if (!location.ok) return location;

  const { key } = location.value;
  const rejected = `Claim check ${JSON.stringify(ref.uri)} rejected`;
  if (location.value.bucket !== bucket) {
    return err(`${rejected}: expected bucket ${JSON.stringify(bucket)}`);
  }

  const directory = prefix === "" || prefix.endsWith("/")
    ? prefix
    : `${prefix}/`;
  if (!key.startsWith(directory) || key.length === directory.length) {
    return err(
      `${rejected}: expected a key under ${JSON.stringify(directory)}`,
    );
  }

  const segments = key.split("/");
  if (
    key.includes("\\") ||
    segments.some((segment) =>
      segment === "" || segment === "." || segment === ".."
    )
  ) {
    return err(
      `${rejected}: key must not contain empty, "." or ".." segments or backslashes`,
    );
  }
  return ok(location.value);
}

/** Tells whether a claim check points inside `bucket` under `prefix`; see `checkRefAllowed`. */
export function isRefAllowed(
  ref: PayloadRef,
  bucket: string,
  prefix: string,
): boolean {
  return checkRefAllowed(ref, bucket, prefix).ok;
}

/**
 * Tells whether a serialised envelope must be offloaded: its UTF-8 size is
 * above `thresholdBytes` (default 256Ki). A size equal to the threshold stays inline.
 */
export function shouldOffload(
  serializedEnvelope: string,
  thresholdBytes = DEFAULT_CLAIM_CHECK_THRESHOLD,
): boolean {
  return utf8ByteLength(serializedEnvelope) > thresholdBytes;
}

/** Computes the SHA-256 of bytes as 64 lowercase hexadecimal digits. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** A payload ready to be stored: the object key, its body and the reference to send instead. */
export interface ClaimCheck {
  key: string;
  body: Uint8Array;
  ref: PayloadRef;
}

/**
 * Prepares a payload for offloading: encodes its JSON text as UTF-8, and
 * derives the content-addressed key and the `payload_ref` from its digest.
 */
export async function createClaimCheck(
  payloadText: string,
  bucket: string,
  prefix: string,
): Promise<ClaimCheck> {
  const body = encoder.encode(payloadText);
  const sha256 = await sha256Hex(body);
  const key = claimCheckKey(prefix, sha256);
  return {
    key,
    body,
    ref: { uri: formatS3Uri(bucket, key), bytes: body.length, sha256 },
  };
}

/**
 * Checks a fetched claim-check body against its reference (size, then
 * digest) and returns it as JSON text ready to splice back as the payload.
 * Fails naming the mismatch, invalid UTF-8 or malformed JSON.
 */
export async function checkClaimCheckBody(
  ref: PayloadRef,
  body: Uint8Array,
): Promise<Result<string, string>> {
  const failed = `Claim check ${JSON.stringify(ref.uri)} failed`;
  if (body.length !== ref.bytes) {
    return err(`${failed}: expected ${ref.bytes} bytes, found ${body.length}`);
  }
  const digest = await sha256Hex(body);
  if (digest !== ref.sha256) {
    return err(`${failed}: expected sha256 ${ref.sha256}, found ${digest}`);
  }

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      body,
    );
  } catch {
    return err(`${failed}: expected UTF-8 JSON text, found invalid UTF-8`);
  }
  const json = checkJsonText(text);
  if (!json.ok) {
    const { message } = json.error;
    return err(
      `${failed}: ${message.charAt(0).toLowerCase()}${message.slice(1)}`,
    );
  }
  return ok(text);
}
