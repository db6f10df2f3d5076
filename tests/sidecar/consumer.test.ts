import { afterEach, describe, expect, it, vi } from "vitest";
import { Consumer, type HandleResult } from "../../sidecar/consumer.ts";
import { createLogger } from "../../sidecar/log.ts";
import { createMetrics } from "../../sidecar/metrics.ts";
import type { QueueClient, QueueMessage } from "../../sidecar/queue.ts";

/**
 * Queue that hands out prepared messages, then long-polls until the test
 * calls `respond` or the receive is aborted.
 */
class FakeQueue implements QueueClient {
  pending: QueueMessage[] = [];
  receiveMax: number[] = [];
  visibility: Array<{ handles: string[]; seconds: number }> = [];
  aborted = 0;
  #respond: ((messages: QueueMessage[]) => void) | undefined;

  /** Ends the long poll in progress with `messages`. */
  respond(messages: QueueMessage[]): void {
    const respond = this.#respond;
    this.#respond = undefined;
    respond?.(messages);
  }

  queueUrl() {
    return Promise.resolve("url");
  }
  receive(_url: string, options: { max: number; signal?: AbortSignal }) {
    this.receiveMax.push(options.max);
    if (this.pending.length > 0) {
      return Promise.resolve(this.pending.splice(0, options.max));
    }
    return new Promise<QueueMessage[]>((resolve) => {
      this.#respond = resolve;
      options.signal?.addEventListener("abort", () => {
        this.aborted += 1;
        resolve([]);
      }, { once: true });
    });
  }
  send() {
    return Promise.resolve();
  }
  delete() {
    return Promise.resolve();
  }
  changeVisibility(_url: string, handles: string[], seconds: number) {
    this.visibility.push({ handles, seconds });
    return Promise.resolve();
  }
}

function message(index: number): QueueMessage {
  return {
    messageId: `m-${index}`,
    receiptHandle: `r-${index}`,
    body: "{}",
    receiveCount: 1,
  };
}

function consumer(
  queue: FakeQueue,
  handle: (message: QueueMessage) => Promise<HandleResult>,
  concurrency = 2,
) {
  const metrics = createMetrics();
  return {
    metrics,
    consumer: new Consumer({
      queues: queue,
      queueUrl: "url",
      concurrency,
      waitSeconds: 20,
      visibilitySeconds: 30,
      metrics,
      log: createLogger({ level: "error", write: () => {} }),
      handle,
    }),
  };
}

/** A handler whose calls finish only when the test resolves them. */
function controlledHandler() {
  const started: string[] = [];
  const finishers = new Map<string, (result: HandleResult) => void>();
  const handle = (message: QueueMessage) =>
    new Promise<HandleResult>((resolve) => {
      started.push(message.messageId);
      finishers.set(message.messageId, resolve);
    });
  return { started, finishers, handle };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe("Consumer", () => {
  it("keeps at most concurrency messages in flight", async () => {
    const queue = new FakeQueue();
    queue.pending = [message(1), message(2), message(3)];
    const handler = controlledHandler();
    const { consumer: loop, metrics } = consumer(queue, handler.handle, 2);
    const exit = loop.run();
    await flush();

    expect(handler.started).toEqual(["m-1", "m-2"]);
    expect(metrics.inFlight).toBe(2);
    handler.finishers.get("m-1")!({ kind: "continue" });
    await flush();
    await flush();
    expect(handler.started).toEqual(["m-1", "m-2", "m-3"]);
    expect(queue.receiveMax.slice(0, 2)).toEqual([2, 1]);

    handler.finishers.get("m-2")!({ kind: "continue" });
    handler.finishers.get("m-3")!({ kind: "continue" });
    const drained = loop.drain(5_000);
    queue.respond([]);
    await drained;
    expect(await exit).toBe(0);
    expect(queue.aborted).toBe(0);
    expect(metrics.received).toBe(3);
    expect(metrics.inFlight).toBe(0);
  });

  it("finishes in-flight work on drain and returns late messages", async () => {
    const queue = new FakeQueue();
    queue.pending = [message(1)];
    const handler = controlledHandler();
    const { consumer: loop } = consumer(queue, handler.handle, 2);
    const exit = loop.run();
    await flush();

    const drained = loop.drain(5_000);
    // The long poll in progress returns a message after the drain began.
    queue.respond([message(9)]);
    await flush();
    expect(queue.visibility).toEqual([{ handles: ["r-9"], seconds: 0 }]);
    expect(loop.inFlightCount).toBe(1);

    handler.finishers.get("m-1")!({ kind: "continue" });
    await drained;
    expect(await exit).toBe(0);
    expect(handler.started).toEqual(["m-1"]);
    expect(queue.aborted).toBe(0);
  });

  it("returns unfinished messages when the grace period ends", async () => {
    const queue = new FakeQueue();
    queue.pending = [message(1)];
    const handler = controlledHandler();
    const { consumer: loop } = consumer(queue, handler.handle, 2);
    const exit = loop.run();
    await flush();

    await loop.drain(50);
    expect(await exit).toBe(0);
    expect(queue.aborted).toBe(1);
    expect(queue.visibility).toContainEqual({ handles: ["r-1"], seconds: 0 });
  });

  it("extends visibility while a message is processed", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const queue = new FakeQueue();
    queue.pending = [message(1)];
    const handler = controlledHandler();
    const { consumer: loop } = consumer(queue, handler.handle, 1);
    const exit = loop.run();
    await flush();

    vi.advanceTimersByTime(15_000);
    vi.advanceTimersByTime(15_000);
    expect(queue.visibility).toEqual([
      { handles: ["r-1"], seconds: 30 },
      { handles: ["r-1"], seconds: 30 },
    ]);

    handler.finishers.get("m-1")!({ kind: "continue" });
    await flush();
    vi.advanceTimersByTime(60_000);
    expect(queue.visibility).toHaveLength(2);
    const drained = loop.drain(5_000);
    queue.respond([]);
    await drained;
    expect(await exit).toBe(0);
  });

  it("stops with the handler's exit code and returns the other messages", async () => {
    const queue = new FakeQueue();
    queue.pending = [message(1), message(2)];
    const handler = controlledHandler();
    const { consumer: loop } = consumer(queue, handler.handle, 2);
    const exit = loop.run();
    await flush();

    handler.finishers.get("m-1")!({
      kind: "stop",
      exitCode: 3,
      releaseThis: true,
    });
    expect(await exit).toBe(3);
    expect(queue.visibility).toEqual([
      { handles: ["r-1"], seconds: 0 },
      { handles: ["r-2"], seconds: 0 },
    ]);
    expect(loop.stopping).toBe(true);
  });

  it("leaves a message whose handler throws", async () => {
    const queue = new FakeQueue();
    queue.pending = [message(1)];
    const { consumer: loop, metrics } = consumer(
      queue,
      () => Promise.reject(new Error("send failed")),
      1,
    );
    const exit = loop.run();
    await flush();
    await flush();
    expect(metrics.inFlight).toBe(0);
    expect(queue.visibility).toEqual([]);
    const drained = loop.drain(5_000);
    queue.respond([]);
    await drained;
    expect(await exit).toBe(0);
  });
});
