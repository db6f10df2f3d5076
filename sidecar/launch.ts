/**
 * Starts an actor on one machine, outside Kubernetes: the Python runtime
 * (`python3 pyworker/asya_runtime.py`) and the sidecar (`deno run
 * sidecar/main.ts`) as child processes, or only the sidecar for the end
 * actors. Used by the integration tests and the local demo; runs on Node
 * and on Deno (node:child_process only).
 *
 * Sockets live in `socketDir`; Unix socket paths are limited to 107 bytes,
 * so pick a short directory such as one made by `mkdtemp("/tmp/asya-")`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root, found from this file's location. */
export const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** Deno permissions of the sidecar, the same as `deno task sidecar`. */
export const SIDECAR_DENO_FLAGS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];

export interface LaunchOptions {
  /** Actor name; ignored for the end roles, whose names are fixed. */
  actor: string;
  role?: "actor" | "sink" | "sump";
  namespace: string;
  /** `module.function` or `module.Class.method`; required for role actor. */
  handler?: string;
  handlerMode?: "payload" | "envelope";
  /** Directory of the runtime socket and ready file (role actor only). */
  socketDir?: string;
  /** Folders added to PYTHONPATH so the handler module can be imported. */
  pythonPath?: string[];
  /** Python interpreter; default `python3`. */
  python?: string;
  /** Deno executable; default `node_modules/.bin/deno` under the repository root. */
  deno?: string;
  /** ASYA_* settings of the sidecar (endpoints, bucket, timeouts...), merged over the computed ones. */
  sidecarEnv?: Record<string, string>;
  /** Extra variables of the runtime, such as ASYA_WORKERS. */
  runtimeEnv?: Record<string, string>;
  /** Called with every output line of both processes. */
  onLine?: (source: "runtime" | "sidecar", line: string) => void;
}

/** The processes of one actor. */
export interface ActorProcesses {
  runtime?: ChildProcess;
  sidecar: ChildProcess;
  /** Port of the sidecar's health and metrics server, once it listens. */
  httpPort: Promise<number>;
  /** Exit code of the sidecar (null when killed by a signal), once it exits. */
  sidecarExit: Promise<number | null>;
}

/** Starts the Python runtime of an actor. */
export function spawnRuntime(options: LaunchOptions): ChildProcess {
  if (options.handler === undefined || options.socketDir === undefined) {
    throw new TypeError(
      `actor ${options.actor}: a handler and a socketDir are required to start the runtime`,
    );
  }
  const pythonPath = [
    ...(options.pythonPath ?? []),
    process.env.PYTHONPATH ?? "",
  ].filter((part) => part !== "");
  const child = spawn(options.python ?? "python3", [
    join(REPO_ROOT, "pyworker", "asya_runtime.py"),
  ], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      PYTHONPATH: pythonPath.join(":"),
      PYTHONUNBUFFERED: "1",
      ASYA_HANDLER: options.handler,
      ASYA_HANDLER_MODE: options.handlerMode ?? "payload",
      ASYA_SOCKET_DIR: options.socketDir,
      ASYA_LOG_LEVEL: "info",
      ...options.runtimeEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  forwardLines(child, "runtime", options.onLine);
  return child;
}

/** Starts the sidecar of an actor or end actor; the HTTP port defaults to a free one on 127.0.0.1. */
export function spawnSidecar(
  options: LaunchOptions,
): { child: ChildProcess; httpPort: Promise<number> } {
  const role = options.role ?? "actor";
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    ASYA_ROLE: role,
    ASYA_NAMESPACE: options.namespace,
    ASYA_HTTP_HOST: "127.0.0.1",
    ASYA_HTTP_PORT: "0",
    ...(role === "actor" ? { ASYA_ACTOR_NAME: options.actor } : {}),
    ...(options.socketDir === undefined
      ? {}
      : { ASYA_SOCKET_DIR: options.socketDir }),
    ...options.sidecarEnv,
  };
  for (
    const name of [
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "DENO_DIR",
    ]
  ) {
    if (env[name] === undefined && process.env[name] !== undefined) {
      env[name] = process.env[name]!;
    }
  }

  const deno = options.deno ?? join(REPO_ROOT, "node_modules", ".bin", "deno");
  const child = spawn(deno, [
    "run",
    ...SIDECAR_DENO_FLAGS,
    join(REPO_ROOT, "sidecar", "main.ts"),
  ], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });

  let resolvePort: (port: number) => void;
  let rejectPort: (error: Error) => void;
  const httpPort = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  // Callers that never ask for the port must not see an unhandled rejection.
  httpPort.catch(() => {});
  forwardLines(child, "sidecar", (source, line) => {
    if (line.includes('"http_listening"')) {
      try {
        resolvePort(Number((JSON.parse(line) as { port: number }).port));
      } catch {
        // Not a log line of ours; keep waiting.
      }
    }
    options.onLine?.(source, line);
  });
  child.once(
    "exit",
    (code) =>
      rejectPort(
        new Error(
          `sidecar of ${options.actor} exited with ${code} before listening`,
        ),
      ),
  );
  return { child, httpPort };
}

/** Starts the runtime (role actor only) and the sidecar of one actor. */
export function launchActor(options: LaunchOptions): ActorProcesses {
  const runtime = (options.role ?? "actor") === "actor"
    ? spawnRuntime(options)
    : undefined;
  const { child: sidecar, httpPort } = spawnSidecar(options);
  return { runtime, sidecar, httpPort, sidecarExit: exitCodeOf(sidecar) };
}

/** Resolves with the exit code of a child process (null after a signal). */
export function exitCodeOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode);
  }
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/**
 * Stops a child process: `signal` first (SIGTERM by default), SIGKILL when
 * it has not exited after `graceMs` (default 10 s). Resolves with its exit code.
 */
export async function stopProcess(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = "SIGTERM",
  graceMs = 10_000,
): Promise<number | null> {
  if (child === undefined) return null;
  const exited = exitCodeOf(child);
  if (child.exitCode !== null || child.signalCode !== null) return await exited;
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Stops the sidecar first, so it stops taking messages, then the runtime. */
export async function stopActor(
  actor: ActorProcesses,
  graceMs = 10_000,
): Promise<void> {
  await stopProcess(actor.sidecar, "SIGTERM", graceMs);
  await stopProcess(actor.runtime, "SIGTERM", graceMs);
}

function forwardLines(
  child: ChildProcess,
  source: "runtime" | "sidecar",
  onLine: ((source: "runtime" | "sidecar", line: string) => void) | undefined,
): void {
  for (const stream of [child.stdout, child.stderr]) {
    let rest = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line !== "") onLine?.(source, line);
    });
    stream?.on("end", () => {
      if (rest !== "") onLine?.(source, rest);
    });
  }
}
