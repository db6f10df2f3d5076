/**
 * Live progress of a demo run on stderr: one line with, per actor, the
 * envelopes done out of those received (and failures), then how many
 * envelopes x-sink and x-sump have stored out of those expected.
 * On a terminal the line is rewritten in place; otherwise a new line is
 * printed when the numbers change, at most every few seconds.
 */

export interface ActorProgress {
  actor: string;
  received: number;
  done: number;
  failed: number;
}

export interface ProgressSnapshot {
  elapsedMs: number;
  actors: ActorProgress[];
  stored: number;
  /** Envelopes expected in x-sink and x-sump; undefined while some book's chapter count is unknown. */
  expected?: number;
}

/** Formats one progress line, without a line ending. */
export function formatProgress(snapshot: ProgressSnapshot): string {
  const actors = snapshot.actors.map((entry) => {
    const failed = entry.failed > 0 ? ` (${entry.failed} failed)` : "";
    return `${entry.actor} ${entry.done}/${entry.received}${failed}`;
  });
  const seconds = (snapshot.elapsedMs / 1000).toFixed(1).padStart(5);
  return `[${seconds}s] ${actors.join(" | ")} | stored ${snapshot.stored}/${snapshot.expected ?? "?"}`;
}

const PLAIN_INTERVAL_MS = 3_000;

export class Progress {
  #lastLine = "";
  #lastPrintedMs = -Infinity;
  #onTerminalLine = false;

  constructor(private readonly write: (text: string) => void, private readonly isTerminal: boolean) {}

  /** Shows the snapshot; `force` prints it even when the plain-output interval has not passed. */
  update(snapshot: ProgressSnapshot, force = false): void {
    const line = formatProgress(snapshot);
    if (this.isTerminal) {
      // \x1b[2K clears the old line, whose text may be longer than the new one.
      this.write(`\r\x1b[2K${line}`);
      this.#onTerminalLine = true;
      return;
    }
    const changed = line.slice(line.indexOf("]")) !== this.#lastLine.slice(this.#lastLine.indexOf("]"));
    if (changed && (force || snapshot.elapsedMs - this.#lastPrintedMs >= PLAIN_INTERVAL_MS)) {
      this.write(`${line}\n`);
      this.#lastLine = line;
      this.#lastPrintedMs = snapshot.elapsedMs;
    }
  }

  /** Prints a message on its own line, after the live line if there is one. */
  note(message: string): void {
    this.finish();
    this.write(`${message}\n`);
  }

  /** Ends the live line so later output starts on a fresh line. */
  finish(): void {
    if (this.#onTerminalLine) this.write("\n");
    this.#onTerminalLine = false;
  }
}
