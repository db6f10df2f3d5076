import { describe, expect, it } from "vitest";
import {
  checkJsonText,
  decodeUtf8,
  kindOfValue,
  scanArrayElements,
  scanObjectMembers,
} from "../../shared/json.ts";

describe("scanObjectMembers", () => {
  it("returns exact member source text", () => {
    const text =
      '{ "a" : 1.0 , "b":[ 1 , -0 ],"c":"\\u00e9", "d" : {"x":null} }';
    const result = scanObjectMembers(text);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.map((member) => member.key)).toEqual([
      "a",
      "b",
      "c",
      "d",
    ]);
    expect(result.value.map((member) => member.text)).toEqual([
      "1.0",
      "[ 1 , -0 ]",
      '"\\u00e9"',
      '{"x":null}',
    ]);
    expect(result.value.map((member) => member.kind)).toEqual([
      "number",
      "array",
      "string",
      "object",
    ]);
    expect(result.value[0].start).toBe(text.indexOf("1.0"));
  });

  it("keeps big integers and long numbers verbatim", () => {
    const big = "123456789012345678901234567890";
    const long = "1e400";
    const decimal = "0.1000000000000000000000000001";
    const result = scanObjectMembers(
      `{"big":${big},"long":${long},"decimal":${decimal}}`,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.map((member) => member.text)).toEqual([
      big,
      long,
      decimal,
    ]);
  });

  it("unescapes member names", () => {
    const result = scanObjectMembers('{"a\\"b\\u0041":true}');
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value[0].key).toBe('a"bA');
  });

  it("keeps duplicate members in order", () => {
    const result = scanObjectMembers('{"a":1,"a":2}');
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.map((member) => member.text)).toEqual(["1", "2"]);
    }
  });

  it("accepts an empty object with whitespace", () => {
    expect(scanObjectMembers(" \t\r\n{ \n}\n ")).toEqual({
      ok: true,
      value: [],
    });
  });

  it("rejects an array with a type error", () => {
    const result = scanObjectMembers("[1,2]");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe("type");
    expect(result.error.expected).toBe("a JSON object");
    expect(result.error.found).toBe("array");
  });

  it("reports syntax before type for malformed non-objects", () => {
    const result = scanObjectMembers("[1,");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.reason).toBe("syntax");
  });
});

describe("scanner syntax errors", () => {
  const cases: Array<[string, string, number, string, string]> = [
    // [name, input, position, expected, found]
    ["empty input", "", 0, "a JSON object", "end of input"],
    ["trailing comma in object", '{"a":1,}', 7, "a string member name", '"}"'],
    ["missing colon", '{"a" 1}', 5, "':'", '"1"'],
    ["missing comma", '{"a":1 "b":2}', 7, "',' or '}'", '"\\""'],
    ["unquoted name", "{a:1}", 1, "a string member name", '"a"'],
    ["trailing comma in nested array", '{"a":[1,]}', 8, "a JSON value", '"]"'],
    [
      "unclosed string",
      '{"a":"abc',
      9,
      "'\"' to close the string",
      "end of input",
    ],
    [
      "raw newline in string",
      '{"a":"x\ny"}',
      7,
      "an escaped control character",
      '"\\n"',
    ],
    [
      "bad escape",
      '{"a":"\\x"}',
      7,
      "one of \" \\ / b f n r t u after '\\'",
      '"x"',
    ],
    [
      "short unicode escape",
      '{"a":"\\u12"}',
      10,
      "a hexadecimal digit in a \\u escape",
      '"\\""',
    ],
    ["leading zero", '{"a":01}', 6, "',' or '}'", '"1"'],
    ["bare minus", '{"a":-}', 6, "a digit", '"}"'],
    ["dot without digits", '{"a":1.}', 7, "a digit after '.'", '"}"'],
    [
      "exponent without digits",
      '{"a":1e+}',
      8,
      "a digit in the exponent",
      '"}"',
    ],
    ["misspelled literal", '{"a":tru}', 8, "'true'", '"}"'],
    ["NaN", '{"a":NaN}', 5, "a JSON value", '"N"'],
    ["single quotes", "{'a':1}", 1, "a string member name", '"\'"'],
    ["text after the object", '{"a":1} x', 8, "end of input", '"x"'],
    ["unclosed object", '{"a":{"b":1}', 12, "',' or '}'", "end of input"],
    ["mismatched bracket", '{"a":[1}', 7, "',' or ']'", '"}"'],
  ];

  for (const [name, input, position, expected, found] of cases) {
    it(`reports ${name}`, () => {
      const result = scanObjectMembers(input);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.reason).toBe("syntax");
      expect(result.error.position).toBe(position);
      expect(result.error.expected).toBe(expected);
      expect(result.error.found).toBe(found);
    });
  }

  it("gives line and column in the message", () => {
    const result = scanObjectMembers('{\n  "a": 1,\n  "b": ?\n}');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.line).toBe(3);
    expect(result.error.column).toBe(8);
    expect(result.error.message).toBe(
      'Malformed JSON at position 19 (line 3, column 8): expected a JSON value, found "?"',
    );
  });

  it("survives deep nesting without recursion", () => {
    const depth = 100_000;
    const text = `{"a":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const result = scanObjectMembers(text);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value[0].text).toHaveLength(depth * 2);
  });
});

describe("scanArrayElements", () => {
  it("returns exact element source text", () => {
    const result = scanArrayElements(
      '[ 1.50 , "x" ,{"a" : [ ] } , true,false,null ]',
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.map((element) => element.text)).toEqual([
      "1.50",
      '"x"',
      '{"a" : [ ] }',
      "true",
      "false",
      "null",
    ]);
    expect(result.value.map((element) => element.kind)).toEqual([
      "number",
      "string",
      "object",
      "boolean",
      "boolean",
      "null",
    ]);
  });

  it("accepts an empty array", () => {
    expect(scanArrayElements("[]")).toEqual({ ok: true, value: [] });
  });

  it("rejects an object with a type error", () => {
    const result = scanArrayElements("{}");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe("type");
    expect(result.error.found).toBe("object");
  });

  it("rejects a trailing comma", () => {
    const result = scanArrayElements("[1,]");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.position).toBe(3);
  });
});

describe("checkJsonText", () => {
  it("accepts every scalar kind", () => {
    expect(checkJsonText(" 12 ")).toEqual({ ok: true, value: "number" });
    expect(checkJsonText('"s"')).toEqual({ ok: true, value: "string" });
    expect(checkJsonText("null")).toEqual({ ok: true, value: "null" });
    expect(checkJsonText("false")).toEqual({ ok: true, value: "boolean" });
  });

  it("rejects two values", () => {
    const result = checkJsonText("1 2");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.expected).toBe("end of input");
  });

  it("rejects empty text", () => {
    const result = checkJsonText("   ");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.found).toBe("end of input");
  });

  it("agrees with JSON.parse on samples", () => {
    const samples = [
      "[1,2",
      "{}",
      "[]",
      '"\\ud800"',
      "-0",
      "0.0e-0",
      "1E5",
      "[1,]",
      "tRue",
      '"\t"',
      '{"a":[{"b":[]}]}',
      "01",
      "-",
      "[-01]",
      "1.e3",
      ".5",
      '"\\/"',
      "[null,true]",
    ];
    for (const sample of samples) {
      let parsed = true;
      try {
        JSON.parse(sample);
      } catch {
        parsed = false;
      }
      expect(checkJsonText(sample).ok, sample).toBe(parsed);
    }
  });
});

describe("decodeUtf8", () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  it("decodes valid text", () => {
    expect(decodeUtf8(encode("héllo ✓ 😀"))).toEqual({
      ok: true,
      value: "héllo ✓ 😀",
    });
  });

  it("drops a byte order mark", () => {
    expect(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x31]))).toEqual({
      ok: true,
      value: "1",
    });
  });

  const invalid: Array<[string, number[], number]> = [
    ["a lone continuation byte", [0x41, 0x80], 1],
    ["a truncated sequence", [0x41, 0x42, 0xe2, 0x82], 2],
    ["an overlong form", [0xc0, 0xaf], 0],
    ["an overlong three-byte form", [0xe0, 0x80, 0xaf], 0],
    ["a UTF-16 surrogate", [0x31, 0xed, 0xa0, 0x80], 1],
    ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80], 0],
    ["an invalid lead byte", [0x31, 0x32, 0xff], 2],
  ];
  for (const [name, bytes, offset] of invalid) {
    it(`reports ${name}`, () => {
      const result = decodeUtf8(new Uint8Array(bytes));
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.offset).toBe(offset);
      expect(result.error.message).toBe(`Invalid UTF-8 at byte ${offset}`);
    });
  }
});

describe("kindOfValue", () => {
  it("names each JSON type", () => {
    expect([{}, [], "s", 1, true, null].map(kindOfValue)).toEqual([
      "object",
      "array",
      "string",
      "number",
      "boolean",
      "null",
    ]);
  });
});
