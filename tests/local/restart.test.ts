// Durability: everything the local stack accepted is still there after a
// stop and a start on the same data directory.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { LocalStackError } from "../../local/mod.ts";
import {
  makeTempDir,
  rejection,
  removeDir,
  s3Client,
  sqsClient,
  startLocalStack,
} from "./helpers.ts";

let dataDir: string;
const SENT_BODIES = ["single", "batch-a", "batch-b"];

beforeAll(async () => {
  dataDir = await makeTempDir();
});

afterAll(async () => {
  await removeDir(dataDir);
});

test("messages, queues and objects survive a restart", async () => {
  let inFlightBody = "";
  const first = await startLocalStack({ dataDir });
  try {
    const sqs = sqsClient(first);
    const s3 = s3Client(first);
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: "durable",
        Attributes: { VisibilityTimeout: "120" },
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: "single",
        MessageAttributes: { kind: { DataType: "String", StringValue: "one" } },
      }),
    );
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [{ Id: "a", MessageBody: "batch-a" }, {
          Id: "b",
          MessageBody: "batch-b",
        }],
      }),
    );
    // One message is in flight when the stack stops: it stays hidden for
    // the rest of its visibility timeout after the restart.
    const inFlight = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(inFlight.Messages).toHaveLength(1);
    inFlightBody = inFlight.Messages![0].Body!;
    await s3.send(
      new PutObjectCommand({
        Bucket: "results",
        Key: "r/1.json",
        Body: '{"ok":true}',
      }),
    );
    sqs.destroy();
    s3.destroy();
  } finally {
    await first.stop();
  }

  const second = await startLocalStack({ dataDir });
  try {
    const sqs = sqsClient(second);
    const s3 = s3Client(second);
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: "durable" }),
    );
    expect(QueueUrl).toBe(`${second.sqsEndpoint}/000000000000/durable`);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }),
    );
    expect(Attributes?.VisibilityTimeout).toBe("120");
    expect(Attributes?.ApproximateNumberOfMessages).toBe("2");
    expect(Attributes?.ApproximateNumberOfMessagesNotVisible).toBe("1");

    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
      }),
    );
    expect(Messages).toHaveLength(2);
    const bodies = Messages!.map((message) => message.Body).sort();
    expect(bodies).toEqual(
      SENT_BODIES.filter((body) => body !== inFlightBody).sort(),
    );
    const single = Messages!.find((message) => message.Body === "single");
    if (inFlightBody !== "single") {
      expect(single?.MessageAttributes?.kind.StringValue).toBe("one");
    }

    const object = await s3.send(
      new GetObjectCommand({ Bucket: "results", Key: "r/1.json" }),
    );
    expect(await object.Body!.transformToString()).toBe('{"ok":true}');
    sqs.destroy();
    s3.destroy();
  } finally {
    await second.stop();
  }
});

test("startLocalStack names a busy port", async () => {
  const first = await startLocalStack({ dataDir });
  try {
    const port = Number(new URL(first.sqsEndpoint).port);
    const error = await rejection(
      startLocalStack({ dataDir: `${dataDir}/other`, sqsPort: port }),
    );
    expect(error).toBeInstanceOf(LocalStackError);
    expect(error.message).toBe(
      `SQS port ${port} on 127.0.0.1 is already in use`,
    );
  } finally {
    await first.stop();
  }
});

test("a data directory serves one stack at a time", async () => {
  const first = await startLocalStack({ dataDir });
  try {
    const error = await rejection(startLocalStack({ dataDir }));
    expect(error).toBeInstanceOf(LocalStackError);
    expect(error.message).toContain(`is in use by process ${process.pid}`);
  } finally {
    await first.stop();
  }
  // The lock is gone after stop, so the directory can be used again.
  const again = await startLocalStack({ dataDir });
  await again.stop();
});

test("a lock left by a stopped process is taken over", async () => {
  const dir = join(dataDir, "stale");
  await mkdir(dir, { recursive: true });
  // A process id above the Linux maximum (4,194,304) cannot be running.
  await writeFile(join(dir, "local-stack.lock"), "4194305");
  const stack = await startLocalStack({ dataDir: dir });
  await stack.stop();
});

test("stop keeps a lock that another process took over", async () => {
  const dir = join(dataDir, "taken-over");
  await mkdir(dir, { recursive: true });
  const stack = await startLocalStack({ dataDir: dir });
  await writeFile(join(dir, "local-stack.lock"), "4194305");
  await stack.stop();
  expect(await readFile(join(dir, "local-stack.lock"), "utf8")).toBe("4194305");
});

test("startLocalStack rejects a non-loopback host", async () => {
  const error = await rejection(startLocalStack({ dataDir, host: "0.0.0.0" }));
  expect(error).toBeInstanceOf(LocalStackError);
  expect(error.message).toContain('found "0.0.0.0"');
});

test("stop is idempotent", async () => {
  const stack = await startLocalStack({ dataDir });
  await stack.stop();
  await stack.stop();
});
