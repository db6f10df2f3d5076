/**
 * A small validating JSON scanner (RFC 8259) that returns the exact source
 * text of each member of an object and each element of an array. The
 * envelope parser uses it to pass payloads through byte for byte: numbers
 * beyond 2^53, `1.0`, `-0` and long decimals keep their spelling, which a
 * round trip through `JSON.parse` would lose. It needs no `JSON.rawJSON`, so
 * it behaves the same on Node 20 and Deno.
 */
import { err, ok, type Result } from "./result.ts";

/** JSON value type, as named in error messages. */
export type JsonKind =
  | "object"
  | "array"
  | "string"
  | "number"
  | "boolean"
  | "null";

/** Exact source text of one object member's value. */
export interface RawMember {
  /** Member name after unescaping. */
  key: string;
  /** Value source text, without surrounding whitespace. */
  text: string;
  kind: JsonKind;
  /** Offset of the value's first character in the scanned text. */
  start: number;
}

/** Exact source text of one array element. */
export interface RawElement {
  text: string;
  kind: JsonKind;
  /** Offset of the element's first character in the scanned text. */
  start: number;
}

/** Malformed JSON, or a well-formed value of the wrong type. */
export interface JsonScanError {
  /** `syntax` for malformed text, `type` when the top-level value has the wrong type. */
  reason: "syntax" | "type";
  /** UTF-16 offset into the scanned text. */
  position: number;
  /** 1-based line and column of `position`. */
  line: number;
  column: number;
  expected: string;
  found: string;
  message: string;
}

/** Checks that `text` is exactly one JSON value, surrounding whitespace allowed. */
export function checkJsonText(text: string): Result<JsonKind, JsonScanError> {
  return attempt(() => {
    const start = skipWhitespace(text, 0);
    const end = skipValue(text, start);
    expectEnd(text, end);
    return kindAt(text, start);
  });
}

/**
 * Scans a JSON object and returns its members in source order, duplicates
 * included, so the caller decides what a repeated name means. Fails with a
 * `type` error when the text is valid JSON but not an object.
 */
export function scanObjectMembers(
  text: string,
): Result<RawMember[], JsonScanError> {
  return attempt(() => {
    const open = expectContainer(text, "object");
    const members: RawMember[] = [];
    let position = skipWhitespace(text, open + 1);
    if (text[position] === "}") return finish(text, position + 1, members);

    for (;;) {
      const keyStart = position;
      if (text[position] !== '"') fail(text, position, "a string member name");
      position = skipString(text, position);
      const key = JSON.parse(text.slice(keyStart, position)) as string;

      position = skipWhitespace(text, position);
      if (text[position] !== ":") fail(text, position, "':'");
      const valueStart = skipWhitespace(text, position + 1);
      const valueEnd = skipValue(text, valueStart);
      members.push({
        key,
        text: text.slice(valueStart, valueEnd),
        kind: kindAt(text, valueStart),
        start: valueStart,
      });

      position = skipWhitespace(text, valueEnd);
      if (text[position] === "}") return finish(text, position + 1, members);
      if (text[position] !== ",") fail(text, position, "',' or '}'");
      position = skipWhitespace(text, position + 1);
    }
  });
}

/**
 * Scans a JSON array and returns its elements in source order. Fails with
 * a `type` error when the text is valid JSON but not an array.
 */
export function scanArrayElements(
  text: string,
): Result<RawElement[], JsonScanError> {
  return attempt(() => {
    const open = expectContainer(text, "array");
    const elements: RawElement[] = [];
    let position = skipWhitespace(text, open + 1);
    if (text[position] === "]") return finish(text, position + 1, elements);

    for (;;) {
      const valueEnd = skipValue(text, position);
      elements.push({
        text: text.slice(position, valueEnd),
        kind: kindAt(text, position),
        start: position,
      });

      position = skipWhitespace(text, valueEnd);
      if (text[position] === "]") return finish(text, position + 1, elements);
      if (text[position] !== ",") fail(text, position, "',' or ']'");
      position = skipWhitespace(text, position + 1);
    }
  });
}

/** Names the JSON type of a parsed value the way error messages do. */
export function kindOfValue(value: unknown): JsonKind {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    default:
      return "object";
  }
}

// Internal failures travel as exceptions so the scanning code stays linear;
// `attempt` turns them into a Result at the public boundary.
class ScanFailure {
  constructor(readonly error: JsonScanError) {}
}

function attempt<T>(scan: () => T): Result<T, JsonScanError> {
  try {
    return ok(scan());
  } catch (caught) {
    if (caught instanceof ScanFailure) return err(caught.error);
    throw caught;
  }
}

function makeError(
  text: string,
  position: number,
  reason: JsonScanError["reason"],
  expected: string,
  found: string,
): JsonScanError {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < position; index++) {
    if (text.charCodeAt(index) === 0x0a) {
      line++;
      lineStart = index + 1;
    }
  }
  const column = position - lineStart + 1;
  const problem = reason === "syntax"
    ? "Malformed JSON"
    : "Unexpected JSON type";
  const message = `${problem} at position ${position} (line ${line}, ` +
    `column ${column}): expected ${expected}, found ${found}`;
  return { reason, position, line, column, expected, found, message };
}

function fail(text: string, position: number, expected: string): never {
  throw new ScanFailure(
    makeError(
      text,
      position,
      "syntax",
      expected,
      describeCharacter(text, position),
    ),
  );
}

function describeCharacter(text: string, position: number): string {
  if (position >= text.length) return "end of input";
  const codePoint = text.codePointAt(position)!;
  return JSON.stringify(String.fromCodePoint(codePoint));
}

function expectContainer(text: string, kind: "object" | "array"): number {
  const start = skipWhitespace(text, 0);
  if (start >= text.length) {
    fail(text, start, kind === "object" ? "a JSON object" : "a JSON array");
  }

  const found = kindAt(text, start);
  if (found === kind) return start;

  // Validate first, so malformed text reports its syntax error rather than its type.
  expectEnd(text, skipValue(text, start));
  throw new ScanFailure(
    makeError(
      text,
      start,
      "type",
      kind === "object" ? "a JSON object" : "a JSON array",
      found,
    ),
  );
}

function finish<T>(text: string, end: number, result: T): T {
  expectEnd(text, end);
  return result;
}

function expectEnd(text: string, end: number): void {
  const position = skipWhitespace(text, end);
  if (position < text.length) fail(text, position, "end of input");
}

function kindAt(text: string, position: number): JsonKind {
  switch (text[position]) {
    case "{":
      return "object";
    case "[":
      return "array";
    case '"':
      return "string";
    case "t":
    case "f":
      return "boolean";
    case "n":
      return "null";
    default:
      return "number";
  }
}

function skipWhitespace(text: string, position: number): number {
  while (position < text.length) {
    const code = text.charCodeAt(position);
    // RFC 8259 whitespace: space, tab, line feed, carriage return.
    if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) break;
    position++;
  }
  return position;
}

/**
 * Skips one JSON value starting at `position` and returns the offset after
 * it. Nesting is tracked on an explicit stack, so deeply nested payloads
 * cannot overflow the call stack.
 */
function skipValue(text: string, position: number): number {
  const open: string[] = [];

  for (;;) {
    // Read one value, or the opening of a container.
    position = skipWhitespace(text, position);
    const character = text[position];
    if (character === "{" || character === "[") {
      const close = character === "{" ? "}" : "]";
      const inner = skipWhitespace(text, position + 1);
      if (text[inner] === close) {
        position = inner + 1;
      } else {
        open.push(close);
        position = character === "{" ? skipMemberName(text, inner) : inner;
        continue;
      }
    } else if (character === '"') {
      position = skipString(text, position);
    } else if (character === "t") {
      position = skipLiteral(text, position, "true");
    } else if (character === "f") {
      position = skipLiteral(text, position, "false");
    } else if (character === "n") {
      position = skipLiteral(text, position, "null");
    } else if (
      character === "-" ||
      (character !== undefined && character >= "0" && character <= "9")
    ) {
      position = skipNumber(text, position);
    } else {
      fail(text, position, "a JSON value");
    }

    // Close finished containers, then continue with the next member or element.
    for (;;) {
      if (open.length === 0) return position;
      position = skipWhitespace(text, position);
      const close = open[open.length - 1];
      if (text[position] === close) {
        open.pop();
        position++;
        continue;
      }
      if (text[position] !== ",") fail(text, position, `',' or '${close}'`);
      position = skipWhitespace(text, position + 1);
      if (close === "}") position = skipMemberName(text, position);
      break;
    }
  }
}

function skipMemberName(text: string, position: number): number {
  if (text[position] !== '"') fail(text, position, "a string member name");
  position = skipWhitespace(text, skipString(text, position));
  if (text[position] !== ":") fail(text, position, "':'");
  return position + 1;
}

function skipString(text: string, position: number): number {
  position++;
  for (;;) {
    if (position >= text.length) {
      fail(text, position, "'\"' to close the string");
    }
    const code = text.charCodeAt(position);
    if (code === 0x22) return position + 1;
    if (code < 0x20) fail(text, position, "an escaped control character");
    if (code !== 0x5c) {
      position++;
      continue;
    }

    const escape = text[position + 1];
    if (escape === "u") {
      for (let offset = 2; offset < 6; offset++) {
        if (!/^[0-9A-Fa-f]$/.test(text[position + offset] ?? "")) {
          fail(text, position + offset, "a hexadecimal digit in a \\u escape");
        }
      }
      position += 6;
    } else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) {
      position += 2;
    } else {
      fail(text, position + 1, "one of \" \\ / b f n r t u after '\\'");
    }
  }
}

function skipLiteral(text: string, position: number, literal: string): number {
  for (let offset = 0; offset < literal.length; offset++) {
    if (text[position + offset] !== literal[offset]) {
      fail(text, position + offset, `'${literal}'`);
    }
  }
  return position + literal.length;
}

function skipNumber(text: string, position: number): number {
  if (text[position] === "-") position++;
  if (text[position] === "0") {
    position++;
  } else {
    position = skipDigits(text, position, "a digit");
  }
  if (text[position] === ".") {
    position = skipDigits(text, position + 1, "a digit after '.'");
  }
  if (text[position] === "e" || text[position] === "E") {
    position++;
    if (text[position] === "+" || text[position] === "-") position++;
    position = skipDigits(text, position, "a digit in the exponent");
  }
  return position;
}

function skipDigits(text: string, position: number, expected: string): number {
  const start = position;
  while (
    position < text.length && text.charCodeAt(position) >= 0x30 &&
    text.charCodeAt(position) <= 0x39
  ) {
    position++;
  }
  if (position === start) fail(text, position, expected);
  return position;
}

/** Invalid UTF-8 input, with the offset of the first bad byte. */
export interface Utf8Error {
  offset: number;
  message: string;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes UTF-8 bytes strictly: invalid sequences are an error, never
 * replaced with U+FFFD. A leading byte order mark is dropped, as RFC 8259
 * allows parsers to do.
 */
export function decodeUtf8(bytes: Uint8Array): Result<string, Utf8Error> {
  try {
    return ok(utf8Decoder.decode(bytes));
  } catch {
    const offset = findInvalidUtf8(bytes);
    return err({ offset, message: `Invalid UTF-8 at byte ${offset}` });
  }
}

// Runs only after the decoder has rejected the input, to report where.
function findInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index];
    if (lead < 0x80) {
      index++;
      continue;
    }

    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      // Reject overlong forms (E0) and UTF-16 surrogates (ED).
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      // Reject overlong forms (F0) and code points above U+10FFFF (F4).
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else {
      return index;
    }

    for (let offset = 1; offset < length; offset++) {
      const next = bytes[index + offset];
      const min = offset === 1 ? low : 0x80;
      const max = offset === 1 ? high : 0xbf;
      if (next === undefined || next < min || next > max) return index;
    }
    index += length;
  }
  return bytes.length;
}
