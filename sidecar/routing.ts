/**
 * Routing decisions for one envelope, as pure functions: which actor gets
 * each outgoing envelope and what its id, route and status are. No I/O
 * here; process.ts sends what these functions return.
 */
import type {
  Envelope,
  EnvelopeStatus,
  Frame,
} from "../shared/envelope-types.ts";
import { SINK_ACTOR, SUMP_ACTOR } from "../shared/queues.ts";
import { err, ok, type Result } from "../shared/result.ts";
import { checkShiftedRoute, fanOutId } from "../shared/route.ts";

/** Values of `status.reason` that the sidecar sets when an envelope fails. */
export type FailureReason =
  | "ProcessingError"
  | "InvalidEnvelope"
  | "Timeout"
  | "UnknownActor"
  | "ClaimCheckError"
  | "InvalidSignature"
  | "RuntimeError";

/** Details stored in `status.error` of a failed envelope. */
export interface FailureDetails {
  message: string;
  [key: string]: unknown;
}

/**
 * One envelope to send. Exactly one of `payloadText` (inline payload, exact
 * JSON text) or `envelope.payload_ref` is set, except for envelopes that
 * had neither.
 */
export interface Outgoing {
  /** Actor whose queue receives the envelope. */
  destination: string;
  envelope: Envelope;
  payloadText?: string;
}

/** Returns the actor that receives an envelope with this route: `route.curr`, or `x-sink` when the route is done. */
export function destinationOf(route: { curr: string }): string {
  return route.curr === "" ? SINK_ACTOR : route.curr;
}

/**
 * Builds the next envelope for every frame the runtime returned. Frame 0
 * keeps the envelope id; frame i > 0 gets `{id}-{i}` with `parent_id`.
 * `status.deadline_at` and `status.created_at` always come from the
 * incoming envelope, so a handler cannot extend a deadline. Fails with a
 * `RuntimeError` when a frame's route is not the incoming route shifted.
 */
export function routeFrames(
  envelope: Envelope,
  frames: Frame[],
  actor: string,
  nowIso: string,
): Result<Outgoing[], FailureDetails> {
  const outgoing: Outgoing[] = [];
  for (const [index, frame] of frames.entries()) {
    const checked = checkShiftedRoute(envelope.route, frame.route);
    if (!checked.ok) {
      return err({
        message: checked.error.message,
        field: checked.error.field,
        frame: index,
      });
    }

    const destination = destinationOf(frame.route);
    const next: Envelope = {
      ...fanOutId(envelope.id, index),
      route: frame.route,
      headers: frame.headers ?? envelope.headers,
      status: nextStatus(envelope.status, frame.status, {
        phase: destination === SINK_ACTOR ? "succeeded" : "pending",
        actor,
        updated_at: nowIso,
      }),
    };
    if (index === 0 && envelope.parent_id !== undefined) {
      next.parent_id = envelope.parent_id;
    }
    if (next.headers === undefined) delete next.headers;
    outgoing.push({
      destination,
      envelope: next,
      payloadText: frame.payloadText,
    });
  }
  return ok(outgoing);
}

/**
 * Builds the `x-sump` envelope for a failure: the envelope as it arrived
 * (payload or payload_ref unchanged), with `status.phase = "failed"`,
 * `status.reason`, `status.error` and the actor that failed it.
 */
export function failedEnvelope(
  envelope: Envelope,
  payloadText: string | undefined,
  actor: string,
  reason: FailureReason,
  details: FailureDetails,
  nowIso: string,
): Outgoing {
  return {
    destination: SUMP_ACTOR,
    envelope: {
      ...envelope,
      status: {
        ...envelope.status,
        phase: "failed",
        reason,
        error: details,
        actor,
        updated_at: nowIso,
      },
    },
    payloadText,
  };
}

/**
 * Builds the envelope for a passed `status.deadline_at`: it goes to
 * `x-sink` (the pipeline is over for it) with `phase = "failed"` and
 * `reason = "Timeout"`, and the handler is not called.
 */
export function expiredEnvelope(
  envelope: Envelope,
  payloadText: string | undefined,
  actor: string,
  nowIso: string,
): Outgoing {
  const deadline = String(envelope.status?.deadline_at);
  const failed = failedEnvelope(envelope, payloadText, actor, "Timeout", {
    message:
      `deadline ${deadline} passed before actor ${actor} called its handler`,
  }, nowIso);
  return { ...failed, destination: SINK_ACTOR };
}

/**
 * Wraps a message body that is not a valid envelope, so `x-sump` keeps it
 * whole: the body becomes the payload as one JSON string. The id is the
 * body's own `id` when it has a usable one, else the SQS message id.
 */
export function unparseableEnvelope(
  body: string,
  messageId: string,
  actor: string,
  details: FailureDetails,
  nowIso: string,
): Outgoing {
  return {
    destination: SUMP_ACTOR,
    envelope: {
      id: idOfBody(body) ?? messageId,
      route: { prev: [], curr: SUMP_ACTOR, next: [] },
      status: {
        phase: "failed",
        reason: "InvalidEnvelope",
        error: details,
        actor,
        updated_at: nowIso,
      },
    },
    payloadText: JSON.stringify(body),
  };
}

/** Redirects an outgoing envelope whose destination queue does not exist to `x-sump`. */
export function unknownActorEnvelope(
  outgoing: Outgoing,
  actor: string,
  queueName: string,
  nowIso: string,
): Outgoing {
  return failedEnvelope(
    outgoing.envelope,
    outgoing.payloadText,
    actor,
    "UnknownActor",
    {
      message:
        `actor "${outgoing.destination}" has no queue: ${queueName} does not exist`,
      actor: outgoing.destination,
      queue: queueName,
    },
    nowIso,
  );
}

function nextStatus(
  incoming: EnvelopeStatus | undefined,
  returned: EnvelopeStatus | undefined,
  update: EnvelopeStatus,
): EnvelopeStatus {
  const status: EnvelopeStatus = { ...(returned ?? incoming), ...update };
  delete status.reason;
  delete status.error;
  for (const key of ["created_at", "deadline_at"] as const) {
    if (incoming?.[key] !== undefined) status[key] = incoming[key];
    else delete status[key];
  }
  return status;
}

// Only the id is read from a rejected body; its payload stays untouched text.
function idOfBody(body: string): string | undefined {
  try {
    const value = JSON.parse(body) as { id?: unknown };
    if (
      typeof value?.id === "string" && value.id !== "" && value.id.length <= 256
    ) return value.id;
  } catch {
    // Not JSON at all: the SQS message id names it.
  }
  return undefined;
}
