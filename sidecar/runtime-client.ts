/**
 * HTTP/1.1 client for the Python runtime over its Unix socket
 * (`{ASYA_SOCKET_DIR}/asya-runtime.sock`).
 *
 * Each call opens its own connection and closes it afterwards, because the
 * runtime's server is not required to keep connections alive.
 */
import { request } from "node:http";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const SOCKET_FILE = "asya-runtime.sock";
export const READY_FILE = "runtime-ready";

/** Status code and body text of one runtime response. */
export interface RuntimeResponse {
  status: number;
  body: string;
}

/** The call took longer than its timeout; the handler may still be running. */
export class RuntimeTimeoutError extends Error {
  override name = "RuntimeTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`runtime call timed out after ${timeoutMs} ms`);
  }
}

/** The runtime could not be reached or dropped the connection (it died or is not started). */
export class RuntimeUnavailableError extends Error {
  override name = "RuntimeUnavailableError";
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

export interface RuntimeClient {
  /** Posts an envelope to `/invoke`; rejects with RuntimeTimeoutError or RuntimeUnavailableError. */
  invoke(body: string, timeoutMs: number): Promise<RuntimeResponse>;
  /** True when `GET /healthz` returns 200 within `timeoutMs`. */
  healthy(timeoutMs: number): Promise<boolean>;
  /** True when the runtime has written its ready file. */
  readyFileExists(): boolean;
  readonly socketPath: string;
}

export function createRuntimeClient(socketDir: string): RuntimeClient {
  const socketPath = join(socketDir, SOCKET_FILE);
  const readyPath = join(socketDir, READY_FILE);

  return {
    socketPath,
    invoke: (body, timeoutMs) =>
      callRetryingBusySocket(socketPath, "POST", "/invoke", body, timeoutMs),
    async healthy(timeoutMs) {
      try {
        const response = await call(
          socketPath,
          "GET",
          "/healthz",
          undefined,
          timeoutMs,
        );
        return response.status === 200;
      } catch {
        return false;
      }
    },
    readyFileExists: () => existsSync(readyPath),
  };
}

/** Connection attempts when the socket's backlog is full (EAGAIN). */
export const BUSY_SOCKET_ATTEMPTS = 6;

/**
 * Calls the runtime, retrying a connect() that failed with EAGAIN. The
 * kernel returns EAGAIN for a Unix socket whose listen backlog is full, so
 * nothing was sent and the call is safe to repeat. Delays double from
 * 10 ms, 310 ms in all; any other error is final.
 */
export async function callRetryingBusySocket(
  socketPath: string,
  method: string,
  path: string,
  body: string | undefined,
  timeoutMs: number,
  sleep: (ms: number) => Promise<void> = (ms) =>
    new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<RuntimeResponse> {
  for (let attempt = 1;; attempt++) {
    try {
      return await call(socketPath, method, path, body, timeoutMs);
    } catch (error) {
      const busy = error instanceof RuntimeUnavailableError &&
        error.code === "EAGAIN";
      if (!busy || attempt >= BUSY_SOCKET_ATTEMPTS) throw error;
      await sleep(10 * 2 ** (attempt - 1));
    }
  }
}

function call(
  socketPath: string,
  method: string,
  path: string,
  body: string | undefined,
  timeoutMs: number,
): Promise<RuntimeResponse> {
  return new Promise((resolve, reject) => {
    const bytes = body === undefined ? undefined : Buffer.from(body, "utf8");
    let settled = false;
    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      action();
    };

    const req = request(
      {
        socketPath,
        method,
        path,
        headers: {
          host: "asya-runtime",
          connection: "close",
          ...(bytes === undefined ? {} : {
            "content-type": "application/json",
            "content-length": String(bytes.byteLength),
          }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          finish(() =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString("utf8"),
            })
          );
        });
        res.on("error", (error: NodeJS.ErrnoException) => {
          finish(() =>
            reject(
              new RuntimeUnavailableError(
                `runtime response failed: ${error.message}`,
                error.code,
              ),
            )
          );
        });
        // A connection closed before the whole body arrived also counts as the runtime going away.
        res.on("aborted", () => {
          finish(() =>
            reject(
              new RuntimeUnavailableError(
                "runtime closed the connection mid-response",
              ),
            )
          );
        });
      },
    );

    const timer = setTimeout(() => {
      finish(() => reject(new RuntimeTimeoutError(timeoutMs)));
      req.destroy();
    }, timeoutMs);

    req.on("error", (error: NodeJS.ErrnoException) => {
      finish(() =>
        reject(
          new RuntimeUnavailableError(
            `runtime at ${socketPath} is unreachable: ${error.message}`,
            error.code,
          ),
        )
      );
    });
    if (bytes !== undefined) req.write(bytes);
    req.end();
  });
}

/**
 * Waits until the runtime's ready file exists and `/healthz` returns 200,
 * checking every `intervalMs` (default 200). Resolves false when `signal`
 * aborts first; there is no time limit because model loading may take long.
 */
export async function waitForRuntime(
  client: RuntimeClient,
  signal: AbortSignal,
  onWait: (waitedMs: number) => void,
  intervalMs = 200,
): Promise<boolean> {
  const started = Date.now();
  let lastReport = started;
  while (!signal.aborted) {
    if (client.readyFileExists() && await client.healthy(2_000)) return true;
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      onWait(lastReport - started);
    }
    await sleep(intervalMs, signal);
  }
  return false;
}

/** Resolves after `ms`, or earlier when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
