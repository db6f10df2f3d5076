/**
 * Test harness for cross-component tests: an in-process local stack (SQS
 * and S3), real Python runtimes and real Deno sidecars started through
 * sidecar/launch.ts, and helpers to send envelopes and collect what the
 * end actors stored. Every wait is bounded; `stop` ends every process.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalStack, startLocalStack } from "../../local/mod.ts";
import {
  type ActorProcesses,
  launchActor,
  type LaunchOptions,
  REPO_ROOT,
  stopActor,
} from "../../sidecar/launch.ts";

export const FIXTURES = join(REPO_ROOT, "tests", "fixtures");
export const BUCKET = "asya-test";
const credentials = { accessKeyId: "test", secretAccessKey: "test" };

/** One started actor: its processes, its output lines and its socket folder. */
export interface TestActor {
  name: string;
  processes: ActorProcesses;
  lines: string[];
  socketDir?: string;
  httpPort: number;
}

export interface ActorSpec {
  actor: string;
  role?: "actor" | "sink" | "sump";
  handler?: string;
  handlerMode?: "payload" | "envelope";
  sidecarEnv?: Record<string, string>;
  /** Extra runtime variables, such as ASYA_WORKERS. */
  runtimeEnv?: Record<string, string>;
  /** Reuse a socket folder, for a restart. */
  socketDir?: string;
  /** Wait for /readyz before returning; default true. */
  waitReady?: boolean;
}

export class Mesh {
  readonly actors: TestActor[] = [];
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  #socketDirs: string[] = [];

  private constructor(
    readonly stack: LocalStack,
    readonly dataDir: string,
    readonly namespace: string,
  ) {
    this.sqs = new SQSClient({
      region: "us-east-1",
      endpoint: stack.sqsEndpoint,
      credentials,
    });
    this.s3 = new S3Client({
      region: "us-east-1",
      endpoint: stack.s3Endpoint,
      forcePathStyle: true,
      credentials,
    });
  }

  /** Starts a local stack in a temporary folder and creates the bucket. */
  static async start(namespace: string): Promise<Mesh> {
    const dataDir = await mkdtemp(join(tmpdir(), "asya-mesh-"));
    const stack = await startLocalStack({ dataDir, sqsPort: 0, s3Port: 0 });
    const mesh = new Mesh(stack, dataDir, namespace);
    await mesh.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    return mesh;
  }

  queueName(actor: string): string {
    return `asya-${this.namespace}-${actor}`;
  }

  /** Creates the queues of these actors (the end actors' queues always). */
  async createQueues(actors: string[]): Promise<void> {
    for (const actor of new Set([...actors, "x-sink", "x-sump"])) {
      await this.sqs.send(
        new CreateQueueCommand({ QueueName: this.queueName(actor) }),
      );
    }
  }

  queueUrl(actor: string): Promise<string> {
    return Promise.resolve(
      `${this.stack.sqsEndpoint}/000000000000/${this.queueName(actor)}`,
    );
  }

  /** Starts the runtime and sidecar of an actor and waits until it is ready. */
  async startActor(spec: ActorSpec): Promise<TestActor> {
    const role = spec.role ?? "actor";
    const socketDir = role === "actor"
      ? spec.socketDir ?? await this.#newSocketDir()
      : undefined;
    const lines: string[] = [];
    const options: LaunchOptions = {
      actor: spec.actor,
      role,
      namespace: this.namespace,
      handler: spec.handler,
      handlerMode: spec.handlerMode,
      runtimeEnv: spec.runtimeEnv,
      socketDir,
      pythonPath: [FIXTURES],
      sidecarEnv: {
        ASYA_SQS_ENDPOINT: this.stack.sqsEndpoint,
        ASYA_S3_ENDPOINT: this.stack.s3Endpoint,
        ASYA_S3_BUCKET: BUCKET,
        ASYA_AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        ASYA_SQS_WAIT_TIME_SECONDS: "1",
        ASYA_SQS_VISIBILITY_TIMEOUT: "30",
        ASYA_LOG_LEVEL: "debug",
        ...spec.sidecarEnv,
      },
      onLine: (source, line) => {
        lines.push(`[${spec.actor} ${source}] ${line}`);
        if (lines.length > 2000) lines.splice(0, lines.length - 2000);
      },
    };
    const processes = launchActor(options);
    let httpPort: number;
    try {
      httpPort = await withTimeout(
        processes.httpPort,
        30_000,
        `sidecar of ${spec.actor} to listen`,
      );
    } catch (error) {
      await stopActor(processes, 2_000);
      throw new Error(
        `${(error as Error).message}\n${lines.slice(-30).join("\n")}`,
      );
    }
    const actor: TestActor = {
      name: spec.actor,
      processes,
      lines,
      socketDir,
      httpPort,
    };
    this.actors.push(actor);
    if (spec.waitReady ?? true) await this.waitReady(actor);
    return actor;
  }

  /** Polls /readyz until 200, at most 30 s. */
  async waitReady(actor: TestActor, timeoutMs = 30_000): Promise<void> {
    await poll(`${actor.name} to be ready`, timeoutMs, async () => {
      const response = await fetch(`http://127.0.0.1:${actor.httpPort}/readyz`)
        .catch(() => undefined);
      await response?.body?.cancel();
      return response?.status === 200 ? true : undefined;
    }, () => actor.lines.slice(-20).join("\n"));
  }

  async metrics(actor: TestActor): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${actor.httpPort}/metrics`);
    return await response.text();
  }

  /** Sends a raw message body to an actor's queue; returns the SQS message id. */
  async send(actor: string, body: string): Promise<string> {
    const answer = await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: await this.queueUrl(actor),
        MessageBody: body,
      }),
    );
    return answer.MessageId!;
  }

  /** Stores a payload under the claim-check prefix as a client would; returns its payload_ref. */
  async putClaimCheck(
    payloadText: string,
  ): Promise<{ uri: string; bytes: number; sha256: string }> {
    const bytes = new TextEncoder().encode(payloadText);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const key = `claims/${this.namespace}/${sha256}`;
    await this.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }),
    );
    return { uri: `s3://${BUCKET}/${key}`, bytes: bytes.byteLength, sha256 };
  }

  /** Keys stored by the end actors under `results/` or `errors/` of this namespace. */
  async storedKeys(folder: "results" | "errors"): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 100; page++) {
      const answer = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: BUCKET,
          Prefix: `${folder}/${this.namespace}/`,
          ContinuationToken: token,
        }),
      );
      keys.push(...(answer.Contents ?? []).map((object) => object.Key!));
      if (!answer.IsTruncated) break;
      token = answer.NextContinuationToken;
    }
    return keys.sort();
  }

  /** Reads the document stored for envelope `id`. */
  async stored(folder: "results" | "errors", id: string): Promise<string> {
    return await this.readObject(
      `${folder}/${this.namespace}/${encodeURIComponent(id)}.json`,
    );
  }

  async readObject(key: string): Promise<string> {
    const answer = await this.s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: key }),
    );
    return await answer.Body!.transformToString("utf-8");
  }

  /** Waits until the document for `id` exists, at most `timeoutMs`; returns its text. */
  async waitForStored(
    folder: "results" | "errors",
    id: string,
    timeoutMs = 30_000,
  ): Promise<string> {
    return await poll(
      `${folder}/${this.namespace}/${id}.json`,
      timeoutMs,
      async () => {
        try {
          return await this.stored(folder, id);
        } catch {
          return undefined;
        }
      },
      () => this.recentLines(),
    );
  }

  /** Waits until documents for all `ids` exist in `folder`, at most `timeoutMs`; returns their texts in order. */
  async waitForAll(
    folder: "results" | "errors",
    ids: string[],
    timeoutMs = 60_000,
  ): Promise<string[]> {
    const wanted = ids.map((id) =>
      `${folder}/${this.namespace}/${encodeURIComponent(id)}.json`
    );
    await poll(`${ids.length} documents in ${folder}/`, timeoutMs, async () => {
      const keys = new Set(await this.storedKeys(folder));
      return wanted.every((key) => keys.has(key)) ? true : undefined;
    }, () => this.recentLines());
    return await Promise.all(wanted.map((key) => this.readObject(key)));
  }

  /** Waits until `results/` and `errors/` hold at least `count` documents together. */
  async waitForCount(
    count: number,
    timeoutMs = 60_000,
  ): Promise<{ results: string[]; errors: string[] }> {
    return await poll(`${count} stored envelopes`, timeoutMs, async () => {
      const results = await this.storedKeys("results");
      const errors = await this.storedKeys("errors");
      return results.length + errors.length >= count
        ? { results, errors }
        : undefined;
    }, () => this.recentLines());
  }

  /** Visible plus in-flight messages of an actor's queue. */
  async queueDepth(actor: string): Promise<number> {
    const answer = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: await this.queueUrl(actor),
        AttributeNames: [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
        ],
      }),
    );
    return Number(answer.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(answer.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  recentLines(count = 40): string {
    return this.actors.flatMap((actor) => actor.lines.slice(-count)).join("\n");
  }

  /** Stops one actor's processes and removes it from the mesh. */
  async stopActor(actor: TestActor): Promise<void> {
    await stopActor(actor.processes, 5_000);
    const index = this.actors.indexOf(actor);
    if (index >= 0) this.actors.splice(index, 1);
  }

  /** Stops every process, the local stack, and removes temporary folders. */
  async stop(): Promise<void> {
    await Promise.all(
      this.actors.map((actor) => stopActor(actor.processes, 5_000)),
    );
    this.actors.length = 0;
    this.sqs.destroy();
    this.s3.destroy();
    await this.stack.stop();
    await rm(this.dataDir, { recursive: true, force: true });
    for (const dir of this.#socketDirs) {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #newSocketDir(): Promise<string> {
    // Unix socket paths are limited to 107 bytes, so stay short and under /tmp.
    const dir = await mkdtemp("/tmp/asya-");
    this.#socketDirs.push(dir);
    return dir;
  }
}

/** Builds an envelope body for `route`, with the payload as exact JSON text. */
export function envelopeBody(
  id: string,
  route: { prev?: string[]; curr: string; next?: string[] },
  payloadText: string,
  extra: Record<string, unknown> = {},
): string {
  const head = JSON.stringify({
    id,
    route: { prev: route.prev ?? [], curr: route.curr, next: route.next ?? [] },
    ...extra,
  });
  return `${head.slice(0, -1)},"payload":${payloadText}}`;
}

/** Calls `check` every 200 ms until it returns a value, failing after `timeoutMs`. */
export async function poll<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  context?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}\n${context?.() ?? ""}`,
  );
}

async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${what}`),
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

/** Reads one sample from Prometheus text, e.g. `metricValue(text, 'asya_sidecar_claim_check_bytes_total', 'direction="upload"')`. */
export function metricValue(
  text: string,
  name: string,
  labelFragment = "",
): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) || !line.includes(labelFragment)) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}
