/**
 * Starts the mesh of the demo with the sidecar launcher: one Python runtime
 * and one sidecar per actor, plus the x-sink and x-sump sidecars, all
 * tracked in one process group.
 */
import { join } from "node:path";
import { spawnRuntime, spawnSidecar } from "../../sidecar/launch.ts";
import { SINK_ACTOR, SUMP_ACTOR } from "../../shared/queues.ts";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "./aws.ts";
import { type ManagedProcess, type ProcessGroup, waitUntilReady } from "./processes.ts";
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
// takes seconds on a loaded 2-core machine, and six start at once.
const SIDECAR_READY_TIMEOUT_MS = 120_000;
// Short receive polls let a stopping sidecar drain quickly. The local
// endpoint ends a long poll as soon as a message arrives, so latency is the same.
const SQS_WAIT_TIME_SECONDS = "2";
// Sidecars stop before the runtimes they call.
const RUNTIME_WAVE = 1;
const SIDECAR_WAVE = 2;

/**
 * Starts every runtime, then every sidecar, and resolves once all are ready.
 * Throws ProcessError naming the process and quoting its last output lines
 * when one fails to start or to become ready.
 */
export async function startMesh(group: ProcessGroup, options: MeshOptions): Promise<Sidecar[]> {
  const handlersDir = join(options.repoRoot, "examples", "book-insights");

  const runtimes = await Promise.all(ACTORS.map(async (spec) => {
    const socketDir = join(options.workDir, "sockets", spec.actor);
    await Deno.mkdir(socketDir, { recursive: true });
    const pending = group.prepare(`${spec.actor}-runtime`, RUNTIME_WAVE);
    const process = pending.adopt(spawnRuntime({
      actor: spec.actor,
      namespace: options.namespace,
      handler: spec.handler,
      handlerMode: spec.mode,
      socketDir,
      pythonPath: [handlersDir],
      python: options.python,
      runtimeEnv: { ASYA_WORKERS: String(options.concurrency), PYTHONDONTWRITEBYTECODE: "1" },
      onLine: (_source, line) => pending.onLine(line),
    }));
    await waitUntilReady(process, "writing its ready file", () => exists(join(socketDir, "runtime-ready")), {
      timeoutMs: RUNTIME_READY_TIMEOUT_MS,
      signal: options.signal,
    });
    return { actor: spec.actor, socketDir };
  }));

  const roles = [
    ...runtimes.map(({ actor, socketDir }) => ({ actor, role: "actor" as const, socketDir })),
    { actor: SINK_ACTOR, role: "sink" as const, socketDir: undefined },
    { actor: SUMP_ACTOR, role: "sump" as const, socketDir: undefined },
  ];
  return await Promise.all(roles.map((entry) => startSidecar(group, options, entry)));
}

async function startSidecar(
  group: ProcessGroup,
  options: MeshOptions,
  entry: { actor: string; role: "actor" | "sink" | "sump"; socketDir?: string },
): Promise<Sidecar> {
  const pending = group.prepare(`${entry.actor}-sidecar`, SIDECAR_WAVE, (line) => {
    const visit = parseVisit(entry.actor, line);
    if (visit !== undefined) options.timeline.add(visit);
  });
  const launched = spawnSidecar({
    actor: entry.actor,
    role: entry.role,
    namespace: options.namespace,
    socketDir: entry.socketDir,
    deno: Deno.execPath(),
    sidecarEnv: {
      ASYA_AWS_REGION: LOCAL_REGION,
      ASYA_SQS_ENDPOINT: options.sqsEndpoint,
      ASYA_S3_ENDPOINT: options.s3Endpoint,
      ASYA_S3_BUCKET: options.bucket,
      ASYA_CONCURRENCY: String(options.concurrency),
      ASYA_SQS_WAIT_TIME_SECONDS: SQS_WAIT_TIME_SECONDS,
      ASYA_LOG_LEVEL: "info",
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      // Credentials come from the variables above; never probe an instance metadata service.
      AWS_EC2_METADATA_DISABLED: "true",
    },
    onLine: (_source, line) => pending.onLine(line),
  });
  const process = pending.adopt(launched.child);

  let port: number | undefined;
  launched.httpPort.then((value) => (port = value), () => {});
  await waitUntilReady(process, "GET /readyz to return 200", async () => {
    if (port === undefined) return false;
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 200;
  }, { timeoutMs: SIDECAR_READY_TIMEOUT_MS, intervalMs: 200, signal: options.signal });
  return { actor: entry.actor, process, httpUrl: `http://127.0.0.1:${port}` };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
