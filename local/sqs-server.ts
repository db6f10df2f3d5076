// HTTP front end of the local SQS endpoint: AWS JSON 1.0 over node:http
// (POST with `X-Amz-Target: AmazonSQS.<Action>`), long-poll wake-ups and
// the periodic retention sweep.

import { Buffer } from "node:buffer";
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { randomUUID } from "node:crypto";
import type { QueueStore } from "./queue-store.ts";
import { serializationError, SqsError } from "./sqs-errors.ts";
import {
  type RequestContext,
  SqsOperations,
  type Waiters,
} from "./sqs-operations.ts";
import type { Logger } from "./log.ts";

// A valid request carries at most 1 MiB of message data. 16 MiB leaves
// room for JSON escaping and for oversized batches, which then fail with
// BatchRequestTooLong, and still stops a runaway client.
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
// Long polls also look again on this tick, so a message whose visibility
// timeout expires is delivered to a waiting receiver without a send.
const WAIT_TICK_MS = 200;
const RETENTION_SWEEP_MS = 60_000;

/** Wakes long polls per queue; every wait ends when the server stops. */
class QueueWaiters implements Waiters {
  #waiting = new Map<number, Set<() => void>>();
  #stopped = false;

  notify(queueId: number): void {
    const waiting = this.#waiting.get(queueId);
    if (!waiting) return;
    this.#waiting.delete(queueId);
    for (const wake of waiting) wake();
  }

  wait(queueId: number, ms: number): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      let waiting = this.#waiting.get(queueId);
      if (!waiting) this.#waiting.set(queueId, waiting = new Set());
      const wake = () => {
        clearTimeout(timer);
        this.#waiting.get(queueId)?.delete(wake);
        resolve(!this.#stopped);
      };
      const timer = setTimeout(wake, Math.max(0, Math.min(ms, WAIT_TICK_MS)));
      waiting.add(wake);
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const queueId of [...this.#waiting.keys()]) this.notify(queueId);
  }
}

/** A running SQS endpoint. */
export interface SqsServer {
  server: Server;
  /** Sets the base URL used in queue URLs once the port is known. */
  setEndpoint(url: string): void;
  /** Ends long polls and the retention sweep; the caller closes the server. */
  stop(): void;
}

/** Creates (but does not start listening) the SQS HTTP server over `store`. */
export function createSqsServer(store: QueueStore, log: Logger): SqsServer {
  const waiters = new QueueWaiters();
  const operations = new SqsOperations(store, waiters);
  let endpoint = "";

  const server = createServer((request, response) => {
    handle(request, response).catch((error) => {
      log({ event: "sqs_internal_error", error: String(error) });
      if (!response.headersSent) {
        sendJson(response, 500, {
          __type: "com.amazonaws.sqs#InternalError",
          message: "Internal error in the local SQS endpoint",
        }, { "x-amzn-query-error": "InternalError;Receiver" });
      } else {
        response.destroy();
      }
    });
  });

  async function handle(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const target = String(request.headers["x-amz-target"] ?? "");
    if (request.method !== "POST" || !target.startsWith("AmazonSQS.")) {
      await readBody(request);
      sendError(
        response,
        serializationError(
          `Expected a POST with header X-Amz-Target: AmazonSQS.<Action> (AWS JSON 1.0 protocol), found ${request.method} with X-Amz-Target "${target}"`,
        ),
      );
      return;
    }

    const body = await readBody(request);
    if (body === undefined) {
      sendError(
        response,
        serializationError(`Request body exceeds ${MAX_REQUEST_BYTES} bytes`),
      );
      return;
    }
    let input: Record<string, unknown>;
    try {
      const parsed = body.length === 0 ? {} : JSON.parse(body);
      if (
        typeof parsed !== "object" || parsed === null || Array.isArray(parsed)
      ) throw new Error("not an object");
      input = parsed;
    } catch {
      sendError(
        response,
        serializationError("Request body must be a JSON object"),
      );
      return;
    }

    let clientGone = false;
    response.on("close", () => {
      if (!response.writableFinished) clientGone = true;
    });
    const context: RequestContext = {
      endpoint,
      ...signingFacts(String(request.headers.authorization ?? "")),
      now: Date.now,
      clientGone: () => clientGone,
    };
    try {
      const output = await operations.run(
        target.slice("AmazonSQS.".length),
        input,
        context,
      );
      sendJson(response, 200, output);
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      sendError(response, error);
    }
  }

  const sweep = setInterval(() => {
    try {
      const removed = store.expireMessages(Date.now());
      if (removed > 0) log({ event: "sqs_messages_expired", count: removed });
    } catch (error) {
      log({ event: "sqs_retention_sweep_failed", error: String(error) });
    }
  }, RETENTION_SWEEP_MS);
  // The sweep must not keep a process alive on its own.
  (sweep as { unref?: () => void }).unref?.();

  return {
    server,
    setEndpoint: (url) => void (endpoint = url),
    stop() {
      clearInterval(sweep);
      waiters.stop();
    },
  };
}

/** Region and access key id from a SigV4 Authorization header; defaults when absent. */
function signingFacts(
  authorization: string,
): { region: string; senderId: string } {
  const match = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/sqs\//.exec(
    authorization,
  );
  return match
    ? { senderId: match[1], region: match[2] }
    : { senderId: "000000000000", region: "us-east-1" };
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let tooLarge = false;
    request.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on(
      "end",
      () =>
        resolve(tooLarge ? undefined : Buffer.concat(chunks).toString("utf8")),
    );
    request.on("error", reject);
  });
}

function sendError(response: ServerResponse, error: SqsError): void {
  sendJson(response, error.status, error.toBody(), {
    "x-amzn-query-error": error.queryErrorHeader(),
  });
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": randomUUID(),
    ...headers,
  });
  response.end(text);
}
