import { describe, expect, it } from "vitest";
import {
  type Envelope,
  parseEnvelope,
  serializeEnvelope,
} from "../../shared/envelope.ts";

const ROUTE = '{"prev":["a"],"curr":"b","next":["c","d"]}';
const SHA = "0".repeat(63) + "f";
const REF =
  `{"uri":"s3://asya-claims/claims/ns/${SHA}","bytes":300000,"sha256":"${SHA}"}`;

/** Builds envelope text from member source snippets, in the given order. */
function envelopeText(members: Record<string, string>): string {
  return `{${
    Object.entries(members).map(([key, text]) =>
      `${JSON.stringify(key)}:${text}`
    ).join(",")
  }}`;
}

function base(overrides: Record<string, string | undefined> = {}): string {
  const members: Record<string, string> = {};
  const merged = {
    id: '"env-1"',
    route: ROUTE,
    payload: '{"text":"hi"}',
    ...overrides,
  };
  for (const [key, text] of Object.entries(merged)) {
    if (text !== undefined) members[key] = text;
  }
  return envelopeText(members);
}

function parseError(text: string | Uint8Array) {
  const result = parseEnvelope(text);
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error("expected a parse error");
  return result.error;
}

describe("parseEnvelope", () => {
  it("parses a minimal envelope", () => {
    const result = parseEnvelope(base());
    expect(result).toEqual({
      ok: true,
      value: {
        envelope: {
          id: "env-1",
          route: { prev: ["a"], curr: "b", next: ["c", "d"] },
        },
        payloadText: '{"text":"hi"}',
      },
    });
  });

  it("parses every optional member", () => {
    const text = base({
      parent_id: '"env-0"',
      headers: '{"traceparent":"00-abc-def-01","n":1}',
      status:
        '{"phase":"running","actor":"b","attempt":2,"created_at":"2026-01-01T00:00:00Z",' +
        '"updated_at":"2026-01-01T00:00:01.5+01:00","deadline_at":"2026-01-01T01:00:00Z","custom":[1]}',
      sig: '"eyJhbGciOiJIUzI1NiJ9..c2ln"',
    });
    const result = parseEnvelope(text);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { envelope } = result.value;
    expect(envelope.parent_id).toBe("env-0");
    expect(envelope.headers).toEqual({ traceparent: "00-abc-def-01", n: 1 });
    expect(envelope.status?.phase).toBe("running");
    expect(envelope.status?.attempt).toBe(2);
    expect(envelope.status?.custom).toEqual([1]);
    expect(envelope.sig).toBe("eyJhbGciOiJIUzI1NiJ9..c2ln");
  });

  it("parses a claim-check envelope", () => {
    const result = parseEnvelope(
      base({ payload: undefined, payload_ref: REF }),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.payloadText).toBeUndefined();
    expect(result.value.envelope.payload_ref).toEqual({
      uri: `s3://asya-claims/claims/ns/${SHA}`,
      bytes: 300000,
      sha256: SHA,
    });
  });

  it("parses UTF-8 bytes like the string", () => {
    const text = base({ payload: '"héllo 😀"' });
    expect(parseEnvelope(new TextEncoder().encode(text))).toEqual(
      parseEnvelope(text),
    );
  });

  it("accepts a byte order mark in strings and bytes", () => {
    const text = base();
    const bytes = new Uint8Array([
      0xef,
      0xbb,
      0xbf,
      ...new TextEncoder().encode(text),
    ]);
    expect(parseEnvelope(`\ufeff${text}`)).toEqual(parseEnvelope(text));
    expect(parseEnvelope(bytes)).toEqual(parseEnvelope(text));
  });

  it("keeps headers as parsed values", () => {
    // Only the payload keeps its source text; header numbers go through JSON.parse.
    const result = parseEnvelope(
      base({ headers: '{"n":-0,"big":12345678901234567890}' }),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.is(result.value.envelope.headers?.n, -0)).toBe(true);
    expect(serializeEnvelope(result.value.envelope, result.value.payloadText))
      .toContain(
        '"headers":{"n":0,"big":12345678901234567000}',
      );
  });

  it("keeps payload source text exactly", () => {
    const payloads = [
      "12345678901234567890123456789",
      "1.0",
      "-0",
      "1e400",
      "0.30000000000000000000000000001",
      '"\\u00e9\\n\\ud83d\\ude00"',
      '"é 😀"',
      '{ "a" : [ 1 , 2.50 ] }',
      "null",
      "[]",
    ];
    for (const payload of payloads) {
      const result = parseEnvelope(base({ payload }));
      expect(result.ok, payload).toBe(true);
      if (result.ok) expect(result.value.payloadText).toBe(payload);
    }
  });
});

describe("parseEnvelope errors", () => {
  const cases: Array<[string, string | Uint8Array, string, string]> = [
    // [name, input, field, message]
    [
      "missing route",
      base({ route: undefined }),
      "route",
      "Invalid envelope: route is missing, expected an object",
    ],
    [
      "route not an object",
      base({ route: "[]" }),
      "route",
      "Invalid envelope: route must be an object, found array",
    ],
    [
      "route.next not an array",
      base({ route: '{"prev":[],"curr":"a","next":5}' }),
      "route.next",
      "Invalid envelope: route.next must be an array of strings, found number",
    ],
    [
      "route.next with a number",
      base({ route: '{"prev":[],"curr":"a","next":["b",7]}' }),
      "route.next[1]",
      "Invalid envelope: route.next[1] must be a non-empty actor name, found number",
    ],
    [
      "route.next with an empty name",
      base({ route: '{"prev":[],"curr":"a","next":[""]}' }),
      "route.next[0]",
      "Invalid envelope: route.next[0] must be a non-empty actor name, found empty string",
    ],
    [
      "route.prev missing",
      base({ route: '{"curr":"a","next":[]}' }),
      "route.prev",
      "Invalid envelope: route.prev is missing, expected an array of strings",
    ],
    [
      "route.curr not a string",
      base({ route: '{"prev":[],"curr":null,"next":[]}' }),
      "route.curr",
      "Invalid envelope: route.curr must be a string, found null",
    ],
    [
      "route.curr missing",
      base({ route: '{"prev":[],"next":[]}' }),
      "route.curr",
      "Invalid envelope: route.curr is missing, expected a string",
    ],
    [
      "unknown route member",
      base({ route: '{"prev":[],"curr":"a","next":[],"actors":[]}' }),
      "route.actors",
      "Invalid envelope: route.actors is not a known member, expected one of prev, curr, next",
    ],
    [
      "both payload and payload_ref",
      base({ payload_ref: REF }),
      "payload",
      "Invalid envelope: expected exactly one of payload and payload_ref, found both",
    ],
    [
      "neither payload nor payload_ref",
      base({ payload: undefined }),
      "payload",
      "Invalid envelope: expected exactly one of payload and payload_ref, found neither",
    ],
    [
      "payload_ref not an object",
      base({ payload: undefined, payload_ref: '"s3://b/k"' }),
      "payload_ref",
      'Invalid envelope: payload_ref must be an object, found string "s3://b/k"',
    ],
    [
      "payload_ref with an http uri",
      base({
        payload: undefined,
        payload_ref: `{"uri":"https://x/y","bytes":1,"sha256":"${SHA}"}`,
      }),
      "payload_ref.uri",
      'Invalid envelope: payload_ref.uri: invalid S3 URI "https://x/y": expected s3://bucket/key',
    ],
    [
      "payload_ref without a key",
      base({
        payload: undefined,
        payload_ref: `{"uri":"s3://bucket/","bytes":1,"sha256":"${SHA}"}`,
      }),
      "payload_ref.uri",
      'Invalid envelope: payload_ref.uri: invalid S3 URI "s3://bucket/": expected s3://bucket/key, found no key',
    ],
    [
      "payload_ref uri missing",
      base({
        payload: undefined,
        payload_ref: `{"bytes":1,"sha256":"${SHA}"}`,
      }),
      "payload_ref.uri",
      "Invalid envelope: payload_ref.uri is missing, expected an s3://bucket/key URI",
    ],
    [
      "payload_ref with negative bytes",
      base({
        payload: undefined,
        payload_ref: `{"uri":"s3://bkt/k","bytes":-1,"sha256":"${SHA}"}`,
      }),
      "payload_ref.bytes",
      "Invalid envelope: payload_ref.bytes must be a non-negative integer, found number -1",
    ],
    [
      "payload_ref with fractional bytes",
      base({
        payload: undefined,
        payload_ref: `{"uri":"s3://bkt/k","bytes":1.5,"sha256":"${SHA}"}`,
      }),
      "payload_ref.bytes",
      "Invalid envelope: payload_ref.bytes must be a non-negative integer, found number 1.5",
    ],
    [
      "payload_ref with bytes as a string",
      base({
        payload: undefined,
        payload_ref: `{"uri":"s3://bkt/k","bytes":"10","sha256":"${SHA}"}`,
      }),
      "payload_ref.bytes",
      'Invalid envelope: payload_ref.bytes must be a non-negative integer, found string "10"',
    ],
    [
      "payload_ref with uppercase sha256",
      base({
        payload: undefined,
        payload_ref:
          `{"uri":"s3://bkt/k","bytes":1,"sha256":"${SHA.toUpperCase()}"}`,
      }),
      "payload_ref.sha256",
      `Invalid envelope: payload_ref.sha256 must be 64 lowercase hexadecimal digits, found string "${
        SHA.toUpperCase().slice(0, 40)
      }..."`,
    ],
    [
      "payload_ref with a short sha256",
      base({
        payload: undefined,
        payload_ref: '{"uri":"s3://bkt/k","bytes":1,"sha256":"abc"}',
      }),
      "payload_ref.sha256",
      'Invalid envelope: payload_ref.sha256 must be 64 lowercase hexadecimal digits, found string "abc"',
    ],
    [
      "payload_ref with an extra member",
      base({
        payload: undefined,
        payload_ref:
          `{"uri":"s3://bkt/k","bytes":1,"sha256":"${SHA}","etag":"x"}`,
      }),
      "payload_ref.etag",
      "Invalid envelope: payload_ref.etag is not a known member, expected one of uri, bytes, sha256",
    ],
    [
      "headers as an array",
      base({ headers: "[]" }),
      "headers",
      "Invalid envelope: headers must be an object, found array",
    ],
    [
      "headers as null",
      base({ headers: "null" }),
      "headers",
      "Invalid envelope: headers must be an object, found null",
    ],
    [
      "id as a number",
      base({ id: "42" }),
      "id",
      "Invalid envelope: id must be a non-empty string, found number",
    ],
    [
      "id missing",
      base({ id: undefined }),
      "id",
      "Invalid envelope: id is missing, expected a non-empty string",
    ],
    [
      "id empty",
      base({ id: '""' }),
      "id",
      "Invalid envelope: id must be a non-empty string, found empty string",
    ],
    [
      "parent_id as a number",
      base({ parent_id: "1" }),
      "parent_id",
      "Invalid envelope: parent_id must be a non-empty string, found number",
    ],
    [
      "sig as an object",
      base({ sig: "{}" }),
      "sig",
      "Invalid envelope: sig must be a non-empty string, found object",
    ],
    [
      "invalid UTF-8 bytes",
      new Uint8Array([0x7b, 0x22, 0xc3, 0x28]),
      "envelope",
      "Invalid envelope: envelope must be UTF-8 text, found invalid UTF-8 at byte 2",
    ],
    [
      "a JSON array",
      "[1]",
      "envelope",
      "Invalid envelope: envelope must be a JSON object, found array",
    ],
    [
      "a JSON string",
      '"x"',
      "envelope",
      "Invalid envelope: envelope must be a JSON object, found string",
    ],
    [
      "empty input",
      "",
      "envelope",
      "Invalid envelope: malformed JSON at position 0 (line 1, column 1): expected a JSON object, found end of input",
    ],
    [
      "malformed JSON",
      '{"id":"a",}',
      "envelope",
      'Invalid envelope: malformed JSON at position 10 (line 1, column 11): expected a string member name, found "}"',
    ],
    [
      "malformed payload",
      base({ payload: "[1,2" }),
      "envelope",
      `Invalid envelope: malformed JSON at position ${
        base({ payload: "[1,2" }).length - 1
      } ` +
      `(line 1, column ${
        base({ payload: "[1,2" }).length
      }): expected ',' or ']', found "}"`,
    ],
    [
      "status.phase unknown",
      base({ status: '{"phase":"done"}' }),
      "status.phase",
      'Invalid envelope: status.phase must be one of pending, running, succeeded, failed, found string "done"',
    ],
    [
      "status not an object",
      base({ status: '"failed"' }),
      "status",
      'Invalid envelope: status must be an object, found string "failed"',
    ],
    [
      "status.attempt negative",
      base({ status: '{"attempt":-1}' }),
      "status.attempt",
      "Invalid envelope: status.attempt must be a non-negative integer, found number -1",
    ],
    [
      "status.actor not a string",
      base({ status: '{"actor":1}' }),
      "status.actor",
      "Invalid envelope: status.actor must be a string, found number",
    ],
    [
      "status.reason not a string",
      base({ status: '{"reason":false}' }),
      "status.reason",
      "Invalid envelope: status.reason must be a string, found boolean",
    ],
    [
      "status.deadline_at invalid",
      base({ status: '{"deadline_at":"tomorrow"}' }),
      "status.deadline_at",
      'Invalid envelope: status.deadline_at must be an RFC 3339 timestamp such as 2026-01-02T03:04:05Z, found string "tomorrow"',
    ],
    [
      "status.created_at as a number",
      base({ status: '{"created_at":1700000000}' }),
      "status.created_at",
      "Invalid envelope: status.created_at must be an RFC 3339 timestamp such as 2026-01-02T03:04:05Z, found number",
    ],
    [
      "a repeated member",
      '{"id":"a","id":"b","route":' + ROUTE + ',"payload":1}',
      "id",
      "Invalid envelope: id appears more than once, expected one occurrence",
    ],
    [
      "an unknown member",
      base({ payload_refs: "{}" }),
      "payload_refs",
      "Invalid envelope: payload_refs is not a known member, expected one of " +
      "id, parent_id, route, headers, status, payload, payload_ref, sig",
    ],
  ];

  for (const [name, input, field, message] of cases) {
    it(`rejects ${name}`, () => {
      const error = parseError(input);
      expect(error.field).toBe(field);
      expect(error.message).toBe(message);
    });
  }

  it("fills expected and found", () => {
    const error = parseError(
      base({ route: '{"prev":[],"curr":"a","next":"b"}' }),
    );
    expect(error.expected).toBe("an array of strings");
    expect(error.found).toBe('string "b"');
  });
});

describe("serializeEnvelope", () => {
  const envelope: Envelope = {
    id: "env-1",
    parent_id: "env",
    route: { prev: [], curr: "a", next: ["b"] },
    headers: { k: "v" },
    status: { phase: "pending" },
    sig: "x..y",
  };

  it("writes members in a fixed order", () => {
    expect(serializeEnvelope(envelope, "1.0")).toBe(
      '{"id":"env-1","parent_id":"env","route":{"prev":[],"curr":"a","next":["b"]},"headers":{"k":"v"},' +
        '"status":{"phase":"pending"},"sig":"x..y","payload":1.0}',
    );
  });

  it("splices the payload text verbatim", () => {
    const payload =
      '{ "n": 123456789012345678901234567890, "z": -0, "s": "\\u00e9" }';
    const text = serializeEnvelope({
      id: "a",
      route: { prev: [], curr: "a", next: [] },
    }, payload);
    expect(text.endsWith(`"payload":${payload}}`)).toBe(true);
  });

  it("writes payload_ref without payload", () => {
    const ref = { uri: "s3://bkt/claims/x", bytes: 3, sha256: SHA };
    const text = serializeEnvelope({
      id: "a",
      route: { prev: [], curr: "", next: [] },
      payload_ref: ref,
    });
    expect(JSON.parse(text).payload_ref).toEqual(ref);
    expect(JSON.parse(text)).not.toHaveProperty("payload");
  });

  it("throws when both payload forms are given", () => {
    const ref = { uri: "s3://bkt/claims/x", bytes: 3, sha256: SHA };
    expect(() => serializeEnvelope({ ...envelope, payload_ref: ref }, "1"))
      .toThrow(
        'Cannot serialise envelope "env-1": expected exactly one of payload_ref and payload text, found both',
      );
  });

  it("throws when no payload is given", () => {
    expect(() => serializeEnvelope(envelope)).toThrow(TypeError);
  });

  it("throws on payload text that is not JSON", () => {
    expect(() => serializeEnvelope(envelope, "{oops")).toThrow(
      /payload: Malformed JSON at position 1/,
    );
    expect(() => serializeEnvelope(envelope, "1 2")).toThrow(
      /expected end of input/,
    );
  });

  it("round-trips through parseEnvelope", () => {
    const text = serializeEnvelope(envelope, '"x"');
    expect(parseEnvelope(text)).toEqual({
      ok: true,
      value: { envelope, payloadText: '"x"' },
    });
  });
});
