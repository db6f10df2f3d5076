/**
 * Starts and stops Deno processes for tests. The binary is spawned by its
 * absolute path instead of through `npx deno`, because npx runs Deno as a
 * grandchild: a signal sent to npx does not reach Deno, and the server it
 * started keeps running after the test run.
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root, from this file's location. */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The Deno binary installed by the `deno` npm package. */
export const DENO = join(REPO_ROOT, "node_modules", ".bin", "deno");

/** Spawns `deno ARGS...` with the repository root as working directory. */
export function spawnDeno(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(DENO, args, { cwd: REPO_ROOT, ...options });
}

/**
 * Resolves with the exit code, or the signal name when a signal ended the
 * process. Resolves at once when the process has already exited.
 */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  // "close" comes after "exit" and after stdout and stderr end, so every output line has been read.
  return new Promise((resolve) => child.once("close", (code, signal) => resolve(code ?? signal ?? "unknown")));
}

/**
 * Sends SIGTERM and waits for the process to exit. A process still running
 * after `graceMs` (default 10 s) gets SIGKILL. Resolves like
 * {@link exited}, or with "timeout" when the process has not closed 5 s
 * after SIGKILL.
 */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<number | string> {
  const exit = exited(child);
  if (child.exitCode !== null || child.signalCode !== null) return exit;
  child.kill("SIGTERM");
  const graceful = await within(exit, graceMs);
  if (graceful !== "timeout") return graceful;
  child.kill("SIGKILL");
  return within(exit, 5_000);
}

async function within<T>(promise: Promise<T>, milliseconds: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), milliseconds)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
