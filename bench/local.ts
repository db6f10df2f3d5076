// Benchmark of the local SQS endpoint: message throughput (send + receive
// + delete) with batches of 1 and 10, and the server's resident memory at
// a shallow and a deep queue.
//
//   npx deno run -A bench/local.ts [--seconds 15] [--depths 10000,1000000]
//
// The server runs as its own process (`local/main.ts`), as in `deno task
// local`, and the client is @aws-sdk/client-sqs in this process. Deep
// queues are filled straight into the SQLite store in 10,000-message
// transactions, because a million messages through HTTP would take longer
// than the run budget. The server then starts on that data directory and
// is driven through the SDK. Prints a JSON summary.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { QueueStore } from "../local/queue-store.ts";
import { openDatabase } from "../local/sqlite.ts";

interface Options {
  seconds: number;
  depths: number[];
}

function parseOptions(args: string[]): Options {
  const options: Options = { seconds: 15, depths: [10_000, 1_000_000] };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--seconds") options.seconds = Number(args[++i]);
    else if (args[i] === "--depths") {
      options.depths = args[++i].split(",").map(Number);
    } else {throw new Error(
        `Unknown argument ${args[i]}: expected --seconds N or --depths N,N`,
      );}
  }
  if (
    !(options.seconds > 0) ||
    options.depths.some((depth) => !Number.isInteger(depth) || depth < 0)
  ) {
    throw new Error(
      "--seconds must be positive and --depths a list of non-negative integers",
    );
  }
  return options;
}

const DENO = "Deno" in globalThis
  ? process.execPath
  : join("node_modules", ".bin", "deno");

interface Server {
  child: ChildProcess;
  sqsEndpoint: string;
}

async function startServer(dataDir: string): Promise<Server> {
  const child = spawn(DENO, [
    "run",
    "-A",
    "local/main.ts",
    "--sqs-port",
    "0",
    "--s3-port",
    "0",
    "--data-dir",
    dataDir,
  ], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(
      () => reject(new Error("Local stack did not start within 60 s")),
      60_000,
    );
    child.stdout!.on("data", (chunk) => {
      buffer += chunk;
      const newline = buffer.indexOf("\n");
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(buffer.slice(0, newline));
      }
    });
    child.on(
      "close",
      (code) =>
        reject(new Error(`Local stack exited with ${code} before starting`)),
    );
  });
  return { child, sqsEndpoint: JSON.parse(line).sqsEndpoint };
}

async function stopServer(server: Server): Promise<void> {
  const closed = new Promise((resolve) => server.child.on("close", resolve));
  server.child.kill("SIGTERM");
  await closed;
}

/** Resident and peak resident memory of a process in MiB, from /proc. */
async function memoryMiB(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) /
    1024;
  return { rss: round(field("VmRSS")), peak: round(field("VmHWM")) };
}

const round = (value: number, digits = 1) =>
  Math.round(value * 10 ** digits) / 10 ** digits;

function client(endpoint: string): SQSClient {
  return new SQSClient({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
  });
}

/** Sends, receives and deletes for `seconds`; returns completed messages per second. */
async function throughput(
  sqs: SQSClient,
  queueUrl: string,
  batchSize: number,
  seconds: number,
): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let completed = 0;
  while (performance.now() < deadline) {
    if (batchSize === 1) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: `message ${completed}`,
        }),
      );
    } else {
      const Entries = Array.from(
        { length: batchSize },
        (_, i) => ({ Id: `m${i}`, MessageBody: `message ${completed + i}` }),
      );
      await sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }),
      );
    }
    let pending = batchSize;
    // Bounded: a batch is normally received in one call.
    for (let attempt = 0; pending > 0 && attempt < 10; attempt++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, pending),
        }),
      );
      if (Messages.length === 0) continue;
      if (batchSize === 1) {
        await sqs.send(
          new DeleteMessageCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: Messages[0].ReceiptHandle,
          }),
        );
      } else {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Messages.map((message, i) => ({
              Id: `d${i}`,
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      }
      pending -= Messages.length;
      completed += Messages.length;
    }
  }
  return round(completed / ((performance.now() - started) / 1000), 0);
}

/** Fills a queue named "deep" with `depth` messages of about 200 bytes, straight into the store. */
async function prefill(dataDir: string, depth: number): Promise<void> {
  const db = await openDatabase(join(dataDir, "sqs.sqlite"));
  try {
    const store = new QueueStore(db);
    const queue = store.create("deep", "us-east-1", undefined, {})!;
    const body = JSON.stringify({
      id: "x".repeat(36),
      route: { prev: [], curr: "a", next: ["b"] },
      payload: "y".repeat(100),
    });
    for (let sent = 0; sent < depth; sent += 10_000) {
      const count = Math.min(10_000, depth - sent);
      store.send(
        queue,
        Array.from(
          { length: count },
          () => ({ body, delaySeconds: 0, senderId: "bench" }),
        ),
        Date.now(),
      );
    }
  } finally {
    db.close();
  }
}

async function depthRun(depth: number): Promise<Record<string, number>> {
  const dataDir = await mkdtemp(join(tmpdir(), "asya-bench-local-"));
  try {
    const fillStarted = performance.now();
    await prefill(dataDir, depth);
    const fillSeconds = round((performance.now() - fillStarted) / 1000);
    const server = await startServer(dataDir);
    try {
      const idle = await memoryMiB(server.child.pid!);
      const sqs = client(server.sqsEndpoint);
      const queueUrl = `${server.sqsEndpoint}/000000000000/deep`;
      const countStarted = performance.now();
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ["ApproximateNumberOfMessages"],
        }),
      );
      const countMs = round(performance.now() - countStarted);
      if (Number(Attributes?.ApproximateNumberOfMessages) !== depth) {
        throw new Error(
          `Expected ${depth} messages, found ${Attributes?.ApproximateNumberOfMessages}`,
        );
      }
      // Work the deep queue: 1,000 messages through send, receive and delete.
      const rate = await throughputFixed(sqs, queueUrl, 100);
      const busy = await memoryMiB(server.child.pid!);
      sqs.destroy();
      const dbBytes = (await stat(join(dataDir, "sqs.sqlite"))).size;
      return {
        depth,
        fill_seconds: fillSeconds,
        count_ms: countMs,
        messages_per_second_at_depth: rate,
        rss_idle_mib: idle.rss,
        rss_after_work_mib: busy.rss,
        rss_peak_mib: busy.peak,
        database_mib: round(dbBytes / 1024 / 1024),
      };
    } finally {
      await stopServer(server);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function throughputFixed(
  sqs: SQSClient,
  queueUrl: string,
  batches: number,
): Promise<number> {
  const started = performance.now();
  for (let batch = 0; batch < batches; batch++) {
    const Entries = Array.from(
      { length: 10 },
      (_, i) => ({ Id: `m${i}`, MessageBody: `fresh ${batch}-${i}` }),
    );
    await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }),
    );
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
      }),
    );
    if (Messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((message, i) => ({
            Id: `d${i}`,
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
  }
  return round((batches * 10) / ((performance.now() - started) / 1000), 0);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    runtime: "Deno" in globalThis
      ? `deno ${process.versions.deno}`
      : `node ${process.version}`,
  };

  const dataDir = await mkdtemp(join(tmpdir(), "asya-bench-local-"));
  try {
    const server = await startServer(dataDir);
    try {
      const sqs = client(server.sqsEndpoint);
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: "bench" }),
      );
      results.batch_1_messages_per_second = await throughput(
        sqs,
        QueueUrl!,
        1,
        options.seconds,
      );
      results.batch_10_messages_per_second = await throughput(
        sqs,
        QueueUrl!,
        10,
        options.seconds,
      );
      sqs.destroy();
    } finally {
      await stopServer(server);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }

  const depths = [];
  for (const depth of options.depths) depths.push(await depthRun(depth));
  results.depths = depths;
  console.log(JSON.stringify(results, null, 2));
}

await main();
