// Structured logs: one JSON object per line with stable keys. The local
// stack never logs message bodies or object contents.

/** A log event: `event` names what happened; other keys add context. */
export type LogEvent =
  & { event: string }
  & Record<string, string | number | boolean | undefined>;

/** Receives log events. */
export type Logger = (event: LogEvent) => void;

/** Discards every event; the default for in-process use. */
export const silentLogger: Logger = () => {};

/** Returns a logger that writes `{"time", "component", ...event}` lines through `write`. */
export function jsonLogger(
  write: (line: string) => void,
  component = "local",
): Logger {
  return (event) =>
    write(
      JSON.stringify({ time: new Date().toISOString(), component, ...event }),
    );
}
