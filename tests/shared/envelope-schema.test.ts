import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseEnvelope, serializeEnvelope } from "../../shared/envelope.ts";
import { envelopeWithPayload } from "./arbitraries.ts";

const schema = JSON.parse(
  readFileSync(
    new URL("../../docs/envelope.schema.json", import.meta.url),
    "utf8",
  ),
);
// Formats are annotations here; the timestamp pattern does the checking.
const validate = new Ajv2020({ allErrors: true, validateFormats: false })
  .compile(schema);

const ROUTE = '{"prev":["a"],"curr":"b","next":["c"]}';
const SHA = "0123456789abcdef".repeat(4);
const REF =
  `{"uri":"s3://asya-data/claims/ns/${SHA}","bytes":10,"sha256":"${SHA}"}`;

function envelope(members: Record<string, string | undefined>): string {
  const merged: Record<string, string | undefined> = {
    id: '"e1"',
    route: ROUTE,
    payload: "1",
    ...members,
  };
  const parts = Object.entries(merged)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, text]) => `${JSON.stringify(key)}:${text}`);
  return `{${parts.join(",")}}`;
}

const valid: Array<[string, string]> = [
  ["a minimal envelope", envelope({})],
  [
    "a done route",
    envelope({ route: '{"prev":["a","b"],"curr":"","next":[]}' }),
  ],
  ["a null payload", envelope({ payload: "null" })],
  [
    "a big-number payload",
    envelope({ payload: "[123456789012345678901234567890, 1e400, -0, 1.0]" }),
  ],
  ["a claim check", envelope({ payload: undefined, payload_ref: REF })],
  ["a fan-out child", envelope({ id: '"e1-2"', parent_id: '"e1"' })],
  [
    "headers",
    envelope({ headers: '{"traceparent":"00-1-2-01","retries":[1,2]}' }),
  ],
  ["an empty status", envelope({ status: "{}" })],
  [
    "a full status",
    envelope({
      status:
        '{"phase":"failed","actor":"b","attempt":3,"created_at":"2026-01-01T00:00:00Z",' +
        '"updated_at":"2026-01-01T00:00:00.123+05:30","deadline_at":"2026-01-01t00:00:60z",' +
        '"reason":"Timeout","error":{"message":"x"},"custom":true}',
    }),
  ],
  ["a signature", envelope({ sig: '"eyJhbGciOiJIUzI1NiJ9..abc"' })],
  [
    "a leap day",
    envelope({ status: '{"deadline_at":"2024-02-29T12:00:00Z"}' }),
  ],
];

const invalid: Array<[string, string]> = [
  ["a missing id", envelope({ id: undefined })],
  ["an empty id", envelope({ id: '""' })],
  ["a numeric id", envelope({ id: "1" })],
  ["a missing route", envelope({ route: undefined })],
  ["route as an array", envelope({ route: "[]" })],
  [
    "route.next as a number",
    envelope({ route: '{"prev":[],"curr":"a","next":1}' }),
  ],
  [
    "route.next with a number",
    envelope({ route: '{"prev":[],"curr":"a","next":["b",1]}' }),
  ],
  [
    "route.prev with an empty name",
    envelope({ route: '{"prev":[""],"curr":"a","next":[]}' }),
  ],
  [
    "route.curr as null",
    envelope({ route: '{"prev":[],"curr":null,"next":[]}' }),
  ],
  ["route without prev", envelope({ route: '{"curr":"a","next":[]}' })],
  [
    "route with an extra member",
    envelope({ route: '{"prev":[],"curr":"a","next":[],"x":1}' }),
  ],
  ["both payload forms", envelope({ payload_ref: REF })],
  ["no payload", envelope({ payload: undefined })],
  [
    "payload_ref as a string",
    envelope({ payload: undefined, payload_ref: '"s3://asya-data/x"' }),
  ],
  [
    "payload_ref over http",
    envelope({
      payload: undefined,
      payload_ref: REF.replace("s3://", "https://"),
    }),
  ],
  [
    "payload_ref without a key",
    envelope({
      payload: undefined,
      payload_ref: REF.replace(/claims.*?"/, '"'),
    }),
  ],
  [
    "payload_ref with an uppercase bucket",
    envelope({
      payload: undefined,
      payload_ref: REF.replace("asya-data", "Asya"),
    }),
  ],
  [
    "payload_ref with a two-dot bucket",
    envelope({
      payload: undefined,
      payload_ref: REF.replace("asya-data", "a..b"),
    }),
  ],
  [
    "payload_ref with negative bytes",
    envelope({
      payload: undefined,
      payload_ref: REF.replace('"bytes":10', '"bytes":-1'),
    }),
  ],
  [
    "payload_ref with fractional bytes",
    envelope({
      payload: undefined,
      payload_ref: REF.replace('"bytes":10', '"bytes":0.5'),
    }),
  ],
  [
    "payload_ref with huge bytes",
    envelope({
      payload: undefined,
      payload_ref: REF.replace('"bytes":10', '"bytes":1e400'),
    }),
  ],
  [
    "payload_ref with a short digest",
    envelope({
      payload: undefined,
      payload_ref: REF.replace(`"sha256":"${SHA}"`, '"sha256":"abc"'),
    }),
  ],
  [
    "payload_ref with an uppercase digest",
    envelope({
      payload: undefined,
      payload_ref: REF.replace(
        `"sha256":"${SHA}"`,
        `"sha256":"${SHA.toUpperCase()}"`,
      ),
    }),
  ],
  [
    "payload_ref with an extra member",
    envelope({
      payload: undefined,
      payload_ref: REF.replace("{", '{"etag":"x",'),
    }),
  ],
  ["headers as an array", envelope({ headers: "[]" })],
  ["headers as a string", envelope({ headers: '"x"' })],
  ["status as a string", envelope({ status: '"failed"' })],
  ["an unknown phase", envelope({ status: '{"phase":"done"}' })],
  ["a negative attempt", envelope({ status: '{"attempt":-1}' })],
  ["a fractional attempt", envelope({ status: '{"attempt":1.5}' })],
  ["a numeric actor", envelope({ status: '{"actor":1}' })],
  [
    "a deadline without offset",
    envelope({ status: '{"deadline_at":"2026-01-01T00:00:00"}' }),
  ],
  [
    "a deadline with a space",
    envelope({ status: '{"deadline_at":"2026-01-01 00:00:00Z"}' }),
  ],
  [
    "a deadline in month 13",
    envelope({ status: '{"deadline_at":"2026-13-01T00:00:00Z"}' }),
  ],
  [
    "a deadline at hour 24",
    envelope({ status: '{"deadline_at":"2026-01-01T24:00:00Z"}' }),
  ],
  ["a numeric deadline", envelope({ status: '{"deadline_at":1767225600}' })],
  ["an empty parent_id", envelope({ parent_id: '""' })],
  ["an object sig", envelope({ sig: "{}" })],
  ["an unknown member", envelope({ payloadRef: "{}" })],
  ["an array document", "[]"],
  ["a string document", '"envelope"'],
];

function schemaAccepts(text: string): boolean {
  return validate(JSON.parse(text)) as boolean;
}

describe("envelope schema", () => {
  for (const [name, text] of valid) {
    it(`accepts ${name} like the parser`, () => {
      expect(parseEnvelope(text).ok).toBe(true);
      expect(schemaAccepts(text)).toBe(true);
    });
  }

  for (const [name, text] of invalid) {
    it(`rejects ${name} like the parser`, () => {
      expect(parseEnvelope(text).ok).toBe(false);
      expect(schemaAccepts(text)).toBe(false);
    });
  }

  it("accepts what serializeEnvelope writes", () => {
    const text = serializeEnvelope(
      {
        id: "e1",
        parent_id: "e0",
        route: { prev: [], curr: "a", next: ["b"] },
        headers: { h: 1 },
        status: {
          phase: "pending",
          attempt: 0,
          deadline_at: "2026-01-01T00:00:00.000Z",
        },
        sig: "a..b",
      },
      '{"x":1.0}',
    );
    expect(schemaAccepts(text)).toBe(true);
  });

  it("accepts generated envelopes", () => {
    fc.assert(
      fc.property(envelopeWithPayload, ({ envelope, payloadText }) => {
        expect(schemaAccepts(serializeEnvelope(envelope, payloadText))).toBe(
          true,
        );
      }),
      { numRuns: 200 },
    );
  });

  // Documented gaps: a pattern cannot check calendars, and JSON.parse keeps
  // only the last of repeated members before the schema validates them.
  it("leaves calendar dates to the parser", () => {
    const text = envelope({ status: '{"deadline_at":"2026-02-30T00:00:00Z"}' });
    expect(schemaAccepts(text)).toBe(true);
    expect(parseEnvelope(text).ok).toBe(false);
  });

  it("leaves repeated members to the parser", () => {
    const text = `{"id":1,${envelope({}).slice(1)}`;
    expect(schemaAccepts(text)).toBe(true);
    expect(parseEnvelope(text).ok).toBe(false);
  });
});
