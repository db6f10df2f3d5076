import { describe, expect, it } from "vitest";
import {
  deadlineRemainingMs,
  type Envelope,
  isDeadlinePassed,
  parseRfc3339,
} from "../../shared/envelope.ts";

function withDeadline(deadline_at?: string): Envelope {
  const envelope: Envelope = {
    id: "a",
    route: { prev: [], curr: "a", next: [] },
  };
  if (deadline_at !== undefined) envelope.status = { deadline_at };
  return envelope;
}

describe("parseRfc3339", () => {
  const valid: Array<[string, number]> = [
    ["2026-01-02T03:04:05Z", Date.UTC(2026, 0, 2, 3, 4, 5)],
    ["2026-01-02t03:04:05z", Date.UTC(2026, 0, 2, 3, 4, 5)],
    ["2026-01-02T03:04:05.678Z", Date.UTC(2026, 0, 2, 3, 4, 5, 678)],
    ["2026-01-02T03:04:05.6789999Z", Date.UTC(2026, 0, 2, 3, 4, 5, 678)],
    ["2026-01-02T03:04:05.5Z", Date.UTC(2026, 0, 2, 3, 4, 5, 500)],
    ["2026-01-02T05:04:05+02:00", Date.UTC(2026, 0, 2, 3, 4, 5)],
    ["2026-01-01T23:30:00-03:30", Date.UTC(2026, 0, 2, 3, 0, 0)],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
    ["2016-12-31T23:59:60Z", Date.UTC(2017, 0, 1)],
  ];
  for (const [text, expected] of valid) {
    it(`parses ${text}`, () => {
      expect(parseRfc3339(text)).toBe(expected);
    });
  }

  it("keeps two-digit years as written", () => {
    expect(new Date(parseRfc3339("0050-06-01T00:00:00Z")!).getUTCFullYear())
      .toBe(50);
  });

  const invalid = [
    "2026-01-02",
    "2026-01-02 03:04:05Z",
    "2026-01-02T03:04:05",
    "2026-13-01T00:00:00Z",
    "2026-00-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2100-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:60:00Z",
    "2026-01-01T00:00:61Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00.Z",
    "1700000000",
    "",
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(parseRfc3339(text)).toBeUndefined();
    });
  }
});

describe("deadlineRemainingMs", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it("is Infinity without a deadline", () => {
    expect(deadlineRemainingMs(withDeadline(), now)).toEqual({
      ok: true,
      value: Infinity,
    });
  });

  it("counts down to the deadline", () => {
    expect(deadlineRemainingMs(withDeadline("2026-01-01T12:00:30Z"), now))
      .toEqual({ ok: true, value: 30_000 });
  });

  it("is negative after the deadline", () => {
    expect(deadlineRemainingMs(withDeadline("2026-01-01T11:59:59Z"), now))
      .toEqual({ ok: true, value: -1000 });
  });

  it("names the field for an invalid timestamp", () => {
    const result = deadlineRemainingMs(withDeadline("soon"), now);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.field).toBe("status.deadline_at");
    expect(result.error.message).toBe(
      'Invalid envelope: status.deadline_at must be an RFC 3339 timestamp such as 2026-01-02T03:04:05Z, found string "soon"',
    );
  });
});

describe("isDeadlinePassed", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it("is false without a deadline", () => {
    expect(isDeadlinePassed(withDeadline(), now)).toEqual({
      ok: true,
      value: false,
    });
  });

  it("is true at the deadline instant", () => {
    expect(isDeadlinePassed(withDeadline("2026-01-01T12:00:00Z"), now)).toEqual(
      { ok: true, value: true },
    );
  });

  it("is false one millisecond before", () => {
    expect(isDeadlinePassed(withDeadline("2026-01-01T12:00:00.001Z"), now))
      .toEqual({ ok: true, value: false });
  });

  it("fails on an invalid timestamp", () => {
    expect(isDeadlinePassed(withDeadline("x"), now).ok).toBe(false);
  });
});
