/**
 * Structured logging: one JSON object per line with stable keys.
 *
 * Every line carries `time`, `level`, `component` ("sidecar"), `actor` and
 * `event`; callers add fields such as `envelope_id`, `queue`, `route_next`,
 * `duration_ms`, `reason` and `error`. Payloads are never passed to the
 * logger, so they never reach the output.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

export const LOG_LEVELS: readonly LogLevel[] = [
  "debug",
  "info",
  "warn",
  "error",
];

/** Extra keys of one log line. Values must be JSON-serialisable. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** Returns a logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

/**
 * Creates a logger that writes lines at `level` and above through `write`
 * (default: standard output). Tests pass their own `write` to capture lines.
 */
export function createLogger(options: {
  level: LogLevel;
  base?: LogFields;
  write?: (line: string) => void;
  now?: () => Date;
}): Logger {
  const minimum = LOG_LEVELS.indexOf(options.level);
  const write = options.write ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => new Date());

  function build(base: LogFields): Logger {
    function emit(level: LogLevel, event: string, fields?: LogFields): void {
      if (LOG_LEVELS.indexOf(level) < minimum) return;
      const line = {
        time: now().toISOString(),
        level,
        ...base,
        event,
        ...fields,
      };
      write(JSON.stringify(line, replaceErrors));
    }
    return {
      debug: (event, fields) => emit("debug", event, fields),
      info: (event, fields) => emit("info", event, fields),
      warn: (event, fields) => emit("warn", event, fields),
      error: (event, fields) => emit("error", event, fields),
      with: (fields) => build({ ...base, ...fields }),
    };
  }
  return build({ component: "sidecar", ...options.base });
}

/** Formats an error for the `error` key: its message, prefixed by its name unless it is a plain Error. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error.name && error.name !== "Error"
      ? `${error.name}: ${error.message}`
      : error.message;
  }
  return String(error);
}

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return describeError(value);
  if (typeof value === "bigint") return value.toString();
  return value;
}
