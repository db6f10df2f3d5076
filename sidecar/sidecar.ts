/**
 * Wiring of a running sidecar: clients, HTTP endpoints, the runtime wait,
 * the receive loop and signal handling. Returns the process exit code.
 */
import { actorQueueName } from "../shared/queues.ts";
import { createClaimChecks } from "./claim-check.ts";
import type { SidecarConfig } from "./config.ts";
import { Consumer, type HandleResult } from "./consumer.ts";
import { storeEndMessage } from "./end-actor.ts";
import { createHttpHandler, type Readiness } from "./http.ts";
import { createLogger, describeError, type Logger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { createS3ObjectStore } from "./object-store.ts";
import { processMessage } from "./process.ts";
import { createSqsQueueClient, type QueueClient } from "./queue.ts";
import {
  createRuntimeClient,
  sleep,
  waitForRuntime,
} from "./runtime-client.ts";
import {
  createEnvelopeSigner,
  type EnvelopeSigner,
  readSigningKey,
} from "./signing.ts";

/** Exit code when the runtime went away during a call. */
export const EXIT_RUNTIME_LOST = 3;
/** Exit code after a handler timeout: the handler may still run, so the pod restarts. */
export const EXIT_HANDLER_TIMEOUT = 4;

const RUNTIME_CHECK_INTERVAL_MS = 5_000;
const QUEUE_LOOKUP_MAX_BACKOFF_MS = 10_000;

export async function runSidecar(config: SidecarConfig): Promise<number> {
  const log = createLogger({
    level: config.logLevel,
    base: { actor: config.actorName },
  });

  let signer: EnvelopeSigner | undefined;
  if (config.signingKeyFile !== undefined) {
    try {
      signer = createEnvelopeSigner(
        await readSigningKey(config.signingKeyFile),
        config.signingKeyId,
      );
    } catch (error) {
      log.error("config_invalid", { error: describeError(error) });
      return 1;
    }
  }
  const metrics = createMetrics();
  const stopSignal = new AbortController();
  const state = {
    runtimeReady: config.role !== "actor",
    queueReady: false,
    draining: false,
  };

  const readiness = (): Readiness => {
    if (state.draining) return { ready: false, reason: "draining" };
    if (!state.runtimeReady) {
      return { ready: false, reason: "runtime unreachable" };
    }
    if (!state.queueReady) {
      return { ready: false, reason: "queue not found yet" };
    }
    return { ready: true };
  };
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: config.httpHost,
      port: config.httpPort,
      onListen: ({ port }) =>
        log.info("http_listening", { host: config.httpHost, port }),
    }, createHttpHandler({ actor: config.actorName, metrics, readiness }));
  } catch (error) {
    log.error("http_listen_failed", {
      host: config.httpHost,
      port: config.httpPort,
      error: describeError(error),
      hint: "free the port or set ASYA_HTTP_PORT",
    });
    return 1;
  }

  let consumer: Consumer | undefined;
  const onSignal = (signal: string) => {
    log.info("signal_received", { signal });
    state.draining = true;
    stopSignal.abort();
    void consumer?.drain(config.actorTimeoutMs);
  };
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  const listeners = signals.map((signal) => {
    const listener = () => onSignal(signal);
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });

  const queues = createSqsQueueClient({
    region: config.awsRegion,
    endpoint: config.sqsEndpoint,
  });
  const store = createS3ObjectStore({
    region: config.awsRegion,
    endpoint: config.s3Endpoint,
  });
  const claimChecks = createClaimChecks({
    store,
    bucket: config.s3Bucket,
    prefix: config.s3Prefix,
    metrics,
  });
  const runtime = createRuntimeClient(config.socketDir);
  log.info("sidecar_starting", {
    role: config.role,
    namespace: config.namespace,
    concurrency: config.concurrency,
    timeout_ms: config.actorTimeoutMs,
    socket: runtime.socketPath,
    signing: signer !== undefined,
  });

  let exitCode = 0;
  let monitor: ReturnType<typeof setInterval> | undefined;
  try {
    if (config.role === "actor") {
      const ready = await waitForRuntime(
        runtime,
        stopSignal.signal,
        (waitedMs) => {
          log.info("runtime_waiting", {
            waited_ms: waitedMs,
            socket: runtime.socketPath,
          });
        },
      );
      if (!ready) return 0;
      state.runtimeReady = true;
      log.info("runtime_ready", { socket: runtime.socketPath });

      // Readiness follows the runtime between calls too; a failed call stops the sidecar anyway.
      monitor = setInterval(async () => {
        const healthy = await runtime.healthy(2_000);
        if (healthy !== state.runtimeReady) {
          log.warn("runtime_health_changed", { healthy });
        }
        state.runtimeReady = healthy;
      }, RUNTIME_CHECK_INTERVAL_MS);
    }

    const queueName = actorQueueName(config.namespace, config.actorName);
    if (!queueName.ok) throw new Error(queueName.error.message);
    const queueUrl = await findQueue(
      queues,
      queueName.value,
      stopSignal.signal,
      log,
    );
    if (queueUrl === undefined) return 0;
    state.queueReady = true;

    const now = () => Date.now();
    let handle: (
      message: Parameters<typeof processMessage>[0],
    ) => Promise<HandleResult>;
    if (config.role === "actor") {
      const deps = {
        actor: config.actorName,
        namespace: config.namespace,
        actorTimeoutMs: config.actorTimeoutMs,
        claimCheckThresholdBytes: config.claimCheckThresholdBytes,
        queues,
        claimChecks,
        runtime,
        metrics,
        log,
        now,
        signer,
      };
      handle = async (message) => {
        const outcome = await processMessage(message, queueUrl, deps);
        if (outcome.kind === "runtime-lost") {
          state.runtimeReady = false;
          log.error("runtime_lost", {
            message_id: message.messageId,
            error: outcome.error.message,
          });
          return {
            kind: "stop",
            exitCode: EXIT_RUNTIME_LOST,
            releaseThis: true,
          };
        }
        if (outcome.kind === "handler-timeout") {
          state.runtimeReady = false;
          log.error("handler_timeout_exit", { message_id: message.messageId });
          return {
            kind: "stop",
            exitCode: EXIT_HANDLER_TIMEOUT,
            releaseThis: false,
          };
        }
        return { kind: "continue" };
      };
    } else {
      const deps = {
        role: config.role,
        actor: config.actorName,
        namespace: config.namespace,
        bucket: config.s3Bucket,
        store,
        claimChecks,
        queues,
        metrics,
        log,
        now,
        signer,
      };
      handle = async (message) => {
        await storeEndMessage(message, queueUrl, deps);
        return { kind: "continue" };
      };
    }

    consumer = new Consumer({
      queues,
      queueUrl,
      concurrency: config.concurrency,
      waitSeconds: config.sqsWaitTimeSeconds,
      visibilitySeconds: config.sqsVisibilityTimeoutSeconds,
      metrics,
      log,
      handle,
    });
    log.info("consumer_started", { queue: queueName.value });
    const running = consumer.run();
    if (stopSignal.signal.aborted) void consumer.drain(config.actorTimeoutMs);
    exitCode = await running;
  } catch (error) {
    log.error("sidecar_failed", { error: describeError(error) });
    exitCode = 1;
  } finally {
    if (monitor !== undefined) clearInterval(monitor);
    for (const [signal, listener] of listeners) {
      Deno.removeSignalListener(signal, listener);
    }
    await server.shutdown();
    log.info("sidecar_stopped", { exit_code: exitCode });
  }
  return exitCode;
}

/**
 * Looks up the actor's queue, retrying with backoff until it exists (the
 * webhook may create it a moment after the pod starts). Returns undefined
 * when `signal` aborts first.
 */
async function findQueue(
  queues: QueueClient,
  queueName: string,
  signal: AbortSignal,
  log: Logger,
): Promise<string | undefined> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      const url = await queues.queueUrl(queueName);
      if (url !== undefined) return url;
      log.warn("queue_missing", { queue: queueName, attempt });
    } catch (error) {
      log.warn("queue_lookup_failed", {
        queue: queueName,
        attempt,
        error: describeError(error),
      });
    }
    await sleep(
      Math.min(QUEUE_LOOKUP_MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 10)),
      signal,
    );
  }
  return undefined;
}
