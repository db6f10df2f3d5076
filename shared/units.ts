/**
 * Parsers for the two unit formats that annotations and environment
 * variables use: Go-style durations and Kubernetes-style byte quantities.
 *
 * Pure and runtime-neutral: runs unchanged on Deno and Node.
 */
import { err, ok, type Result } from "./result.ts";

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3, // U+00B5 micro sign, as Go accepts it
  "μs": 1e-3, // U+03BC Greek small letter mu, as Go accepts it
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const DURATION_EXAMPLES = "a Go-style duration such as 90s, 5m, 1h30m or 250ms (units ns, us, ms, s, m, h)";

// One number followed by one unit; a duration is one or more of these.
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a Go-style duration (`90s`, `5m`, `1h30m`, `1.5h`, `250ms`) into
 * milliseconds. A bare `0` is accepted, as in Go. Sub-millisecond units give
 * fractional milliseconds. Signs are rejected because every duration we read
 * is a length of time. The error names what was expected and what was found.
 */
export function parseDuration(text: string): Result<number, string> {
  const found = JSON.stringify(text);
  if (text === "0") return ok(0);
  if (text.length === 0) return err(`Expected ${DURATION_EXAMPLES}, found an empty string`);

  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const start = DURATION_PART.lastIndex;
    const match = DURATION_PART.exec(text);
    if (match === null) {
      const rest = text.slice(start);
      const hint = /^\d+(?:\.\d*)?$/.test(rest) ? " (a number needs a unit)" : "";
      return err(`Expected ${DURATION_EXAMPLES}, found ${found}${hint}`);
    }
    total += Number(match[1]) * MS_PER_UNIT[match[2]];
  }

  if (!Number.isFinite(total)) return err(`Expected ${DURATION_EXAMPLES}, found ${found} (too large)`);
  return ok(total);
}

/**
 * Formats milliseconds as a Go-style duration that `parseDuration` reads
 * back to the same value (`300000` -> `5m`, `5400000` -> `1h30m`, `1500` ->
 * `1s500ms`). Negative or non-finite input throws a RangeError.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`formatDuration expects a finite ms >= 0, got ${ms}`);
  if (ms === 0) return "0s";
  if (!Number.isInteger(ms)) return `${ms}ms`;

  let rest = ms;
  let text = "";
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  if (hours > 0) text += `${hours}h`;
  if (minutes > 0) text += `${minutes}m`;
  const seconds = Math.floor(rest / 1_000);
  const millis = rest - seconds * 1_000;
  if (seconds > 0) text += `${seconds}s`;
  if (millis > 0) text += `${millis}ms`;
  return text;
}

const BINARY_SUFFIX: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL_SUFFIX: Readonly<Record<string, number>> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY_EXAMPLES = "a byte quantity such as 256Ki, 1Mi, 1G or 1000000 (suffixes Ki Mi Gi Ti Pi Ei, k M G T P E)";

// Kubernetes quantity grammar: an unsigned decimal number, then a binary
// suffix, a decimal suffix or a decimal exponent (e3, E6).
const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([kMGTPE]?)|[eE](\d+))$/;

/**
 * Parses a Kubernetes-style byte quantity (`256Ki`, `1Mi`, `1G`, `1e6`,
 * `1000000`) into bytes. A fractional byte count is rounded up, as
 * Kubernetes does for integer values. The milli suffix `m` is rejected:
 * `256m` means 0.256 bytes, almost always a typo for `256Mi`. Values beyond
 * 2^53 - 1 bytes are rejected because they lose precision.
 */
export function parseQuantity(text: string): Result<number, string> {
  const found = JSON.stringify(text);
  if (text.length === 0) return err(`Expected ${QUANTITY_EXAMPLES}, found an empty string`);

  const match = QUANTITY.exec(text);
  if (match === null) {
    if (/^\d+(?:\.\d*)?m$/.test(text)) {
      return err(`Expected ${QUANTITY_EXAMPLES}, found ${found} (m means thousandths of a byte; did you mean ${text.slice(0, -1)}Mi?)`);
    }
    return err(`Expected ${QUANTITY_EXAMPLES}, found ${found}`);
  }

  const [, digits, binary, decimal, exponent] = match;
  let multiplier: number;
  if (binary !== undefined) multiplier = BINARY_SUFFIX[binary];
  else if (exponent !== undefined) multiplier = 10 ** Number(exponent);
  else multiplier = DECIMAL_SUFFIX[decimal ?? ""];

  const bytes = Math.ceil(Number(digits) * multiplier);
  if (!Number.isSafeInteger(bytes)) {
    return err(`Expected ${QUANTITY_EXAMPLES} of at most ${Number.MAX_SAFE_INTEGER} bytes, found ${found}`);
  }
  return ok(bytes);
}

/**
 * Formats bytes as the shortest exact Kubernetes quantity (`262144` ->
 * `256Ki`, `1000000` -> `1M`, `1000` -> `1k`, `1234` -> `1234`).
 */
export function formatQuantity(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`formatQuantity expects a whole number of bytes >= 0, got ${bytes}`);
  }
  if (bytes === 0) return "0";
  const candidates: Array<[string, number]> = [
    ...Object.entries(BINARY_SUFFIX),
    ...Object.entries(DECIMAL_SUFFIX).filter(([suffix]) => suffix !== ""),
  ].sort((a, b) => b[1] - a[1]);
  for (const [suffix, size] of candidates) {
    if (bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}
