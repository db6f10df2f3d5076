import fc from "fast-check";
import {
  type Envelope,
  ENVELOPE_PHASES,
  type Route,
} from "../../shared/envelope.ts";

// Generators shared by the property tests.

export const actorName = fc.string({
  minLength: 1,
  maxLength: 20,
  unit: "binary",
});
const actorList = fc.array(actorName, { maxLength: 6 });
export const route: fc.Arbitrary<Route> = fc.record({
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
export const jsonValue = fc.jsonValue().map((value) =>
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
export const whitespace = fc.constantFrom("", " ", "\n", "\t", "\r\n  ");
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
export const { jsonText } = fc.letrec((tie) => ({
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

export const envelopeWithPayload = fc
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
