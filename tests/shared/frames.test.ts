import { describe, expect, it } from "vitest";
import { parseRuntimeFrames } from "../../shared/envelope.ts";

const ROUTE = '{"prev":["a"],"curr":"b","next":[]}';

describe("parseRuntimeFrames", () => {
  it("parses frames with exact payload text", () => {
    const body = `{"frames":[{"payload":{"n":1.10},"route":${ROUTE}},` +
      `{"route":${ROUTE},"payload":123456789012345678901,"headers":{"h":"v"},"status":{"phase":"running"}}]}`;
    expect(parseRuntimeFrames(body)).toEqual({
      ok: true,
      value: [
        {
          route: { prev: ["a"], curr: "b", next: [] },
          payloadText: '{"n":1.10}',
        },
        {
          route: { prev: ["a"], curr: "b", next: [] },
          payloadText: "123456789012345678901",
          headers: { h: "v" },
          status: { phase: "running" },
        },
      ],
    });
  });

  it("accepts an empty frame list", () => {
    expect(parseRuntimeFrames('{"frames":[]}')).toEqual({
      ok: true,
      value: [],
    });
  });

  const cases: Array<[string, string, string, string]> = [
    // [name, body, field, message]
    [
      "malformed JSON",
      '{"frames":[',
      "body",
      "Invalid runtime response: malformed JSON at position 11 (line 1, column 12): expected a JSON value, found end of input",
    ],
    [
      "a JSON array",
      "[]",
      "body",
      "Invalid runtime response: body must be a JSON object, found array",
    ],
    [
      "missing frames",
      "{}",
      "frames",
      "Invalid runtime response: frames is missing, expected an array",
    ],
    [
      "frames not an array",
      '{"frames":{}}',
      "frames",
      "Invalid runtime response: frames must be an array, found object",
    ],
    [
      "an unknown top-level member",
      '{"frames":[],"extra":1}',
      "extra",
      "Invalid runtime response: extra is not a known member, expected one of frames",
    ],
    [
      "repeated frames",
      '{"frames":[],"frames":[]}',
      "frames",
      "Invalid runtime response: frames appears more than once, expected one occurrence",
    ],
    [
      "a frame that is not an object",
      '{"frames":[1]}',
      "frames[0]",
      "Invalid runtime response: frames[0] must be an object, found number",
    ],
    [
      "a frame without payload",
      `{"frames":[{"route":${ROUTE}}]}`,
      "frames[0].payload",
      "Invalid runtime response: frames[0].payload is missing, expected a JSON value",
    ],
    [
      "a frame without route",
      '{"frames":[{"payload":1}]}',
      "frames[0].route",
      "Invalid runtime response: frames[0].route is missing, expected an object",
    ],
    [
      "a bad route in a later frame",
      `{"frames":[{"payload":1,"route":${ROUTE}},{"payload":1,"route":{"prev":[],"curr":"","next":[3]}}]}`,
      "frames[1].route.next[0]",
      "Invalid runtime response: frames[1].route.next[0] must be a non-empty actor name, found number",
    ],
    [
      "an unknown frame member",
      `{"frames":[{"payload":1,"route":${ROUTE},"id":"x"}]}`,
      "frames[0].id",
      "Invalid runtime response: frames[0].id is not a known member, expected one of payload, route, headers, status",
    ],
    [
      "headers that are not an object",
      `{"frames":[{"payload":1,"route":${ROUTE},"headers":"x"}]}`,
      "frames[0].headers",
      'Invalid runtime response: frames[0].headers must be an object, found string "x"',
    ],
    [
      "a bad status phase",
      `{"frames":[{"payload":1,"route":${ROUTE},"status":{"phase":"ok"}}]}`,
      "frames[0].status.phase",
      'Invalid runtime response: frames[0].status.phase must be one of pending, running, succeeded, failed, found string "ok"',
    ],
  ];

  for (const [name, body, field, message] of cases) {
    it(`rejects ${name}`, () => {
      const result = parseRuntimeFrames(body);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.field).toBe(field);
      expect(result.error.message).toBe(message);
    });
  }
});
