/**
 * SQS access for the sidecar, behind a small interface so the processing
 * logic can be tested without a network.
 *
 * The AWS SDK retries throttling and network errors itself (standard retry
 * mode, exponential backoff with jitter). On top of that, batch calls check
 * every entry: failed entries that SQS marks as not the sender's fault are
 * retried with backoff, and any entry still failing makes the call throw.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { sleep } from "./runtime-client.ts";

/** One message received from a queue. */
export interface QueueMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** How often SQS has delivered this message, including this time. */
  receiveCount: number;
}

export interface QueueClient {
  /** URL of the queue named `name`, or undefined when the queue does not exist. Found URLs are cached. */
  queueUrl(name: string): Promise<string | undefined>;
  /** Long-polls up to `max` messages (1 to 10); returns [] when `signal` aborts. */
  receive(
    queueUrl: string,
    options: {
      max: number;
      waitSeconds: number;
      visibilitySeconds: number;
      signal?: AbortSignal;
    },
  ): Promise<QueueMessage[]>;
  /** Sends every body; throws BatchEntryError when some still fail after retries. */
  send(queueUrl: string, bodies: string[]): Promise<void>;
  /** Deletes messages by receipt handle; throws BatchEntryError when some still fail after retries. */
  delete(queueUrl: string, receiptHandles: string[]): Promise<void>;
  /** Sets the visibility timeout of messages; throws BatchEntryError when some still fail after retries. */
  changeVisibility(
    queueUrl: string,
    receiptHandles: string[],
    seconds: number,
  ): Promise<void>;
}

/** Some entries of a batch call failed even after retries. */
export class BatchEntryError extends Error {
  override name = "BatchEntryError";
  constructor(
    readonly operation: string,
    readonly failures: Array<{ code: string; message: string }>,
  ) {
    super(
      `${operation} failed for ${failures.length} entr${
        failures.length === 1 ? "y" : "ies"
      }: ` +
        failures.slice(0, 3).map((failure) =>
          `${failure.code} (${failure.message})`
        ).join(", "),
    );
  }
}

/** Maximum entries of one SQS batch call. */
export const MAX_BATCH_ENTRIES = 10;

/**
 * Maximum total body bytes of one SendMessageBatch call. SQS allows 1 MiB
 * since August 2025; 256 KiB keeps older limits and compatible servers happy.
 */
export const MAX_BATCH_BYTES = 262_144;

const ENTRY_RETRY_ATTEMPTS = 5;
const ENTRY_RETRY_BASE_MS = 100;

export interface SqsOptions {
  region: string;
  endpoint?: string;
}

export function createSqsQueueClient(options: SqsOptions): QueueClient {
  const client = new SQSClient({
    region: options.region,
    endpoint: options.endpoint,
    maxAttempts: 5,
    retryMode: "standard",
  });
  const urls = new Map<string, string>();

  return {
    async queueUrl(name) {
      const cached = urls.get(name);
      if (cached !== undefined) return cached;
      try {
        const answer = await client.send(
          new GetQueueUrlCommand({ QueueName: name }),
        );
        if (answer.QueueUrl === undefined) return undefined;
        urls.set(name, answer.QueueUrl);
        return answer.QueueUrl;
      } catch (error) {
        if (isQueueMissing(error)) return undefined;
        throw error;
      }
    },

    async receive(queueUrl, { max, waitSeconds, visibilitySeconds, signal }) {
      try {
        const answer = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(Math.max(max, 1), MAX_BATCH_ENTRIES),
            WaitTimeSeconds: waitSeconds,
            VisibilityTimeout: visibilitySeconds,
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: signal },
        );
        return (answer.Messages ?? []).map((message) => ({
          messageId: message.MessageId ?? "",
          receiptHandle: message.ReceiptHandle ?? "",
          body: message.Body ?? "",
          receiveCount: Number(
            message.Attributes?.ApproximateReceiveCount ?? "1",
          ),
        }));
      } catch (error) {
        if (signal?.aborted) return [];
        throw error;
      }
    },

    async send(queueUrl, bodies) {
      for (const batch of packSendBatches(bodies)) {
        await runBatch("SendMessageBatch", batch, async (entries) => {
          const answer = await client.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: entries.map(({ id, value }) => ({
                Id: id,
                MessageBody: value,
              })),
            }),
          );
          return answer.Failed ?? [];
        });
      }
    },

    async delete(queueUrl, receiptHandles) {
      for (const batch of chunk(receiptHandles, MAX_BATCH_ENTRIES)) {
        await runBatch("DeleteMessageBatch", batch, async (entries) => {
          const answer = await client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: entries.map(({ id, value }) => ({
                Id: id,
                ReceiptHandle: value,
              })),
            }),
          );
          return answer.Failed ?? [];
        });
      }
    },

    async changeVisibility(queueUrl, receiptHandles, seconds) {
      if (receiptHandles.length === 1) {
        await client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandles[0],
            VisibilityTimeout: seconds,
          }),
        );
        return;
      }
      for (const batch of chunk(receiptHandles, MAX_BATCH_ENTRIES)) {
        await runBatch(
          "ChangeMessageVisibilityBatch",
          batch,
          async (entries) => {
            const answer = await client.send(
              new ChangeMessageVisibilityBatchCommand({
                QueueUrl: queueUrl,
                Entries: entries.map(({ id, value }) => ({
                  Id: id,
                  ReceiptHandle: value,
                  VisibilityTimeout: seconds,
                })),
              }),
            );
            return answer.Failed ?? [];
          },
        );
      }
    },
  };
}

interface FailedEntry {
  Id?: string;
  SenderFault?: boolean;
  Code?: string;
  Message?: string;
}

/**
 * Runs one batch call and retries only its failed entries. Entries failed
 * by the sender's fault (bad input) are not retried because they would
 * fail again; the error names them instead.
 */
export async function runBatch(
  operation: string,
  values: string[],
  call: (
    entries: Array<{ id: string; value: string }>,
  ) => Promise<FailedEntry[]>,
  wait: (ms: number) => Promise<void> = sleep,
): Promise<void> {
  let pending = values.map((value, index) => ({ id: String(index), value }));
  let lastFailures: FailedEntry[] = [];

  for (
    let attempt = 0;
    attempt < ENTRY_RETRY_ATTEMPTS && pending.length > 0;
    attempt++
  ) {
    if (attempt > 0) await wait(ENTRY_RETRY_BASE_MS * 2 ** (attempt - 1));
    const failed = await call(pending);
    if (failed.length === 0) return;

    const senderFaults = failed.filter((entry) => entry.SenderFault === true);
    if (senderFaults.length > 0) {
      throw new BatchEntryError(operation, senderFaults.map(describeFailure));
    }

    const failedIds = new Set(failed.map((entry) => entry.Id));
    pending = pending.filter((entry) => failedIds.has(entry.id));
    lastFailures = failed;
  }
  if (pending.length > 0) {
    throw new BatchEntryError(operation, lastFailures.map(describeFailure));
  }
}

/** Splits bodies into SendMessageBatch calls of at most 10 entries and MAX_BATCH_BYTES UTF-8 bytes. */
export function packSendBatches(
  bodies: string[],
  maxBytes = MAX_BATCH_BYTES,
): string[][] {
  const encoder = new TextEncoder();
  const batches: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  for (const body of bodies) {
    const size = encoder.encode(body).byteLength;
    if (
      current.length > 0 &&
      (current.length === MAX_BATCH_ENTRIES || currentBytes + size > maxBytes)
    ) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(body);
    currentBytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function chunk<T>(values: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let index = 0; index < values.length; index += size) {
    chunks.push(values.slice(index, index + size));
  }
  return chunks;
}

function describeFailure(
  entry: FailedEntry,
): { code: string; message: string } {
  return {
    code: entry.Code ?? "Unknown",
    message: entry.Message ?? "no message",
  };
}

function isQueueMissing(error: unknown): boolean {
  const name = (error as { name?: string; Code?: string })?.name ?? "";
  const code = (error as { Code?: string })?.Code ?? "";
  return [name, code].some((value) =>
    value === "QueueDoesNotExist" ||
    value === "AWS.SimpleQueueService.NonExistentQueue"
  );
}
