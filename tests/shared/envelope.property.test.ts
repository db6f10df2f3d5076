import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Envelope,
  ENVELOPE_PHASES,
  isRouteDone,
  parseEnvelope,
  parseRuntimeFrames,
  type Route,
  serializeEnvelope,
  shiftRoute,
} from "../../shared/envelope.ts";
import { checkJsonText, scanObjectMembers } from "../../shared/json.ts";

// Bounded so the suite stays quick on a shared two-core machine.
const RUNS = { numRuns: 200 };

const actorName = fc.string({ minLength: 1, maxLength: 20, unit: "binary" });
const actorList = fc.array(actorName, { maxLength: 6 });
const route: fc.Arbitrary<Route> = fc.record({
  prev: actorList,
  curr: fc.oneof(fc.constant(""), actorName),
  next: actorList,
});

const timestamp = fc
  .date({
    min: new Date("0001-01-01T00:00:00Z"),
    max: new Date("9999-12-31T23:59:59.999Z"),
    noInvalidDate: true,
  })
  .map((date) => date.toISOString());

// Headers and status hold parsed JSON values, so -0 comes back as 0 there;
// only the payload keeps its source text.
const jsonValue = fc.jsonValue().map((value) =>
  JSON.parse(JSON.stringify(value)) as unknown
);

const status = fc.record(
  {
    phase: fc.constantFrom(...ENVELOPE_PHASES),
    actor: actorName,
    attempt: fc.nat(),
    created_at: timestamp,
    updated_at: timestamp,
    deadline_at: timestamp,
    reason: fc.string(),
    error: jsonValue,
  },
  { requiredKeys: [] },
);

const headers = fc.dictionary(fc.string(), jsonValue, { maxKeys: 5 });
const sha256 = fc.stringMatching(/^[0-9a-f]{64}$/);
const payloadRef = fc.record({
  uri: fc.stringMatching(/^[a-z0-9]{3,10}$/).chain((bucket) =>
    fc.stringMatching(/^[A-Za-z0-9/_.-]{1,40}$/).map((key) =>
      `s3://${bucket}/${key}`
    )
  ),
  bytes: fc.nat(),
  sha256,
});

// Raw JSON source text, with number spellings and escapes that a
// JSON.parse/JSON.stringify round trip would not preserve.
const whitespace = fc.constantFrom("", " ", "\n", "\t", "\r\n  ");
const numberText = fc.stringMatching(
  /^-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,4})?$/,
);
const stringText = fc.oneof(
  fc.string({ unit: "binary" }).map((text) => JSON.stringify(text)),
  fc.constantFrom(
    '"\\u00e9"',
    '"\\ud83d\\ude00"',
    '"\\/\\b\\f\\n\\r\\t"',
    '"é 😀"',
    '"\\u0000"',
  ),
);
const { jsonText } = fc.letrec((tie) => ({
  jsonText: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    numberText,
    stringText,
    fc.constantFrom(
      "true",
      "false",
      "null",
      "-0",
      "1.0",
      "1e400",
      "123456789012345678901234567890",
    ),
    fc.tuple(fc.array(tie("jsonText"), { maxLength: 4 }), whitespace).map((
      [items, space],
    ) => `[${space}${items.join(`${space},${space}`)}${space}]`),
    fc.tuple(
      fc.array(fc.tuple(stringText, tie("jsonText")), { maxLength: 4 }),
      whitespace,
    ).map(
      ([members, space]) =>
        `{${space}${
          members.map(([key, value]) => `${key}${space}:${space}${value}`).join(
            ",",
          )
        }}`,
    ),
  ),
})) as { jsonText: fc.Arbitrary<string> };

const envelopeWithPayload = fc
  .record(
    {
      id: fc.string({ minLength: 1, unit: "binary" }),
      parent_id: fc.string({ minLength: 1 }),
      route,
      headers,
      status,
      sig: fc.string({ minLength: 1 }),
    },
    { requiredKeys: ["id", "route"] },
  )
  .chain((envelope) =>
    fc.oneof(
      jsonText.map((payloadText) => ({
        envelope: envelope as Envelope,
        payloadText,
      })),
      payloadRef.map((ref) => ({
        envelope: { ...envelope, payload_ref: ref } as Envelope,
        payloadText: undefined,
      })),
    )
  );

describe("envelope properties", () => {
  it("parse inverts serialize", () => {
    fc.assert(
      fc.property(envelopeWithPayload, ({ envelope, payloadText }) => {
        const text = serializeEnvelope(envelope, payloadText);
        const expected = payloadText === undefined
          ? { envelope }
          : { envelope, payloadText };
        expect(parseEnvelope(text)).toEqual({ ok: true, value: expected });
      }),
      RUNS,
    );
  });

  it("payload text survives byte for byte", () => {
    fc.assert(
      fc.property(jsonText, whitespace, (payload, space) => {
        const input =
          `{"id":"a",${space}"payload":${space}${payload}${space},` +
          `"route":{"prev":[],"curr":"a","next":[]}}`;
        const parsed = parseEnvelope(new TextEncoder().encode(input));
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        expect(parsed.value.payloadText).toBe(payload);

        const output = serializeEnvelope(
          parsed.value.envelope,
          parsed.value.payloadText,
        );
        const encodedPayload = new TextEncoder().encode(payload);
        const encodedOutput = new TextEncoder().encode(output);
        const tail = encodedOutput.slice(
          encodedOutput.length - 1 - encodedPayload.length,
          -1,
        );
        expect(Array.from(tail)).toEqual(Array.from(encodedPayload));
      }),
      RUNS,
    );
  });

  it("runtime frames keep payload text", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(jsonText, route), { maxLength: 4 }),
        (frames) => {
          const body = `{"frames":[${
            frames.map(([payload, frameRoute]) =>
              `{"payload":${payload},"route":${JSON.stringify(frameRoute)}}`
            ).join(",")
          }]}`;
          const parsed = parseRuntimeFrames(body);
          expect(parsed.ok).toBe(true);
          if (!parsed.ok) return;
          expect(parsed.value.map((frame) => frame.payloadText)).toEqual(
            frames.map(([payload]) => payload),
          );
          expect(parsed.value.map((frame) => frame.route)).toEqual(
            frames.map(([, frameRoute]) => frameRoute),
          );
        },
      ),
      RUNS,
    );
  });
});

describe("route properties", () => {
  it("shifting n times empties a route of n actors", () => {
    fc.assert(
      fc.property(
        fc.array(actorName, { minLength: 1, maxLength: 30 }),
        (actors) => {
          let current: Route = {
            prev: [],
            curr: actors[0],
            next: actors.slice(1),
          };
          for (let step = 0; step < actors.length; step++) {
            expect(isRouteDone(current)).toBe(false);
            current = shiftRoute(current);
          }
          expect(current).toEqual({ prev: actors, curr: "", next: [] });
          expect(isRouteDone(current)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it("shifting keeps every actor in order", () => {
    fc.assert(
      fc.property(route, (start) => {
        const shifted = shiftRoute(start);
        const before = [...start.prev, start.curr, ...start.next].filter((
          actor,
        ) => actor !== "");
        const after = [...shifted.prev, shifted.curr, ...shifted.next].filter((
          actor,
        ) => actor !== "");
        expect(after).toEqual(before);
      }),
      RUNS,
    );
  });
});

describe("scanner properties", () => {
  it("accepts exactly what JSON.parse accepts", () => {
    const mutated = fc.tuple(
      fc.json(),
      fc.nat(),
      fc.constantFrom("", ",", "]", "}", '"', "\\", "-", "0", " ", "e"),
    )
      .map(([text, index, insert]) => {
        const at = index % (text.length + 1);
        return text.slice(0, at) + insert + text.slice(at + 1);
      });
    fc.assert(
      fc.property(
        fc.oneof(fc.json(), jsonText, mutated, fc.string()),
        (text) => {
          let parses = true;
          try {
            JSON.parse(text);
          } catch {
            parses = false;
          }
          expect(checkJsonText(text).ok).toBe(parses);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("member texts parse to the member values", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), jsonValue),
        fc.nat(4),
        (object, indent) => {
          const members = scanObjectMembers(
            JSON.stringify(object, null, indent),
          );
          expect(members.ok).toBe(true);
          if (!members.ok) return;
          expect(members.value.map((member) => member.key)).toEqual(
            Object.keys(object),
          );
          for (const member of members.value) {
            expect(JSON.parse(member.text)).toEqual(object[member.key]);
          }
        },
      ),
      RUNS,
    );
  });
});
