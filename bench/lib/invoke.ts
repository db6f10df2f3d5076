/**
 * Drives the Python runtime's `POST /invoke` directly over its Unix socket,
 * the baseline the sidecar is measured against: the same envelope, no
 * queue and no sidecar in between.
 */
import http from "node:http";

/** Outcome of {@link invokeLoop}. */
export interface InvokeRun {
  calls: number;
  elapsedMs: number;
  /** Calls per second once every connection has started, so the ramp does not lower it. */
  perSecond: number;
  /** Latency of every call in milliseconds, in completion order. */
  latenciesMs: number[];
}

/**
 * Sends `body` to `/invoke` from `concurrency` kept-alive connections, each
 * one call at a time, until `durationMs` has passed or `maxCalls` calls
 * have completed. Connection k starts `k * rampMs` ms late (default 10).
 * Throws when a response is not 200.
 */
export async function invokeLoop(
  socketPath: string,
  body: string,
  options: {
    concurrency: number;
    durationMs: number;
    maxCalls: number;
    rampMs?: number;
  },
): Promise<InvokeRun> {
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: options.concurrency,
  });
  try {
    const latenciesMs: number[] = [];
    const completedAt: number[] = [];
    const started = performance.now();
    const rampEnd = started +
      (options.concurrency - 1) * (options.rampMs ?? 10);
    const deadline = started + options.durationMs;
    let issued = 0;
    const worker = async (index: number) => {
      // The runtime listens with a small backlog, so many connects at the same instant fail with EAGAIN.
      if (index > 0) {
        await new Promise((resolve) =>
          setTimeout(resolve, index * (options.rampMs ?? 10))
        );
      }
      while (performance.now() < deadline && issued < options.maxCalls) {
        issued += 1;
        const before = performance.now();
        await invokeOnce(agent, socketPath, body);
        const after = performance.now();
        latenciesMs.push(after - before);
        completedAt.push(after);
      }
    };
    await Promise.all(
      Array.from({ length: options.concurrency }, (_, index) => worker(index)),
    );
    const ended = performance.now();
    const afterRamp = completedAt.filter((at) => at >= rampEnd).length;
    return {
      calls: latenciesMs.length,
      elapsedMs: ended - started,
      perSecond: ended > rampEnd ? (afterRamp * 1000) / (ended - rampEnd) : NaN,
      latenciesMs,
    };
  } finally {
    agent.destroy();
  }
}

/** Sends one `/invoke` call; resolves with the response size in bytes. */
export function invokeOnce(
  agent: http.Agent,
  socketPath: string,
  body: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({
      socketPath,
      agent,
      method: "POST",
      path: "/invoke",
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      },
    }, (response) => {
      let bytes = 0;
      response.on("data", (chunk: Buffer) => (bytes += chunk.length));
      response.on("end", () => {
        if (response.statusCode === 200) resolve(bytes);
        else {reject(
            new Error(
              `Runtime responded to /invoke with HTTP ${response.statusCode}, expected 200`,
            ),
          );}
      });
      response.on("error", reject);
    });
    request.setTimeout(
      60_000,
      () =>
        request.destroy(new Error("Runtime /invoke call timed out after 60 s")),
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** Sends one `/invoke` call on a fresh connection, as the sidecar does; returns its duration and the response text. */
export function invokeForText(
  socketPath: string,
  body: string,
): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request({
      socketPath,
      method: "POST",
      path: "/invoke",
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      },
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        if (response.statusCode !== 200) {
          reject(
            new Error(
              `Runtime responded to /invoke with HTTP ${response.statusCode}, expected 200`,
            ),
          );
          return;
        }
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ ms: performance.now() - started, text });
      });
      response.on("error", reject);
    });
    request.setTimeout(
      120_000,
      () =>
        request.destroy(
          new Error("Runtime /invoke call timed out after 120 s"),
        ),
    );
    request.on("error", reject);
    request.end(body);
  });
}
