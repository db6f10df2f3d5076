/**
 * Envelope parsing and serialisation. The payload stays exact JSON source
 * text from parse to serialise, so its bytes reach the next actor unchanged.
 * Route, deadline and type helpers are re-exported here so callers import
 * the envelope model from one module.
 */
import {
  checkNonEmptyString,
  checkObject,
  checkPayloadRef,
  checkRoute,
  checkStatus,
  unknownMemberError,
} from "./envelope-fields.ts";
import {
  type Envelope,
  type EnvelopeError,
  envelopeError,
  type Frame,
  type ParsedEnvelope,
} from "./envelope-types.ts";
import {
  checkJsonText,
  decodeUtf8,
  type JsonScanError,
  type RawMember,
  scanArrayElements,
  scanObjectMembers,
} from "./json.ts";
import { err, ok, type Result } from "./result.ts";

export * from "./envelope-types.ts";
export {
  checkRouteRewrite,
  checkShiftedRoute,
  fanOutId,
  isRouteDone,
  shiftRoute,
} from "./route.ts";
export {
  deadlineRemainingMs,
  isDeadlinePassed,
  parseRfc3339,
} from "./deadline.ts";

const ENVELOPE_CONTEXT = "Invalid envelope";
const RUNTIME_CONTEXT = "Invalid runtime response";
const ENVELOPE_MEMBERS = [
  "id",
  "parent_id",
  "route",
  "headers",
  "status",
  "payload",
  "payload_ref",
  "sig",
];
const FRAME_MEMBERS = ["payload", "route", "headers", "status"];

/**
 * Parses an envelope from UTF-8 bytes or a string. Returns the envelope
 * without its payload, plus `payloadText`, the payload's exact JSON source,
 * when the payload is inline. Fails on invalid UTF-8, malformed JSON, a
 * repeated or unknown member, or any member that breaks the wire format.
 * The error names the field, what was expected and what was found.
 */
export function parseEnvelope(
  input: string | Uint8Array,
): Result<ParsedEnvelope, EnvelopeError> {
  const text = decodeInput(input);
  if (!text.ok) return text;

  const members = scanObjectMembers(text.value);
  if (!members.ok) {
    return err(jsonError("envelope", members.error, ENVELOPE_CONTEXT));
  }

  const values = collectMembers(
    members.value,
    "",
    ENVELOPE_MEMBERS,
    ENVELOPE_CONTEXT,
  );
  if (!values.ok) return values;
  const { parsed, payloadText } = values.value;

  const id = checkNonEmptyString(parsed.id, "id", ENVELOPE_CONTEXT);
  if (!id.ok) return id;
  const envelope: Envelope = {
    id: id.value,
    route: { prev: [], curr: "", next: [] },
  };

  if (Object.hasOwn(parsed, "parent_id")) {
    const parentId = checkNonEmptyString(
      parsed.parent_id,
      "parent_id",
      ENVELOPE_CONTEXT,
    );
    if (!parentId.ok) return parentId;
    envelope.parent_id = parentId.value;
  }

  const route = checkRoute(parsed.route, "route", ENVELOPE_CONTEXT);
  if (!route.ok) return route;
  envelope.route = route.value;

  const rest = checkOptionalMembers(parsed, "", ENVELOPE_CONTEXT);
  if (!rest.ok) return rest;
  Object.assign(envelope, rest.value);

  const hasRef = Object.hasOwn(parsed, "payload_ref");
  if (payloadText !== undefined && hasRef) {
    return err(payloadChoiceError("both"));
  }
  if (payloadText === undefined && !hasRef) {
    return err(payloadChoiceError("neither"));
  }
  if (hasRef) {
    const ref = checkPayloadRef(
      parsed.payload_ref,
      "payload_ref",
      ENVELOPE_CONTEXT,
    );
    if (!ref.ok) return ref;
    envelope.payload_ref = ref.value;
  }

  if (Object.hasOwn(parsed, "sig")) {
    const sig = checkNonEmptyString(parsed.sig, "sig", ENVELOPE_CONTEXT);
    if (!sig.ok) return sig;
    envelope.sig = sig.value;
  }

  return ok(
    payloadText === undefined ? { envelope } : { envelope, payloadText },
  );
}

/**
 * Serialises an envelope as compact JSON, splicing `payloadText` in as the
 * `payload` member byte for byte. Members are written in the order id,
 * parent_id, route, headers, status, payload_ref, sig, payload.
 * Throws a TypeError when the envelope has both or neither of
 * `payload_ref` and `payloadText`, or when `payloadText` is not exactly one
 * JSON value. Check payload text from untrusted sources with `checkJsonText` first.
 */
export function serializeEnvelope(
  envelope: Envelope,
  payloadText?: string,
): string {
  const cannot = `Cannot serialise envelope ${JSON.stringify(envelope.id)}`;
  const hasRef = envelope.payload_ref !== undefined;
  if (hasRef === (payloadText !== undefined)) {
    const found = hasRef ? "both" : "neither";
    throw new TypeError(
      `${cannot}: expected exactly one of payload_ref and payload text, found ${found}`,
    );
  }
  if (payloadText !== undefined) {
    const checked = checkJsonText(payloadText);
    if (!checked.ok) {
      throw new TypeError(`${cannot}: payload: ${checked.error.message}`);
    }
  }

  const parts = [`"id":${JSON.stringify(envelope.id)}`];
  if (envelope.parent_id !== undefined) {
    parts.push(`"parent_id":${JSON.stringify(envelope.parent_id)}`);
  }
  parts.push(`"route":${JSON.stringify(envelope.route)}`);
  if (envelope.headers !== undefined) {
    parts.push(`"headers":${JSON.stringify(envelope.headers)}`);
  }
  if (envelope.status !== undefined) {
    parts.push(`"status":${JSON.stringify(envelope.status)}`);
  }
  if (envelope.payload_ref !== undefined) {
    parts.push(`"payload_ref":${JSON.stringify(envelope.payload_ref)}`);
  }
  if (envelope.sig !== undefined) {
    parts.push(`"sig":${JSON.stringify(envelope.sig)}`);
  }
  if (payloadText !== undefined) parts.push(`"payload":${payloadText}`);
  return `{${parts.join(",")}}`;
}

/**
 * Parses the body of the runtime's `200` response, `{"frames": [...]}`. Each
 * frame carries `payload` and `route` (already shifted), and optionally
 * `headers` and `status`; payloads are kept as exact source text.
 */
export function parseRuntimeFrames(
  body: string,
): Result<Frame[], EnvelopeError> {
  const members = scanObjectMembers(body);
  if (!members.ok) {
    return err(jsonError("body", members.error, RUNTIME_CONTEXT));
  }

  let framesMember: RawMember | undefined;
  for (const member of members.value) {
    if (member.key !== "frames") {
      return err(unknownMemberError(member.key, ["frames"], RUNTIME_CONTEXT));
    }
    framesMember = member;
  }
  if (framesMember === undefined) {
    return err(envelopeError("frames", "an array", "missing", RUNTIME_CONTEXT));
  }
  if (members.value.length > 1) {
    return err(duplicateError("frames", RUNTIME_CONTEXT));
  }

  const elements = scanArrayElements(framesMember.text);
  if (!elements.ok) {
    return err(
      envelopeError(
        "frames",
        "an array",
        elements.error.found,
        RUNTIME_CONTEXT,
      ),
    );
  }

  const frames: Frame[] = [];
  for (const [index, element] of elements.value.entries()) {
    const frame = parseFrame(element.text, `frames[${index}]`);
    if (!frame.ok) return frame;
    frames.push(frame.value);
  }
  return ok(frames);
}

function parseFrame(text: string, field: string): Result<Frame, EnvelopeError> {
  const members = scanObjectMembers(text);
  if (!members.ok) {
    return err(
      envelopeError(field, "an object", members.error.found, RUNTIME_CONTEXT),
    );
  }

  const values = collectMembers(
    members.value,
    `${field}.`,
    FRAME_MEMBERS,
    RUNTIME_CONTEXT,
  );
  if (!values.ok) return values;
  const { parsed, payloadText } = values.value;

  const route = checkRoute(parsed.route, `${field}.route`, RUNTIME_CONTEXT);
  if (!route.ok) return route;
  if (payloadText === undefined) {
    return err(
      envelopeError(
        `${field}.payload`,
        "a JSON value",
        "missing",
        RUNTIME_CONTEXT,
      ),
    );
  }

  const rest = checkOptionalMembers(parsed, `${field}.`, RUNTIME_CONTEXT);
  if (!rest.ok) return rest;
  return ok({ route: route.value, ...rest.value, payloadText });
}

function decodeInput(
  input: string | Uint8Array,
): Result<string, EnvelopeError> {
  if (typeof input === "string") {
    // Strip a byte order mark so strings and bytes parse alike.
    return ok(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
  }
  const decoded = decodeUtf8(input);
  if (decoded.ok) return decoded;
  return err(
    envelopeError(
      "envelope",
      "UTF-8 text",
      `invalid UTF-8 at byte ${decoded.error.offset}`,
      ENVELOPE_CONTEXT,
    ),
  );
}

/**
 * Parses every member except `payload` with `JSON.parse` and keeps the
 * payload as source text. Rejects repeated members, because parsers
 * disagree on which copy wins, and members not in `allowed`.
 */
function collectMembers(
  members: RawMember[],
  prefix: string,
  allowed: string[],
  context: string,
): Result<
  { parsed: Record<string, unknown>; payloadText?: string },
  EnvelopeError
> {
  const parsed: Record<string, unknown> = {};
  const seen = new Set<string>();
  let payloadText: string | undefined;

  for (const member of members) {
    if (!allowed.includes(member.key)) {
      return err(
        unknownMemberError(`${prefix}${member.key}`, allowed, context),
      );
    }
    if (seen.has(member.key)) {
      return err(duplicateError(`${prefix}${member.key}`, context));
    }
    seen.add(member.key);

    if (member.key === "payload") {
      payloadText = member.text;
    } else {
      parsed[member.key] = JSON.parse(member.text);
    }
  }
  return ok({ parsed, payloadText });
}

function checkOptionalMembers(
  parsed: Record<string, unknown>,
  prefix: string,
  context: string,
): Result<Pick<Envelope, "headers" | "status">, EnvelopeError> {
  const result: Pick<Envelope, "headers" | "status"> = {};
  if (Object.hasOwn(parsed, "headers")) {
    const headers = checkObject(parsed.headers, `${prefix}headers`, context);
    if (!headers.ok) return headers;
    result.headers = headers.value;
  }
  if (Object.hasOwn(parsed, "status")) {
    const status = checkStatus(parsed.status, `${prefix}status`, context);
    if (!status.ok) return status;
    result.status = status.value;
  }
  return ok(result);
}

function jsonError(
  field: string,
  error: JsonScanError,
  context: string,
): EnvelopeError {
  if (error.reason === "type") {
    return envelopeError(field, "a JSON object", error.found, context);
  }
  const base = envelopeError(field, error.expected, error.found, context);
  return { ...base, message: `${context}: ${lowerFirst(error.message)}` };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function duplicateError(field: string, context: string): EnvelopeError {
  return {
    field,
    expected: "one occurrence",
    found: "a repeated member",
    message:
      `${context}: ${field} appears more than once, expected one occurrence`,
  };
}

function payloadChoiceError(found: "both" | "neither"): EnvelopeError {
  const expected = "exactly one of payload and payload_ref";
  return {
    field: "payload",
    expected,
    found,
    message: `${ENVELOPE_CONTEXT}: expected ${expected}, found ${found}`,
  };
}
