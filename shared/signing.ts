/**
 * Envelope signatures: a detached JWS (RFC 7515 appendix F) with HS256 over
 * the canonical form of the envelope.
 *
 * Canonical form: the envelope without `sig`, with the inline payload body
 * replaced by its digest, as JSON with object members sorted by UTF-16 code
 * units at every level, no whitespace, and strings and numbers written as
 * `JSON.stringify` writes them. For envelopes this matches RFC 8785 (JCS).
 * An inline payload is covered through the added member `payload_sha256`,
 * the SHA-256 of the payload's UTF-8 source text as lowercase hex. A claim
 * check is covered through `payload_ref`, digest included. The signing input
 * therefore never contains the payload body itself.
 */
import { base64url, CompactSign, compactVerify, errors } from "jose";
import { sha256Hex } from "./claim-check.ts";
import {
  type Envelope,
  type EnvelopeError,
  envelopeError,
} from "./envelope-types.ts";
import { err, ok, type Result } from "./result.ts";

/** Minimum HS256 key size: 32 bytes, the SHA-256 output size (RFC 7518 section 3.2). */
export const MIN_SIGNING_KEY_BYTES = 32;

const ALGORITHM = "HS256";
const SIGNATURE_CONTEXT = "Invalid envelope signature";
const encoder = new TextEncoder();

/** Signing keys for verification: one key, or keys by `kid` during a rotation. */
export type VerificationKeys = Uint8Array | Record<string, Uint8Array>;

/** Options for `signEnvelope`. */
export interface SignOptions {
  /** Key id written to the JWS header, so receivers can pick the key. Default: none. */
  kid?: string;
}

/**
 * Writes a value as canonical JSON: members sorted by UTF-16 code units,
 * no whitespace. Members whose value is undefined are left out, as
 * `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  }
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Builds the canonical signing input of an envelope; see the module comment.
 * `payloadText` is the inline payload's source text, or undefined for a claim check.
 */
export async function canonicalEnvelope(
  envelope: Envelope,
  payloadText?: string,
): Promise<string> {
  const { sig: _sig, ...unsigned } = envelope;
  const covered: Record<string, unknown> = { ...unsigned };
  if (payloadText !== undefined) {
    covered.payload_sha256 = await sha256Hex(encoder.encode(payloadText));
  }
  return canonicalJson(covered);
}

/**
 * Returns a copy of the envelope with `sig` set to a detached compact JWS
 * (`header..signature`). Throws a TypeError when the key is shorter than
 * 32 bytes.
 */
export async function signEnvelope(
  envelope: Envelope,
  payloadText: string | undefined,
  key: Uint8Array,
  options: SignOptions = {},
): Promise<Envelope> {
  checkKeyLength(key, options.kid);
  const input = encoder.encode(await canonicalEnvelope(envelope, payloadText));
  const header = options.kid === undefined
    ? { alg: ALGORITHM }
    : { alg: ALGORITHM, kid: options.kid };
  const jws = await new CompactSign(input).setProtectedHeader(header).sign(key);

  const [protectedHeader, , signature] = jws.split(".");
  return { ...envelope, sig: `${protectedHeader}..${signature}` };
}

/**
 * Verifies the envelope's `sig` against its canonical form. `keys` is one
 * key, or keys by `kid` (the header's `kid` picks the key). Fails with an
 * error on field `sig` when the signature is missing, malformed, not HS256,
 * names an unknown key, or does not match, for example after the route or
 * payload was changed.
 */
export async function verifyEnvelope(
  envelope: Envelope,
  payloadText: string | undefined,
  keys: VerificationKeys,
): Promise<Result<void, EnvelopeError>> {
  const sig = envelope.sig;
  if (sig === undefined) {
    return err(signatureError("a detached JWS", "missing"));
  }

  const parts = sig.split(".");
  if (
    parts.length !== 3 || parts[0] === "" || parts[1] !== "" || parts[2] === ""
  ) {
    return err(
      signatureError(
        "a detached JWS of the form header..signature",
        "a malformed value",
      ),
    );
  }

  const header = decodeHeader(parts[0]);
  if (header === undefined) {
    return err(
      signatureError("a base64url JSON JWS header", "a malformed header"),
    );
  }
  if (header.alg !== ALGORITHM) {
    return err(
      signatureError(
        `algorithm ${ALGORITHM}`,
        `algorithm ${JSON.stringify(header.alg)}`,
      ),
    );
  }

  const key = selectKey(keys, header.kid);
  if (!key.ok) return key;

  const input = encoder.encode(await canonicalEnvelope(envelope, payloadText));
  const attached = `${parts[0]}.${base64url.encode(input)}.${parts[2]}`;
  try {
    await compactVerify(attached, key.value, { algorithms: [ALGORITHM] });
    return ok(undefined);
  } catch (caught) {
    if (caught instanceof errors.JWSSignatureVerificationFailed) {
      const error = signatureError(
        "a signature matching the envelope",
        "a mismatch",
      );
      const message =
        `${SIGNATURE_CONTEXT}: sig does not match the envelope, ` +
        "so the envelope changed after signing or it was signed with another key";
      return err({ ...error, message });
    }
    if (caught instanceof errors.JOSEError) {
      return err(signatureError("a valid detached JWS", caught.code));
    }
    throw caught;
  }
}

function checkKeyLength(key: Uint8Array, kid: string | undefined): void {
  if (key.length < MIN_SIGNING_KEY_BYTES) {
    const name = kid === undefined
      ? "signing key"
      : `signing key ${JSON.stringify(kid)}`;
    throw new TypeError(
      `Invalid ${name}: expected at least ${MIN_SIGNING_KEY_BYTES} bytes for ${ALGORITHM}, found ${key.length}`,
    );
  }
}

function decodeHeader(
  encoded: string,
): { alg?: unknown; kid?: unknown } | undefined {
  try {
    const header: unknown = JSON.parse(
      new TextDecoder().decode(base64url.decode(encoded)),
    );
    if (
      typeof header !== "object" || header === null || Array.isArray(header)
    ) return undefined;
    return header as { alg?: unknown; kid?: unknown };
  } catch {
    return undefined;
  }
}

function selectKey(
  keys: VerificationKeys,
  kid: unknown,
): Result<Uint8Array, EnvelopeError> {
  if (keys instanceof Uint8Array) return ok(keys);

  if (typeof kid !== "string") {
    return err(
      signatureError("a kid naming one of the configured keys", "no kid"),
    );
  }
  const key = Object.hasOwn(keys, kid) ? keys[kid] : undefined;
  if (key === undefined) {
    const known = Object.keys(keys).join(", ");
    return err(
      signatureError(`a kid among ${known}`, `kid ${JSON.stringify(kid)}`),
    );
  }
  return ok(key);
}

function signatureError(expected: string, found: string): EnvelopeError {
  return envelopeError("sig", expected, found, SIGNATURE_CONTEXT);
}
