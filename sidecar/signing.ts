/**
 * Envelope signatures in the sidecar. When ASYA_SIGNING_KEY_FILE is set,
 * every received envelope is verified and every sent one is signed. The
 * format (a detached HS256 JWS over the canonical envelope) is defined in
 * shared/signing.ts.
 */
import { readFile } from "node:fs/promises";
import type { Envelope, EnvelopeError } from "../shared/envelope-types.ts";
import type { Result } from "../shared/result.ts";
import {
  MIN_SIGNING_KEY_BYTES,
  signEnvelope,
  verifyEnvelope,
} from "../shared/signing.ts";

export interface EnvelopeSigner {
  /** Checks `sig` of a received envelope; the payload is its inline text, or undefined for a claim check. */
  verify(
    envelope: Envelope,
    payloadText: string | undefined,
  ): Promise<Result<void, EnvelopeError>>;
  /** Returns the envelope with a fresh `sig`. */
  sign(envelope: Envelope, payloadText: string | undefined): Promise<Envelope>;
}

export function createEnvelopeSigner(
  key: Uint8Array,
  keyId?: string,
): EnvelopeSigner {
  const keys = keyId === undefined ? key : { [keyId]: key };
  return {
    verify: (envelope, payloadText) =>
      verifyEnvelope(envelope, payloadText, keys),
    sign: (envelope, payloadText) =>
      signEnvelope(envelope, payloadText, key, { kid: keyId }),
  };
}

/**
 * Reads the signing key: the file's bytes, without one trailing newline
 * (as `echo` and many secret tools add). Throws an Error naming the file
 * when it cannot be read or contains fewer than 32 bytes.
 */
export async function readSigningKey(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new Error(
      `invalid ASYA_SIGNING_KEY_FILE: cannot read ${
        JSON.stringify(path)
      } (${code})`,
    );
  }
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0a) {
    bytes = bytes.subarray(0, bytes.length - 1);
  }
  if (bytes.length < MIN_SIGNING_KEY_BYTES) {
    throw new Error(
      `invalid ASYA_SIGNING_KEY_FILE: expected at least ${MIN_SIGNING_KEY_BYTES} bytes of key in ` +
        `${JSON.stringify(path)} for HS256, found ${bytes.length}`,
    );
  }
  return bytes;
}
