/**
 * End actors: `x-sink` stores each finished envelope at
 * `s3://{bucket}/results/{namespace}/{id}.json`, `x-sump` stores each failed
 * one at `s3://{bucket}/errors/{namespace}/{id}.json`. Claim checks are
 * resolved first, so the stored document has the whole payload inline.
 * No runtime is involved.
 *
 * A body that is not a valid envelope is stored under `errors/` in both
 * roles, wrapped as a failed envelope that keeps the body whole. A claim
 * check outside the bucket or prefix is never read. When a claim check
 * cannot be resolved (rejected, missing, wrong digest), the sink stores the
 * envelope under `errors/` with `reason = ClaimCheckError`, and the sump
 * stores it as it arrived. Both keep the reference. Transient S3 or SQS failures are thrown, so the
 * message is not deleted and comes back.
 */
import { parseEnvelope, serializeEnvelope } from "../shared/envelope.ts";
import type { ClaimChecks } from "./claim-check.ts";
import type { Logger } from "./log.ts";
import { incrementLabel, type Metrics } from "./metrics.ts";
import type { ObjectStore } from "./object-store.ts";
import type { QueueClient, QueueMessage } from "./queue.ts";
import {
  failedEnvelope,
  type Outgoing,
  unparseableEnvelope,
} from "./routing.ts";
import type { EnvelopeSigner } from "./signing.ts";

export interface EndActorDeps {
  role: "sink" | "sump";
  actor: string;
  namespace: string;
  bucket: string;
  store: ObjectStore;
  claimChecks: ClaimChecks;
  queues: QueueClient;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** When set, the sink stores envelopes with an invalid `sig` under `errors/`; the sump stores every envelope. */
  signer?: EnvelopeSigner;
}

/** Object key of a stored envelope: `{results|errors}/{namespace}/{id}.json`, the id percent-encoded where S3 keys need it. */
export function endActorKey(
  folder: "results" | "errors",
  namespace: string,
  id: string,
): string {
  return `${folder}/${namespace}/${encodeURIComponent(id)}.json`;
}

/** Stores one message's envelope in S3, then deletes the message. */
export async function storeEndMessage(
  message: QueueMessage,
  sourceQueueUrl: string,
  deps: EndActorDeps,
): Promise<void> {
  const started = deps.now();
  const nowIso = new Date(started).toISOString();
  const stored = await prepare(message, deps, nowIso);

  const folder = deps.role === "sink" && !stored.failedHere
    ? "results"
    : "errors";
  const key = endActorKey(folder, deps.namespace, stored.item.envelope.id);
  const document = serializeEnvelope(
    stored.item.envelope,
    stored.item.payloadText,
  );
  await deps.store.put(
    deps.bucket,
    key,
    new TextEncoder().encode(document),
    "application/json",
  );
  await deps.queues.delete(sourceQueueUrl, [message.receiptHandle]);

  const status = stored.item.envelope.status;
  if (status?.phase === "failed") {
    incrementLabel(deps.metrics.failed, String(status.reason ?? "Unknown"));
  } else deps.metrics.succeeded += 1;

  deps.log.info("envelope_stored", {
    envelope_id: stored.item.envelope.id,
    message_id: message.messageId,
    key,
    reason: status?.reason,
    duration_ms: deps.now() - started,
  });
}

async function prepare(
  message: QueueMessage,
  deps: EndActorDeps,
  nowIso: string,
): Promise<{ item: Outgoing; failedHere: boolean }> {
  const parsed = parseEnvelope(message.body);
  if (!parsed.ok) {
    deps.log.warn("envelope_invalid", {
      message_id: message.messageId,
      reason: "InvalidEnvelope",
      error: parsed.error.message,
    });
    const details = {
      message: parsed.error.message,
      field: parsed.error.field,
    };
    return {
      item: unparseableEnvelope(
        message.body,
        message.messageId,
        deps.actor,
        details,
        nowIso,
      ),
      failedHere: true,
    };
  }

  const { envelope, payloadText } = parsed.value;
  if (deps.signer !== undefined && deps.role === "sink") {
    const verified = await deps.signer.verify(envelope, payloadText);
    if (!verified.ok) {
      deps.log.warn("envelope_failed", {
        envelope_id: envelope.id,
        reason: "InvalidSignature",
        error: verified.error.message,
      });
      const details = {
        message: verified.error.message,
        field: verified.error.field,
      };
      return {
        item: failedEnvelope(
          envelope,
          payloadText,
          deps.actor,
          "InvalidSignature",
          details,
          nowIso,
        ),
        failedHere: true,
      };
    }
  }

  if (envelope.payload_ref === undefined) {
    return {
      item: { destination: deps.actor, envelope, payloadText },
      failedHere: false,
    };
  }

  const resolved = await deps.claimChecks.resolve(envelope.payload_ref);
  if (!resolved.ok && deps.role === "sump") {
    // The sump keeps a failure exactly as it arrived, reference included.
    deps.log.warn("claim_check_unresolved", {
      envelope_id: envelope.id,
      error: resolved.error,
    });
    return { item: { destination: deps.actor, envelope }, failedHere: false };
  }
  if (!resolved.ok) {
    deps.log.warn("envelope_failed", {
      envelope_id: envelope.id,
      reason: "ClaimCheckError",
      error: resolved.error,
    });
    const previous = envelope.status?.reason === undefined ? {} : {
      previous_reason: envelope.status.reason,
      previous_error: envelope.status.error,
    };
    const item = failedEnvelope(
      envelope,
      undefined,
      deps.actor,
      "ClaimCheckError",
      {
        message: resolved.error,
        uri: envelope.payload_ref.uri,
        ...previous,
      },
      nowIso,
    );
    return { item, failedHere: true };
  }

  const { payload_ref: _ref, ...inline } = envelope;
  return {
    item: {
      destination: deps.actor,
      envelope: inline,
      payloadText: resolved.value,
    },
    failedHere: false,
  };
}
