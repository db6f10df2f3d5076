/**
 * Processing of one SQS message by an actor sidecar: parse, resolve the
 * claim check, check the deadline, call the handler, build the next
 * envelopes, offload large payloads, send, and only then delete.
 *
 * Failures of the envelope or the handler become `x-sump` envelopes and
 * the message is deleted. Transient failures (S3 or SQS still failing after
 * the SDK's retries) are thrown, so the caller leaves the message to come
 * back and, after enough receives, to reach the DLQ. Two outcomes tell the
 * caller to stop the sidecar: a handler timeout and a lost runtime.
 */
import {
  parseEnvelope,
  parseRuntimeFrames,
  serializeEnvelope,
} from "../shared/envelope.ts";
import { utf8ByteLength } from "../shared/claim-check.ts";
import { deadlineRemainingMs } from "../shared/deadline.ts";
import { actorQueueName, SUMP_ACTOR } from "../shared/queues.ts";
import type { ClaimChecks } from "./claim-check.ts";
import type { Logger } from "./log.ts";
import {
  incrementLabel,
  type Metrics,
  observeHandlerDuration,
} from "./metrics.ts";
import type { QueueClient, QueueMessage } from "./queue.ts";
import {
  expiredEnvelope,
  failedEnvelope,
  type FailureDetails,
  type FailureReason,
  type Outgoing,
  routeFrames,
  unknownActorEnvelope,
  unparseableEnvelope,
} from "./routing.ts";
import {
  type RuntimeClient,
  RuntimeTimeoutError,
  RuntimeUnavailableError,
} from "./runtime-client.ts";
import type { EnvelopeSigner } from "./signing.ts";

export interface ProcessDeps {
  actor: string;
  namespace: string;
  actorTimeoutMs: number;
  claimCheckThresholdBytes: number;
  queues: QueueClient;
  claimChecks: ClaimChecks;
  runtime: RuntimeClient;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** Verifies received and signs sent envelopes; undefined when signing is off. */
  signer?: EnvelopeSigner;
}

/**
 * Outcome of one message. `deleted`: fully routed. `handler-timeout`:
 * routed to `x-sump` and deleted, but the handler may still be running, so
 * the sidecar must exit. `runtime-lost`: not deleted because the runtime is
 * gone, so the sidecar must exit.
 */
export type ProcessOutcome =
  | { kind: "deleted" }
  | { kind: "handler-timeout" }
  | { kind: "runtime-lost"; error: RuntimeUnavailableError };

/** Decision for one message before anything is sent. */
type Decision =
  | {
    kind: "send";
    outgoing: Outgoing[];
    envelopeId: string;
    afterwards?: "handler-timeout";
  }
  | { kind: "runtime-lost"; error: RuntimeUnavailableError };

export async function processMessage(
  message: QueueMessage,
  sourceQueueUrl: string,
  deps: ProcessDeps,
): Promise<ProcessOutcome> {
  const started = deps.now();
  const decision = await decide(message, deps);
  if (decision.kind === "runtime-lost") return decision;

  const log = deps.log.with({
    envelope_id: decision.envelopeId,
    message_id: message.messageId,
  });
  const delivered = await deliver(decision.outgoing, deps, log);
  await deps.queues.delete(sourceQueueUrl, [message.receiptHandle]);

  const failures = delivered.filter((outgoing) =>
    outgoing.envelope.status?.phase === "failed"
  );
  for (const failure of failures) {
    incrementLabel(
      deps.metrics.failed,
      String(failure.envelope.status?.reason),
    );
  }
  if (failures.length === 0) deps.metrics.succeeded += 1;

  log.info("envelope_processed", {
    route_next: [...new Set(delivered.map((outgoing) => outgoing.destination))],
    frames: delivered.length,
    failed: failures.length,
    receive_count: message.receiveCount,
    duration_ms: deps.now() - started,
  });
  return decision.afterwards === "handler-timeout"
    ? { kind: "handler-timeout" }
    : { kind: "deleted" };
}

async function decide(
  message: QueueMessage,
  deps: ProcessDeps,
): Promise<Decision> {
  const { actor } = deps;
  const nowIso = () => new Date(deps.now()).toISOString();

  const parsed = parseEnvelope(message.body);
  if (!parsed.ok) {
    const details = {
      message: parsed.error.message,
      field: parsed.error.field,
    };
    const outgoing = unparseableEnvelope(
      message.body,
      message.messageId,
      actor,
      details,
      nowIso(),
    );
    deps.log.warn("envelope_invalid", {
      message_id: message.messageId,
      reason: "InvalidEnvelope",
      error: details.message,
    });
    return {
      kind: "send",
      outgoing: [outgoing],
      envelopeId: outgoing.envelope.id,
    };
  }

  const { envelope, payloadText } = parsed.value;
  const log = deps.log.with({
    envelope_id: envelope.id,
    message_id: message.messageId,
  });
  const fail = (
    reason: FailureReason,
    details: FailureDetails,
    afterwards?: "handler-timeout",
  ): Decision => {
    log.warn("envelope_failed", {
      reason,
      error: details.message,
      ...(details.type === undefined ? {} : { error_type: details.type }),
    });
    return {
      kind: "send",
      outgoing: [
        failedEnvelope(envelope, payloadText, actor, reason, details, nowIso()),
      ],
      envelopeId: envelope.id,
      afterwards,
    };
  };

  if (deps.signer !== undefined) {
    const verified = await deps.signer.verify(envelope, payloadText);
    if (!verified.ok) {
      return fail("InvalidSignature", {
        message: verified.error.message,
        field: verified.error.field,
      });
    }
  }

  if (envelope.route.curr !== actor) {
    return fail("InvalidEnvelope", {
      message:
        `Invalid envelope: route.curr must be ${
          JSON.stringify(actor)
        }, the actor of this queue, ` +
        `found ${JSON.stringify(envelope.route.curr)}`,
      field: "route.curr",
    });
  }

  const remaining = deadlineRemainingMs(envelope, deps.now());
  if (!remaining.ok) {
    return fail("InvalidEnvelope", {
      message: remaining.error.message,
      field: remaining.error.field,
    });
  }
  if (remaining.value <= 0) {
    log.warn("envelope_expired", {
      reason: "Timeout",
      deadline_at: envelope.status?.deadline_at,
    });
    return {
      kind: "send",
      outgoing: [expiredEnvelope(envelope, payloadText, actor, nowIso())],
      envelopeId: envelope.id,
    };
  }

  // Resolve the claim check into the payload text the handler gets.
  let resolvedText = payloadText;
  if (envelope.payload_ref !== undefined) {
    const resolved = await deps.claimChecks.resolve(envelope.payload_ref);
    if (!resolved.ok) {
      return fail("ClaimCheckError", {
        message: resolved.error,
        uri: envelope.payload_ref.uri,
      });
    }
    resolvedText = resolved.value;
  }
  const { payload_ref: _ref, ...inline } = envelope;
  const requestBody = serializeEnvelope(inline, resolvedText);

  const timeoutMs = Math.max(1, Math.min(deps.actorTimeoutMs, remaining.value));
  const callStarted = deps.now();
  log.debug("handler_called", {
    timeout_ms: timeoutMs,
    payload_bytes: utf8ByteLength(resolvedText ?? ""),
  });
  let response;
  try {
    response = await deps.runtime.invoke(requestBody, timeoutMs);
  } catch (error) {
    if (error instanceof RuntimeTimeoutError) {
      observeHandlerDuration(deps.metrics, (deps.now() - callStarted) / 1000);
      return fail("Timeout", {
        message:
          `handler of actor ${actor} did not finish within ${timeoutMs} ms`,
        timeout_ms: timeoutMs,
      }, "handler-timeout");
    }
    if (error instanceof RuntimeUnavailableError) {
      return { kind: "runtime-lost", error };
    }
    throw error;
  }
  observeHandlerDuration(deps.metrics, (deps.now() - callStarted) / 1000);

  // The handler returned None, or a generator that yielded nothing: the
  // envelope ends here, unchanged, so every envelope is still accounted for
  // in x-sink or x-sump.
  const endUnchanged: Decision = {
    kind: "send",
    outgoing: [{ destination: "x-sink", envelope, payloadText }],
    envelopeId: envelope.id,
  };

  switch (response.status) {
    case 200: {
      const frames = parseRuntimeFrames(response.body);
      if (!frames.ok) {
        return fail("RuntimeError", {
          message: frames.error.message,
          field: frames.error.field,
        });
      }
      if (frames.value.length === 0) return endUnchanged;
      const routed = routeFrames(envelope, frames.value, actor, nowIso());
      if (!routed.ok) return fail("RuntimeError", routed.error);
      return { kind: "send", outgoing: routed.value, envelopeId: envelope.id };
    }
    case 204:
      return endUnchanged;
    case 503:
      // The runtime is shutting down: the message stays in the queue and
      // comes back to this pod's replacement or another replica.
      return {
        kind: "runtime-lost",
        error: new RuntimeUnavailableError(
          "runtime returned HTTP 503 because it is stopping",
          "STOPPING",
        ),
      };
    case 400:
      return fail(
        "InvalidEnvelope",
        runtimeErrorDetails(response.body, "runtime rejected the envelope"),
      );
    case 500:
      return fail(
        "ProcessingError",
        runtimeErrorDetails(response.body, "handler raised an exception"),
      );
    default:
      return fail("RuntimeError", {
        message:
          `runtime returned HTTP ${response.status}, expected 200, 204, 400 or 500`,
        status: response.status,
      });
  }
}

/**
 * Resolves every destination queue, redirects envelopes for actors without
 * a queue to `x-sump`, offloads large payloads and sends everything,
 * grouped by queue. Returns what was sent. Throws when a send keeps failing
 * or the `x-sump` queue itself is missing.
 */
export async function deliver(
  outgoing: Outgoing[],
  deps: ProcessDeps,
  log: Logger,
): Promise<Outgoing[]> {
  const byQueue = new Map<string, { outgoing: Outgoing; body: string }[]>();
  const delivered: Outgoing[] = [];

  for (let item of outgoing) {
    let queueUrl = await queueUrlOf(item.destination, deps);
    if (queueUrl === undefined) {
      const queueName = queueNameOf(item.destination, deps.namespace);
      log.warn("envelope_failed", {
        reason: "UnknownActor",
        route_next: [item.destination],
        queue: queueName,
      });
      item = unknownActorEnvelope(
        item,
        deps.actor,
        queueName,
        new Date(deps.now()).toISOString(),
      );
      queueUrl = await queueUrlOf(SUMP_ACTOR, deps);
      if (queueUrl === undefined) {
        throw new Error(
          `queue ${
            queueNameOf(SUMP_ACTOR, deps.namespace)
          } of the x-sump end actor does not exist`,
        );
      }
    }

    const body = await serializeForQueue(item, deps);
    const group = byQueue.get(queueUrl) ?? [];
    group.push({ outgoing: item, body });
    byQueue.set(queueUrl, group);
    delivered.push(item);
  }

  for (const [queueUrl, group] of byQueue) {
    await deps.queues.send(queueUrl, group.map((entry) => entry.body));
    for (const entry of group) {
      incrementLabel(deps.metrics.routed, entry.outgoing.destination);
    }
  }
  return delivered;
}

/**
 * Serialises an outgoing envelope, moving its payload to S3 first when the
 * whole message is larger than the claim-check threshold, and signs it last
 * so the signature covers the reference. The message has no attributes, so
 * its size is the UTF-8 size of the body.
 */
async function serializeForQueue(
  item: Outgoing,
  deps: ProcessDeps,
): Promise<string> {
  let envelope = item.envelope;
  let payloadText = item.payloadText;
  if (deps.signer !== undefined) {
    envelope = await deps.signer.sign(envelope, payloadText);
  }

  const body = serializeEnvelope(envelope, payloadText);
  if (
    payloadText === undefined ||
    utf8ByteLength(body) <= deps.claimCheckThresholdBytes
  ) return body;

  const ref = await deps.claimChecks.offload(payloadText);
  envelope = { ...item.envelope, payload_ref: ref };
  payloadText = undefined;
  if (deps.signer !== undefined) {
    envelope = await deps.signer.sign(envelope, payloadText);
  }
  return serializeEnvelope(envelope);
}

async function queueUrlOf(
  actor: string,
  deps: ProcessDeps,
): Promise<string | undefined> {
  const name = actorQueueName(deps.namespace, actor);
  if (!name.ok) return undefined;
  return await deps.queues.queueUrl(name.value);
}

function queueNameOf(actor: string, namespace: string): string {
  const name = actorQueueName(namespace, actor);
  return name.ok ? name.value : name.error.queueName;
}

// The runtime's error bodies are small JSON documents about the failure,
// never payloads, so they are parsed with JSON.parse.
function runtimeErrorDetails(body: string, fallback: string): FailureDetails {
  try {
    const parsed = JSON.parse(body) as {
      error?: unknown;
      details?: Record<string, unknown>;
    };
    const details = parsed.details ?? {};
    const message = typeof details.message === "string"
      ? details.message
      : fallback;
    return { ...details, message, error: parsed.error };
  } catch {
    return { message: `${fallback}; the runtime's response is not JSON` };
  }
}
