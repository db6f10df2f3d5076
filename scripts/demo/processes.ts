/**
 * Child processes of the demo: track them with their output captured, wait
 * until they are ready, and stop every one of them, whatever happened.
 *
 * The processes are started elsewhere (the sidecar launcher); the group
 * gives each a line sink first, then adopts the child. Each process writes
 * its output lines to `{logDir}/{name}.log`, and the last lines are kept in
 * memory so a failure message can quote them.
 */
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";

const KEPT_LINES = 30;

export interface ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  /** Resolves with the exit code (or 128 + signal number) once the process has exited. */
  readonly exited: Promise<number>;
  /** The exit code once known, else undefined. */
  exitCode(): number | undefined;
  /** The last output lines, oldest first. */
  lastLines(): string[];
}

/** A failure to start or keep running one process; the message quotes its last output lines. */
export class ProcessError extends Error {
  constructor(readonly processName: string, reason: string, readonly lines: string[]) {
    super(`${processName} ${reason}${formatLines(lines)}`);
    this.name = "ProcessError";
  }
}

/** A process being started: feed its output to `onLine`, then hand the child to `adopt`. */
export interface PendingProcess {
  onLine(line: string): void;
  adopt(child: ChildProcess): ManagedProcess;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export class ProcessGroup {
  #processes: { managed: ManagedProcess; child: ChildProcess; wave: number }[] = [];
  #stopping = false;

  constructor(readonly logDir: string) {}

  /**
   * Prepares the tracking of one process. `wave` orders the shutdown:
   * higher waves stop first (sidecars before the runtimes they call).
   * `onLine` also receives every output line. Throws ProcessError once
   * `stopAll` has begun.
   */
  prepare(name: string, wave: number, onLine?: (line: string) => void): PendingProcess {
    if (this.#stopping) throw new ProcessError(name, "was not started: the demo is stopping", []);
    const logFile = `${this.logDir}/${name}.log`;
    const log = openSync(logFile, "a");
    let logOpen = true;
    const lines: string[] = [];

    const remember = (line: string) => {
      if (logOpen) writeSync(log, `${line}\n`);
      lines.push(line);
      if (lines.length > KEPT_LINES) lines.shift();
      onLine?.(line);
    };

    const adopt = (child: ChildProcess): ManagedProcess => {
      let code: number | undefined;
      const exited = new Promise<number>((resolve) => {
        const finish = (value: number) => {
          if (code !== undefined) return;
          code = value;
          logOpen = false;
          closeSync(log);
          resolve(value);
        };
        // A command that cannot run at all emits "error" instead of "exit".
        child.once("error", (error) => {
          remember(`failed to start: ${error.message}`);
          finish(127);
        });
        // "close" comes after the output streams end, so the last lines are already kept.
        child.once("close", (exitCode, signal) => {
          finish(exitCode ?? 128 + (SIGNAL_NUMBERS[signal ?? ""] ?? 0));
        });
      });
      const managed: ManagedProcess = {
        name,
        logFile,
        exited,
        exitCode: () => code,
        lastLines: () => [...lines],
      };
      this.#processes.push({ managed, child, wave });
      return managed;
    };
    return { onLine: remember, adopt };
  }

  /** Processes adopted so far, in start order. */
  list(): ManagedProcess[] {
    return this.#processes.map(({ managed }) => managed);
  }

  /**
   * Stops every process, one wave at a time from the highest: SIGTERM,
   * then SIGKILL to those still running after `graceMs` (default 5000).
   * Safe to call more than once.
   */
  async stopAll(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    const waves = [...new Set(this.#processes.map((entry) => entry.wave))].sort((a, b) => b - a);
    for (const wave of waves) {
      const running = this.#processes.filter((entry) => entry.wave === wave && entry.managed.exitCode() === undefined);
      for (const { child } of running) signal(child, "SIGTERM");
      const allExited = Promise.allSettled(running.map(({ managed }) => managed.exited));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        allExited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        for (const { child, managed } of running) if (managed.exitCode() === undefined) signal(child, "SIGKILL");
        await allExited;
      }
    }
  }
}

/**
 * Polls `check` every `intervalMs` until it returns true. Throws ProcessError
 * when the process exits first or `timeoutMs` passes.
 */
export async function waitUntilReady(
  process: ManagedProcess,
  condition: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  while (true) {
    options.signal?.throwIfAborted();
    const code = process.exitCode();
    if (code !== undefined) {
      throw new ProcessError(process.name, `exited with code ${code} before ${condition}`, process.lastLines());
    }
    if (await check().catch(() => false)) return;
    if (Date.now() >= deadline) {
      throw new ProcessError(
        process.name,
        `did not become ready within ${options.timeoutMs} ms (waiting for ${condition})`,
        process.lastLines(),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** Formats output lines as an indented block for an error message, or "" when there are none. */
export function formatLines(lines: string[]): string {
  if (lines.length === 0) return "";
  return `\n  last output lines:\n${lines.map((line) => `    ${line}`).join("\n")}`;
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  try {
    child.kill(name);
  } catch {
    // The process exited between the check and the signal.
  }
}
