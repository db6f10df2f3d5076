/**
 * Child processes of a benchmark run: a registry that stops every process
 * it started (also after a failure), memory figures from /proc, and
 * bounded waits. Runs on Deno; only node: built-ins and Web APIs.
 */
import {
  type ChildProcess,
  spawn,
  type SpawnOptions,
} from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { exitCodeOf, stopProcess } from "../../sidecar/launch.ts";

/** Every process the bench started and has not stopped yet, so a failed run still ends them. */
export class ProcessRegistry {
  #children = new Set<ChildProcess>();

  /** Starts `command` and tracks it; output lines go to `onLine` when given. */
  spawn(
    command: string,
    args: string[],
    options: SpawnOptions & { onLine?: (line: string) => void } = {},
  ): ChildProcess {
    const { onLine, ...spawnOptions } = options;
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...spawnOptions,
    });
    this.track(child);
    if (onLine !== undefined) forwardLines(child, onLine);
    return child;
  }

  /** Tracks a process started elsewhere (for example by sidecar/launch.ts). */
  track(child: ChildProcess | undefined): void {
    if (child === undefined) return;
    this.#children.add(child);
    void exitCodeOf(child).then(() => this.#children.delete(child));
  }

  /** Stops one process: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
    if (child === undefined) return;
    await stopProcess(child, "SIGTERM", graceMs);
    this.#children.delete(child);
  }

  /**
   * Kills one process with SIGKILL and waits for its exit. For sidecars
   * whose work is done: a graceful stop lets the pending long poll return,
   * which takes up to ASYA_SQS_WAIT_TIME_SECONDS (20 s by default).
   */
  async kill(child: ChildProcess | undefined): Promise<void> {
    if (child === undefined) return;
    await stopProcess(child, "SIGKILL", 10_000);
    this.#children.delete(child);
  }

  /** Stops every tracked process at once. */
  async stopAll(graceMs = 10_000): Promise<void> {
    await Promise.all(
      [...this.#children].map((child) => this.stop(child, graceMs)),
    );
  }

  get running(): number {
    return this.#children.size;
  }
}

/** Calls `onLine` with every non-empty line of the process's standard output and error. */
export function forwardLines(
  child: ChildProcess,
  onLine: (line: string) => void,
): void {
  for (const stream of [child.stdout, child.stderr]) {
    let rest = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line !== "") onLine(line);
    });
  }
}

/** Resident set size now and its peak (VmHWM), in bytes, from /proc/PID/status. */
export interface Memory {
  rssBytes: number;
  peakBytes: number;
}

/** Reads the memory of process `pid`; throws when the process is gone. */
export async function readMemory(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
    if (match === null) {
      throw new Error(`Field ${name} missing from /proc/${pid}/status`);
    }
    return Number(match[1]) * 1024;
  };
  return { rssBytes: field("VmRSS"), peakBytes: field("VmHWM") };
}

/**
 * Resets the peak resident set size (VmHWM) of `pid` to its current RSS by
 * writing 5 to /proc/PID/clear_refs (Linux 4.0 and later). Returns false
 * when the kernel refuses, in which case the peak covers the whole life of
 * the process.
 */
export async function resetPeakMemory(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Resolves `promise`, or rejects after `timeoutMs` with a message naming `what`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `check` every `intervalMs` until it returns a value; throws after `timeoutMs`. */
export async function poll<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  intervalMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(intervalMs);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
