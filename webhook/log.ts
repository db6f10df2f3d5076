/**
 * Structured JSON logging: one line per event with stable keys. The print
 * function is a parameter, so tests capture lines without patching globals.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields attached to a log line; values must never be payloads or secrets. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** Logger writing one JSON object per line. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** Returns a logger that adds `fields` to every line. */
  with(fields: LogFields): Logger;
}

/** Parses a log level name; returns undefined for anything else. */
export function parseLogLevel(text: string): LogLevel | undefined {
  return text in LEVEL_ORDER ? text as LogLevel : undefined;
}

/**
 * Creates a logger that prints lines at `level` and above through `print`
 * (default `console.log`), with `component` and `time` on every line.
 */
export function createLogger(options: {
  level?: LogLevel;
  print?: (line: string) => void;
  now?: () => number;
  fields?: LogFields;
} = {}): Logger {
  const minimum = LEVEL_ORDER[options.level ?? "info"];
  const print = options.print ?? ((line: string) => console.log(line));
  const now = options.now ?? Date.now;
  const base: LogFields = { component: "webhook", ...options.fields };

  const write = (level: LogLevel, event: string, fields?: LogFields) => {
    if (LEVEL_ORDER[level] < minimum) return;
    print(JSON.stringify({ time: new Date(now()).toISOString(), level, event, ...base, ...fields }));
  };
  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
    with: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}
