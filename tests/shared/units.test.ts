import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatDuration, formatQuantity, parseDuration, parseQuantity } from "../../shared/units.ts";

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["2h45m30s", 9_930_000],
    ["0", 0],
    ["0s", 0],
    ["1500us", 1.5],
    ["1500µs", 1.5],
    ["1000000ns", 1],
    ["1m1m", 120_000],
  ])("reads %s", (text, expected) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["", "found an empty string"],
    ["5", 'found "5" (a number needs a unit)'],
    ["5 m", 'found "5 m"'],
    ["-5m", 'found "-5m"'],
    ["+5m", 'found "+5m"'],
    ["5d", 'found "5d"'],
    ["5M", 'found "5M"'],
    ["m", 'found "m"'],
    ["1h30", 'found "1h30" (a number needs a unit)'],
    ["five minutes", 'found "five minutes"'],
  ])("rejects %j", (text, found) => {
    const result = parseDuration(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^Expected a Go-style duration such as 90s, 5m, 1h30m or 250ms/);
    expect(result.error.endsWith(found)).toBe(true);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [250, "250ms"],
    [1_500, "1s500ms"],
    [300_000, "5m"],
    [5_400_000, "1h30m"],
    [3_600_000, "1h"],
    [0.5, "0.5ms"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("rejects negative input", () => {
    expect(() => formatDuration(-1)).toThrow(RangeError);
  });

  it("round-trips through parseDuration", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 24 * 3_600_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toEqual({ ok: true, value: ms });
      }),
      { numRuns: 500 },
    );
  });
});

describe("parseQuantity", () => {
  it.each([
    ["256Ki", 262_144],
    ["1Mi", 1_048_576],
    ["1Gi", 1_073_741_824],
    ["1G", 1_000_000_000],
    ["1k", 1_000],
    ["1000000", 1_000_000],
    ["0", 0],
    ["1.5Ki", 1_536],
    ["1e3", 1_000],
    ["2E6", 2_000_000],
    ["1P", 1e15],
    ["7Pi", 7 * 2 ** 50],
    ["0.5", 1],
    ["1.1", 2],
  ])("reads %s", (text, expected) => {
    expect(parseQuantity(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["", "found an empty string"],
    ["256KB", 'found "256KB"'],
    ["256 Ki", 'found "256 Ki"'],
    ["-1Ki", 'found "-1Ki"'],
    ["Ki", 'found "Ki"'],
    ["1ki", 'found "1ki"'],
    ["256m", 'found "256m" (m means thousandths of a byte; did you mean 256Mi?)'],
  ])("rejects %j", (text, found) => {
    const result = parseQuantity(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^Expected a byte quantity such as 256Ki, 1Mi, 1G or 1000000/);
    expect(result.error.endsWith(found)).toBe(true);
  });

  it("rejects values beyond safe integers", () => {
    const result = parseQuantity("16Ei");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(`at most ${Number.MAX_SAFE_INTEGER} bytes`);
  });
});

describe("formatQuantity", () => {
  it.each([
    [0, "0"],
    [262_144, "256Ki"],
    [1_048_576, "1Mi"],
    [1_000_000, "1M"],
    [1_000, "1k"],
    [1_234, "1234"],
  ])("formats %d bytes as %s", (bytes, text) => {
    expect(formatQuantity(bytes)).toBe(text);
  });

  it("round-trips through parseQuantity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (bytes) => {
        expect(parseQuantity(formatQuantity(bytes))).toEqual({ ok: true, value: bytes });
      }),
      { numRuns: 500 },
    );
  });
});
