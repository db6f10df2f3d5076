/**
 * The receive loop: long-polls the actor's queue and runs at most
 * `concurrency` messages at once, extending each message's visibility
 * while it is being processed, so a long handler call is not delivered to
 * another pod meanwhile.
 *
 * Stopping: `drain` (SIGTERM) stops receiving, waits for messages in flight
 * up to a grace period, returns the rest to the queue (visibility 0) and
 * resolves exit code 0. A handler that requests a stop (handler timeout,
 * lost runtime) makes the loop return every other message to the queue at
 * once and resolve that handler's exit code.
 *
 * A long poll in progress is not aborted while there is time left, because
 * SQS may already have handed out messages for it: an aborted request
 * would leave them hidden for the whole visibility timeout. The loop waits
 * for the poll to return (at most ASYA_SQS_WAIT_TIME_SECONDS) and returns
 * what it brought to the queue at once.
 */
import { describeError, type Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { QueueClient, QueueMessage } from "./queue.ts";
import { sleep } from "./runtime-client.ts";

/** Result of the message handler: continue, or stop the sidecar with an exit code. */
export type HandleResult = { kind: "continue" } | {
  kind: "stop";
  exitCode: number;
  releaseThis: boolean;
};

export interface ConsumerOptions {
  queues: QueueClient;
  queueUrl: string;
  concurrency: number;
  waitSeconds: number;
  visibilitySeconds: number;
  metrics: Metrics;
  log: Logger;
  /** Processes one message; throwing leaves the message to reappear after its visibility timeout. */
  handle: (message: QueueMessage) => Promise<HandleResult>;
}

interface InFlight {
  message: QueueMessage;
  extender: ReturnType<typeof setInterval>;
}

const MAX_RECEIVE_BACKOFF_MS = 20_000;

/** Time beyond the long-polling wait allowed for a receive to return during a stop. */
const RECEIVE_RETURN_MARGIN_MS = 5_000;

export class Consumer {
  #options: ConsumerOptions;
  #inFlight = new Map<string, InFlight>();
  #stopping = false;
  #receiveAbort = new AbortController();
  #stopSleep = new AbortController();
  #loopRunning = false;
  #waiters: Array<() => void> = [];
  #exit: (code: number) => void = () => {};
  #exitCode: Promise<number>;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#exitCode = new Promise((resolve) => (this.#exit = resolve));
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Runs the loop; resolves the process exit code once the consumer has stopped. */
  run(): Promise<number> {
    this.#loopRunning = true;
    this.#loop()
      .catch((error) => {
        this.#options.log.error("consumer_failed", {
          error: describeError(error),
        });
        this.#beginStop();
        this.#receiveAbort.abort();
        this.#exit(1);
      })
      .finally(() => {
        this.#loopRunning = false;
        this.#notify();
      });
    return this.#exitCode;
  }

  /**
   * Stops receiving, waits up to `graceMs` for messages in flight, returns
   * those still running to the queue and resolves exit code 0.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#beginStop();
    const { log } = this.#options;
    log.info("drain_started", {
      in_flight: this.#inFlight.size,
      grace_ms: graceMs,
    });

    const finished = await this.#waitUntil(
      Date.now() + graceMs,
      () => this.#inFlight.size === 0 && !this.#loopRunning,
    );
    if (!finished) {
      this.#receiveAbort.abort();
      if (this.#inFlight.size > 0) {
        log.warn("drain_grace_expired", { in_flight: this.#inFlight.size });
        await this.#releaseAll();
      }
    }
    log.info("drain_finished", {});
    this.#exit(0);
  }

  async #loop(): Promise<void> {
    const {
      queues,
      queueUrl,
      concurrency,
      waitSeconds,
      visibilitySeconds,
      log,
    } = this.#options;
    let failures = 0;

    while (!this.#stopping) {
      if (this.#inFlight.size >= concurrency) {
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
        continue;
      }

      let messages: QueueMessage[];
      try {
        messages = await queues.receive(queueUrl, {
          max: concurrency - this.#inFlight.size,
          waitSeconds,
          visibilitySeconds,
          signal: this.#receiveAbort.signal,
        });
        failures = 0;
      } catch (error) {
        failures += 1;
        const backoffMs = Math.min(
          MAX_RECEIVE_BACKOFF_MS,
          500 * 2 ** Math.min(failures - 1, 10),
        );
        log.error("receive_failed", {
          error: describeError(error),
          retry_in_ms: backoffMs,
          attempt: failures,
        });
        await sleep(backoffMs, this.#stopSleep.signal);
        continue;
      }

      if (this.#stopping) {
        // Received while stopping: these never started, so they go straight back.
        await this.#release(messages, "unstarted");
        break;
      }
      for (const message of messages) this.#start(message);
    }
  }

  #start(message: QueueMessage): void {
    const { queues, queueUrl, visibilitySeconds, metrics, log } = this.#options;
    metrics.received += 1;
    metrics.inFlight += 1;

    // Extend at half the visibility timeout, so the message stays hidden
    // while it is processed however long the handler runs.
    const extender = setInterval(() => {
      queues.changeVisibility(
        queueUrl,
        [message.receiptHandle],
        visibilitySeconds,
      ).catch((error) => {
        log.warn("visibility_extend_failed", {
          message_id: message.messageId,
          error: describeError(error),
        });
      });
    }, Math.max(1, visibilitySeconds / 2) * 1000);
    const entry: InFlight = { message, extender };
    this.#inFlight.set(message.receiptHandle, entry);

    this.#options.handle(message)
      .then(async (result) => {
        if (result.kind === "stop") {
          // Stop first, so the freed slot does not start another receive.
          this.#beginStop();
          this.#finish(entry);
          if (result.releaseThis) {
            await this.#release([message], "runtime lost");
          }
          await this.#stopNow(result.exitCode);
        }
      })
      .catch((error) => {
        log.error("message_left", {
          message_id: message.messageId,
          error: describeError(error),
          note: "not deleted; it reappears after its visibility timeout",
        });
      })
      .finally(() => this.#finish(entry));
  }

  #finish(entry: InFlight): void {
    if (!this.#inFlight.has(entry.message.receiptHandle)) return;
    clearInterval(entry.extender);
    this.#inFlight.delete(entry.message.receiptHandle);
    this.#options.metrics.inFlight -= 1;
    this.#notify();
  }

  // Stops taking new work: no new receive starts, and a backoff sleep ends.
  #beginStop(): void {
    this.#stopping = true;
    this.#stopSleep.abort();
    this.#notify();
  }

  async #stopNow(exitCode: number): Promise<void> {
    this.#beginStop();
    await this.#releaseAll();
    const returned = await this.#waitUntil(
      Date.now() + this.#options.waitSeconds * 1000 + RECEIVE_RETURN_MARGIN_MS,
      () => !this.#loopRunning,
    );
    if (!returned) this.#receiveAbort.abort();
    this.#exit(exitCode);
  }

  // Wakes everything that waits for a free slot or a finished loop.
  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Waits until `done()` is true or `deadline` (epoch ms) passes; returns `done()`. */
  async #waitUntil(deadline: number, done: () => boolean): Promise<boolean> {
    while (!done() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          resolve,
          Math.min(500, Math.max(0, deadline - Date.now())),
        );
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return done();
  }

  async #releaseAll(): Promise<void> {
    const entries = [...this.#inFlight.values()];
    for (const entry of entries) clearInterval(entry.extender);
    await this.#release(
      entries.map((entry) => entry.message),
      "still in flight at stop",
    );
  }

  // Visibility 0 makes the messages receivable again at once.
  async #release(messages: QueueMessage[], why: string): Promise<void> {
    if (messages.length === 0) return;
    const { queues, queueUrl, log } = this.#options;
    try {
      await queues.changeVisibility(
        queueUrl,
        messages.map((message) => message.receiptHandle),
        0,
      );
      log.info("messages_released", {
        count: messages.length,
        why,
        message_ids: messages.map((m) => m.messageId),
      });
    } catch (error) {
      log.warn("release_failed", {
        count: messages.length,
        why,
        error: describeError(error),
      });
    }
  }
}
