import type { Envelope, EnvelopeError } from "./envelope-types.ts";
import { describeValue, envelopeError } from "./envelope-types.ts";
import { err, ok, type Result } from "./result.ts";

// RFC 3339 section 5.6 date-time: full date, "T", full time with an offset.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 timestamp such as `2026-01-02T03:04:05.678Z` or
 * `2026-01-02T05:04:05+02:00` into milliseconds since the Unix epoch.
 * Fractions finer than a millisecond are truncated. A leap second (`:60`)
 * counts as the first instant of the next minute. Returns undefined for
 * anything else, including impossible dates such as February 30.
 */
export function parseRfc3339(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (match === null) return undefined;

  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(
    Number,
  );
  const millisecond = match[7] === undefined
    ? 0
    : Number(match[7].slice(0, 3).padEnd(3, "0"));
  if (month < 1 || month > 12) return undefined;
  if (day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;

  let offsetMinutes = 0;
  if (match[8] === undefined) {
    const offsetHours = Number(match[10]);
    const offsetRest = Number(match[11]);
    if (offsetHours > 23 || offsetRest > 59) return undefined;
    offsetMinutes = (offsetHours * 60 + offsetRest) *
      (match[9] === "-" ? -1 : 1);
  }

  // setUTCFullYear, unlike Date.UTC, keeps years 0-99 as written.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millisecond);
  return date.getTime() - offsetMinutes * 60_000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Checks an RFC 3339 timestamp found at `field` (for example
 * `status.deadline_at`) and returns it in epoch milliseconds.
 */
export function checkTimestamp(
  field: string,
  value: unknown,
): Result<number, EnvelopeError> {
  const expected = "an RFC 3339 timestamp such as 2026-01-02T03:04:05Z";
  const milliseconds = typeof value === "string"
    ? parseRfc3339(value)
    : undefined;
  if (milliseconds === undefined) {
    return err(envelopeError(field, expected, describeValue(value)));
  }
  return ok(milliseconds);
}

/**
 * Returns the milliseconds left before `status.deadline_at` at `nowMs`:
 * zero or less once it has passed, `Infinity` when the envelope has no
 * deadline. Fails when `deadline_at` is not an RFC 3339 timestamp.
 */
export function deadlineRemainingMs(
  envelope: Envelope,
  nowMs: number,
): Result<number, EnvelopeError> {
  const deadline = envelope.status?.deadline_at;
  if (deadline === undefined) return ok(Infinity);

  const parsed = checkTimestamp("status.deadline_at", deadline);
  if (!parsed.ok) return parsed;
  return ok(parsed.value - nowMs);
}

/**
 * Tells whether `status.deadline_at` is at or before `nowMs`. An envelope
 * without a deadline never expires. Fails like `deadlineRemainingMs`.
 */
export function isDeadlinePassed(
  envelope: Envelope,
  nowMs: number,
): Result<boolean, EnvelopeError> {
  const remaining = deadlineRemainingMs(envelope, nowMs);
  if (!remaining.ok) return remaining;
  return ok(remaining.value <= 0);
}
