/**
 * Starts the mesh of the demo: one Python runtime and one sidecar per actor,
 * plus the x-sink and x-sump sidecars, all as child processes in one group.
 */
import { join } from "node:path";
import { SINK_ACTOR, SUMP_ACTOR } from "../../shared/queues.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "./aws.ts";
import { type ManagedProcess, ProcessGroup, waitUntilReady } from "./processes.ts";
import { parseVisit, type Timeline } from "./timeline.ts";

/** One actor of the example pipeline and how its handler is called. */
export interface ActorSpec {
  actor: string;
  handler: string;
  mode: "payload" | "envelope";
}

export const ACTORS: ActorSpec[] = [
  { actor: "split", handler: "split.process", mode: "payload" },
  { actor: "router", handler: "router.process", mode: "envelope" },
  { actor: "summarize", handler: "summarize.process", mode: "payload" },
  { actor: "analyze", handler: "analyze.process", mode: "payload" },
];

/** Every actor with a queue, in pipeline order, end actors last. */
export const ALL_ACTORS = [...ACTORS.map((spec) => spec.actor), SINK_ACTOR, SUMP_ACTOR];

export interface MeshOptions {
  repoRoot: string;
  workDir: string;
  namespace: string;
  bucket: string;
  sqsEndpoint: string;
  s3Endpoint: string;
  concurrency: number;
  timeline: Timeline;
  signal: AbortSignal;
  /** Python interpreter for the runtimes; default `python3`. */
  python?: string;
}

export interface Sidecar {
  actor: string;
  process: ManagedProcess;
  /** `http://127.0.0.1:{port}`, serving /healthz, /readyz and /metrics. */
  httpUrl: string;
}

const RUNTIME_READY_TIMEOUT_MS = 30_000;
// The first start of a sidecar loads the AWS SDK from node_modules, which
// takes seconds on a loaded 2-core machine; six start at once.
const SIDECAR_READY_TIMEOUT_MS = 120_000;
// Short receive polls let a stopping sidecar drain quickly. The local
// endpoint ends a long poll as soon as a message arrives, so latency is the same.
const SQS_WAIT_TIME_SECONDS = "2";

/**
 * Starts every runtime, then every sidecar, and resolves once all are ready.
 * Throws ProcessError naming the process and quoting its last output lines
 * when one fails to start or to become ready.
 */
export async function startMesh(group: ProcessGroup, options: MeshOptions): Promise<Sidecar[]> {
  // Settings of the caller's own Asya or AWS setup must not leak into the demo's processes.
  const inherited = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => !name.startsWith("ASYA_") && !name.startsWith("AWS_")),
  );
  const handlersDir = join(options.repoRoot, "examples", "book-insights");

  const runtimes = await Promise.all(ACTORS.map(async (spec) => {
    const socketDir = join(options.workDir, "sockets", spec.actor);
    await Deno.mkdir(socketDir, { recursive: true });
    const process = group.start({
      name: `${spec.actor}-runtime`,
      command: options.python ?? "python3",
      args: [join(options.repoRoot, "pyworker", "asya_runtime.py")],
      cwd: handlersDir,
      env: {
        ...inherited,
        PYTHONPATH: handlersDir,
        PYTHONDONTWRITEBYTECODE: "1",
        PYTHONUNBUFFERED: "1",
        ASYA_HANDLER: spec.handler,
        ASYA_HANDLER_MODE: spec.mode,
        ASYA_SOCKET_DIR: socketDir,
        ASYA_WORKERS: String(options.concurrency),
        ASYA_LOG_LEVEL: "info",
      },
    });
    await waitUntilReady(process, "writing its ready file", () => exists(join(socketDir, "runtime-ready")), {
      timeoutMs: RUNTIME_READY_TIMEOUT_MS,
      signal: options.signal,
    });
    return { spec, socketDir };
  }));

  const roles = [
    ...runtimes.map(({ spec, socketDir }) => ({ actor: spec.actor, role: "actor", socketDir })),
    { actor: SINK_ACTOR, role: "sink", socketDir: join(options.workDir, "sockets", SINK_ACTOR) },
    { actor: SUMP_ACTOR, role: "sump", socketDir: join(options.workDir, "sockets", SUMP_ACTOR) },
  ];
  return await Promise.all(roles.map((entry) => startSidecar(group, options, inherited, entry)));
}

async function startSidecar(
  group: ProcessGroup,
  options: MeshOptions,
  inherited: Record<string, string>,
  entry: { actor: string; role: string; socketDir: string },
): Promise<Sidecar> {
  let port: number | undefined;
  const process = group.start({
    name: `${entry.actor}-sidecar`,
    command: Deno.execPath(),
    args: ["run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", "sidecar/main.ts"],
    cwd: options.repoRoot,
    env: {
      ...inherited,
      ASYA_ACTOR_NAME: entry.actor,
      ASYA_NAMESPACE: options.namespace,
      ASYA_ROLE: entry.role,
      ASYA_AWS_REGION: LOCAL_REGION,
      ASYA_SQS_ENDPOINT: options.sqsEndpoint,
      ASYA_S3_ENDPOINT: options.s3Endpoint,
      ASYA_S3_BUCKET: options.bucket,
      ASYA_SOCKET_DIR: entry.socketDir,
      ASYA_CONCURRENCY: String(options.concurrency),
      ASYA_SQS_WAIT_TIME_SECONDS: SQS_WAIT_TIME_SECONDS,
      ASYA_HTTP_HOST: "127.0.0.1",
      ASYA_HTTP_PORT: "0",
      ASYA_LOG_LEVEL: "info",
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      // Credentials come from the variables above; never probe an instance metadata service.
      AWS_EC2_METADATA_DISABLED: "true",
    },
    onLine: (line) => {
      const visit = parseVisit(entry.actor, line);
      if (visit !== undefined) {
        options.timeline.add(visit);
        return;
      }
      port ??= listeningPort(line);
    },
  });

  await waitUntilReady(process, "GET /readyz to return 200", async () => {
    if (port === undefined) return false;
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 200;
  }, { timeoutMs: SIDECAR_READY_TIMEOUT_MS, intervalMs: 200, signal: options.signal });
  return { actor: entry.actor, process, httpUrl: `http://127.0.0.1:${port}` };
}

function listeningPort(line: string): number | undefined {
  if (!line.includes('"http_listening"')) return undefined;
  try {
    const port = JSON.parse(line).port;
    return Number.isInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
