/**
 * Claim checks against S3: resolving a `payload_ref` into payload text,
 * and storing a large payload under its content-addressed key.
 *
 * Keys are `{prefix}{sha256}`, so the same payload always maps to the same
 * object. The store remembers recently seen keys and checks S3 with HeadObject
 * before uploading, so a pass-through actor never uploads a payload again.
 */
import type { PayloadRef } from "../shared/envelope-types.ts";
import {
  checkClaimCheckBody,
  checkRefAllowed,
  createClaimCheck,
} from "../shared/claim-check.ts";
import { checkJsonText } from "../shared/json.ts";
import { err, ok, type Result } from "../shared/result.ts";
import type { Metrics } from "./metrics.ts";
import { ObjectNotFoundError, type ObjectStore } from "./object-store.ts";

/** Number of recently seen claim-check keys kept in memory. */
export const KNOWN_KEYS_LIMIT = 4096;

export interface ClaimChecks {
  /**
   * Fetches and checks the payload of a claim check. Returns an error for
   * permanent problems (outside the bucket or prefix, missing object, size
   * or digest mismatch, not JSON); throws on transient S3 failures so the
   * caller can leave the message to be retried.
   */
  resolve(ref: PayloadRef): Promise<Result<string, string>>;
  /** Stores payload text unless an object with the same key exists, and returns its reference. */
  offload(payloadText: string): Promise<PayloadRef>;
}

export function createClaimChecks(options: {
  store: ObjectStore;
  bucket: string;
  prefix: string;
  metrics: Metrics;
  knownKeysLimit?: number;
}): ClaimChecks {
  const { store, bucket, prefix, metrics } = options;
  const known = new RecentKeys(options.knownKeysLimit ?? KNOWN_KEYS_LIMIT);

  return {
    async resolve(ref) {
      const location = checkRefAllowed(ref, bucket, prefix);
      if (!location.ok) return location;

      let body: Uint8Array;
      try {
        body = await store.get(location.value.bucket, location.value.key);
      } catch (error) {
        if (error instanceof ObjectNotFoundError) {
          return err(
            `Claim check ${JSON.stringify(ref.uri)} failed: ${error.message}`,
          );
        }
        throw error;
      }
      metrics.claimCheckBytesDownloaded += body.byteLength;

      const text = await checkClaimCheckBody(ref, body);
      if (!text.ok) return text;
      const json = checkJsonText(text.value);
      if (!json.ok) {
        return err(
          `Claim check ${
            JSON.stringify(ref.uri)
          } failed: the object is not JSON: ${json.error.message}`,
        );
      }

      known.add(location.value.key);
      return ok(text.value);
    },

    async offload(payloadText) {
      const claim = await createClaimCheck(payloadText, bucket, prefix);
      if (known.has(claim.key)) return claim.ref;

      if (!await store.exists(bucket, claim.key)) {
        await store.put(bucket, claim.key, claim.body, "application/json");
        metrics.claimCheckBytesUploaded += claim.body.byteLength;
      }
      known.add(claim.key);
      return claim.ref;
    },
  };
}

/** Insertion-ordered set that drops its oldest key beyond `limit`. */
class RecentKeys {
  #keys = new Set<string>();
  constructor(readonly limit: number) {}

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  add(key: string): void {
    this.#keys.delete(key);
    this.#keys.add(key);
    if (this.#keys.size > this.limit) {
      const oldest = this.#keys.values().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
  }
}
