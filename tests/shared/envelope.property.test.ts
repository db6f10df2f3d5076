import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isRouteDone,
  parseEnvelope,
  parseRuntimeFrames,
  type Route,
  serializeEnvelope,
  shiftRoute,
} from "../../shared/envelope.ts";
import { checkJsonText, scanObjectMembers } from "../../shared/json.ts";
import {
  actorName,
  envelopeWithPayload,
  jsonText,
  jsonValue,
  route,
  whitespace,
} from "./arbitraries.ts";

// Bounded so the suite stays quick on a shared two-core machine.
const RUNS = { numRuns: 200 };

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
