/**
 * A pass-through HTTP proxy on 127.0.0.1 in front of the SQS endpoint that
 * records when the first ReceiveMessage arrives, so a cold start is timed
 * where the request arrives rather than where the client logs it.
 */
import http from "node:http";

export interface SqsRecorder {
  /** Endpoint URL to give the client instead of the real one. */
  url: string;
  /** Forgets the last arrival and resolves with performance.now() of the next ReceiveMessage. */
  nextReceive(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts the proxy; every request is forwarded to `upstream` unchanged, long polls included. */
export async function startSqsRecorder(upstream: string): Promise<SqsRecorder> {
  let onReceive: ((atMs: number) => void) | undefined;
  const server = http.createServer((request, response) => {
    const arrivedMs = performance.now();
    if (
      request.headers["x-amz-target"] === "AmazonSQS.ReceiveMessage" &&
      onReceive !== undefined
    ) {
      onReceive(arrivedMs);
      onReceive = undefined;
    }
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      // A client that goes away (a stopped sidecar) ends its long poll upstream too.
      const abort = new AbortController();
      response.on("close", () => abort.abort());
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) {
        if (
          typeof value === "string" && name !== "host" && name !== "connection"
        ) headers.set(name, value);
      }
      fetch(`${upstream}${request.url ?? "/"}`, {
        method: request.method,
        headers,
        body: Buffer.concat(chunks),
        signal: abort.signal,
      })
        .then(async (answer) => {
          const body = Buffer.from(await answer.arrayBuffer());
          const copied: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            if (
              ![
                "content-length",
                "transfer-encoding",
                "connection",
                "keep-alive",
              ].includes(name)
            ) copied[name] = value;
          });
          response.writeHead(answer.status, copied);
          response.end(body);
        })
        .catch(() => {
          if (!response.headersSent) response.writeHead(502);
          response.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    nextReceive: () => new Promise((resolve) => (onReceive = resolve)),
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
