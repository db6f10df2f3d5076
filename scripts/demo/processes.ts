/**
 * Child processes of the demo: start them with their output captured, wait
 * until they are ready, and stop every one of them, whatever happened.
 *
 * Each process writes its stdout and stderr to `{logDir}/{name}.log`; the
 * last lines are kept in memory so a failure message can quote them.
 */

const KEPT_LINES = 30;

export interface ProcessSpec {
  /** Name used in messages and as the log file name, for example `split-sidecar`. */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Called for every complete output line, stdout and stderr alike. */
  onLine?: (line: string) => void;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
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

export class ProcessGroup {
  #processes: { managed: ManagedProcess; child: Deno.ChildProcess }[] = [];
  #stopping = false;

  constructor(readonly logDir: string) {}

  /** Starts a process. Throws ProcessError when the command cannot be run at all. */
  start(spec: ProcessSpec): ManagedProcess {
    if (this.#stopping) throw new ProcessError(spec.name, "was not started: the demo is stopping", []);
    const logFile = `${this.logDir}/${spec.name}.log`;
    const log = Deno.openSync(logFile, { create: true, append: true });
    const lines: string[] = [];
    const remember = (line: string) => {
      lines.push(line);
      if (lines.length > KEPT_LINES) lines.shift();
      spec.onLine?.(line);
    };

    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(spec.command, {
        args: spec.args,
        env: spec.env,
        cwd: spec.cwd,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      log.close();
      throw new ProcessError(spec.name, `failed to start (${spec.command}): ${describe(error)}`, []);
    }

    const pumps = [pumpLines(child.stdout, log, remember), pumpLines(child.stderr, log, remember)];
    let code: number | undefined;
    const exited = child.status.then(async (status) => {
      await Promise.allSettled(pumps);
      log.close();
      code = status.signal === null ? status.code : 128 + signalNumber(status.signal);
      return code;
    });

    const managed: ManagedProcess = {
      name: spec.name,
      pid: child.pid,
      logFile,
      exited,
      exitCode: () => code,
      lastLines: () => [...lines],
    };
    this.#processes.push({ managed, child });
    return managed;
  }

  /** Processes started so far, in start order. */
  list(): ManagedProcess[] {
    return this.#processes.map(({ managed }) => managed);
  }

  /**
   * Stops every process: SIGTERM to all, then SIGKILL to those still running
   * after `graceMs` (default 5000). Safe to call more than once.
   */
  async stopAll(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    const running = this.#processes.filter(({ managed }) => managed.exitCode() === undefined);
    for (const { child } of running) signal(child, "SIGTERM");

    const timer = new Promise<"timeout">((resolve) => {
      const id = setTimeout(() => resolve("timeout"), graceMs);
      Promise.allSettled(running.map(({ managed }) => managed.exited)).then(() => clearTimeout(id));
    });
    const outcome = await Promise.race([
      Promise.allSettled(running.map(({ managed }) => managed.exited)).then(() => "done" as const),
      timer,
    ]);
    if (outcome === "timeout") {
      for (const { child, managed } of running) {
        if (managed.exitCode() === undefined) signal(child, "SIGKILL");
      }
      await Promise.allSettled(running.map(({ managed }) => managed.exited));
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

async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  log: Deno.FsFile,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    try {
      log.writeSync(chunk);
    } catch {
      // The log file is a convenience: a full disk must not stop the demo.
    }
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  }
  if (pending !== "") onLine(pending);
}

function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // The process exited between the check and the signal.
  }
}

function signalNumber(name: Deno.Signal): number {
  const numbers: Partial<Record<Deno.Signal, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[name] ?? 0;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
