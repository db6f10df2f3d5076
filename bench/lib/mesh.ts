/**
 * The shared setup of the mesh benchmarks: the local stack as its own
 * process (as `deno task local` runs it), AWS SDK clients in the bench
 * process, and actors (Python runtime plus Deno sidecar) started through
 * sidecar/launch.ts. Every process is tracked by the ProcessRegistry, so
 * `closeMesh` or a failed run stops them all.
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ROOT, spawnRuntime, spawnSidecar } from "../../sidecar/launch.ts";
import { poll, type ProcessRegistry, withTimeout } from "./processes.ts";

export const NAMESPACE = "bench";
export const BUCKET = "asya-bench";
export const DENO = join(REPO_ROOT, "node_modules", ".bin", "deno");
const HANDLERS_DIR = join(REPO_ROOT, "bench", "lib", "python");
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const START_TIMEOUT_MS = 60_000;

/** A running local stack with clients for it. */
export interface Mesh {
  processes: ProcessRegistry;
  sqsEndpoint: string;
  s3Endpoint: string;
  stackPid: number;
  sqs: SQSClient;
  s3: S3Client;
  /** Folder for the stack's data and the actors' sockets; removed by closeMesh. */
  workDir: string;
}

/** One actor: its runtime (absent when it shares another's) and its sidecar. */
export interface BenchActor {
  name: string;
  runtime?: ChildProcess;
  sidecar: ChildProcess;
  socketDir: string;
  httpPort: number;
}

/** Options of a sidecar started by {@link startSidecar}. */
export interface SidecarOptions {
  actor: string;
  socketDir: string;
  /** ASYA_CONCURRENCY; default 1. */
  concurrency?: number;
  /** Replaces the SQS endpoint, for example with a recording proxy. */
  sqsEndpoint?: string;
  /** Receives every output line of the sidecar with the time it arrived (performance.now()). */
  onLine?: (line: string, atMs: number) => void;
  /** Wait for /readyz; default true. */
  waitReady?: boolean;
}

/** Starts the local stack in a fresh temporary folder and creates the bucket. */
export async function openMesh(processes: ProcessRegistry): Promise<Mesh> {
  const workDir = await mkdtemp("/tmp/asya-bench-");
  const dataDir = join(workDir, "data");
  let firstLine: (line: string) => void = () => {};
  const started = new Promise<string>((resolve) => (firstLine = resolve));
  const child = processes.spawn(DENO, [
    "run",
    "-A",
    join(REPO_ROOT, "local", "main.ts"),
    "--sqs-port",
    "0",
    "--s3-port",
    "0",
    "--data-dir",
    dataDir,
  ], {
    cwd: REPO_ROOT,
    onLine: (line) => {
      if (line.startsWith('{"sqsEndpoint"')) firstLine(line);
    },
  });
  const exited = new Promise<never>((_, reject) =>
    child.once(
      "exit",
      (code) =>
        reject(new Error(`Local stack exited with ${code} before it started`)),
    )
  );
  const line = await withTimeout(
    Promise.race([started, exited]),
    START_TIMEOUT_MS,
    "the local stack to start",
  );
  const { sqsEndpoint, s3Endpoint } = JSON.parse(line) as {
    sqsEndpoint: string;
    s3Endpoint: string;
  };

  const sqs = new SQSClient({
    region: "us-east-1",
    endpoint: sqsEndpoint,
    credentials: CREDENTIALS,
  });
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: s3Endpoint,
    forcePathStyle: true,
    credentials: CREDENTIALS,
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  return {
    processes,
    sqsEndpoint,
    s3Endpoint,
    stackPid: child.pid!,
    sqs,
    s3,
    workDir,
  };
}

/** Stops every process of the run and removes the work folder. */
export async function closeMesh(mesh: Mesh): Promise<void> {
  await mesh.processes.stopAll(3_000);
  mesh.sqs.destroy();
  mesh.s3.destroy();
  await rm(mesh.workDir, { recursive: true, force: true });
}

export function queueName(actor: string): string {
  return `asya-${NAMESPACE}-${actor}`;
}

export function queueUrl(mesh: Mesh, actor: string): string {
  return `${mesh.sqsEndpoint}/000000000000/${queueName(actor)}`;
}

/** Creates the queues of `actors` and of the end actors. */
export async function createQueues(
  mesh: Mesh,
  actors: string[],
): Promise<void> {
  for (const actor of new Set([...actors, "x-sink", "x-sump"])) {
    await mesh.sqs.send(
      new CreateQueueCommand({ QueueName: queueName(actor) }),
    );
  }
}

/** Starts a Python runtime with the no-op handler and waits for its ready file. */
export async function startRuntime(
  mesh: Mesh,
  name: string,
): Promise<{ child: ChildProcess; socketDir: string }> {
  // Unix socket paths are limited to 107 bytes, so the folder stays short.
  const socketDir = await mkdtemp(join(mesh.workDir, "s"));
  const child = spawnRuntime({
    actor: name,
    namespace: NAMESPACE,
    handler: "bench_handlers.passthrough",
    socketDir,
    pythonPath: [HANDLERS_DIR],
    runtimeEnv: { ASYA_LOG_LEVEL: "warning" },
  });
  mesh.processes.track(child);
  await poll(`the runtime of ${name} to be ready`, START_TIMEOUT_MS, () => {
    if (child.exitCode !== null) {
      throw new Error(
        `The runtime of ${name} exited with ${child.exitCode} before it was ready`,
      );
    }
    return Promise.resolve(
      existsSync(join(socketDir, "runtime-ready")) ? true : undefined,
    );
  });
  return { child, socketDir };
}

/** Starts a sidecar of role actor, as the webhook would configure it, and waits until it is ready. */
export async function startSidecar(
  mesh: Mesh,
  options: SidecarOptions,
): Promise<{ child: ChildProcess; httpPort: number }> {
  const recent: string[] = [];
  const { child, httpPort } = spawnSidecar({
    actor: options.actor,
    namespace: NAMESPACE,
    socketDir: options.socketDir,
    sidecarEnv: {
      ASYA_SQS_ENDPOINT: options.sqsEndpoint ?? mesh.sqsEndpoint,
      ASYA_S3_ENDPOINT: mesh.s3Endpoint,
      ASYA_S3_BUCKET: BUCKET,
      ASYA_AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      ASYA_CONCURRENCY: String(options.concurrency ?? 1),
      ASYA_LOG_LEVEL: "info",
    },
    onLine: (_source, line) => {
      recent.push(line);
      if (recent.length > 10) recent.shift();
      options.onLine?.(line, performance.now());
    },
  });
  mesh.processes.track(child);
  let port: number;
  try {
    port = await withTimeout(
      httpPort,
      START_TIMEOUT_MS,
      `the sidecar of ${options.actor} to listen`,
    );
  } catch (error) {
    // The last output lines usually name the reason, such as an invalid setting.
    throw new Error(
      `${(error as Error).message}; its last output: ${recent.join(" ")}`,
    );
  }
  if (options.waitReady ?? true) {
    await poll(
      `the sidecar of ${options.actor} to be ready`,
      START_TIMEOUT_MS,
      async () => {
        if (child.exitCode !== null) {
          throw new Error(
            `The sidecar of ${options.actor} exited with ${child.exitCode}`,
          );
        }
        const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(
          () => undefined,
        );
        await response?.body?.cancel();
        return response?.status === 200 ? true : undefined;
      },
    );
  }
  return { child, httpPort: port };
}

/** Starts the runtime and the sidecar of each actor, all at once, and waits until every one is ready. */
export async function startActors(
  mesh: Mesh,
  names: string[],
  onLine?: SidecarOptions["onLine"],
): Promise<BenchActor[]> {
  await createQueues(mesh, names);
  return await Promise.all(names.map(async (name) => {
    const runtime = await startRuntime(mesh, name);
    const sidecar = await startSidecar(mesh, {
      actor: name,
      socketDir: runtime.socketDir,
      onLine,
    });
    return {
      name,
      runtime: runtime.child,
      sidecar: sidecar.child,
      socketDir: runtime.socketDir,
      httpPort: sidecar.httpPort,
    };
  }));
}

/** Builds an envelope body with `payloadText` spliced in as exact JSON. */
export function envelopeBody(
  id: string,
  route: { curr: string; next: string[] },
  payload: { text: string } | { ref: object },
): string {
  const head = JSON.stringify({
    id,
    route: { prev: [], curr: route.curr, next: route.next },
    headers: {},
  });
  const member = "text" in payload
    ? `"payload":${payload.text}`
    : `"payload_ref":${JSON.stringify(payload.ref)}`;
  return `${head.slice(0, -1)},${member}}`;
}
