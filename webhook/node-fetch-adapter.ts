/**
 * Adapter from a `node:http` request listener to a Fetch API handler such
 * as a Hono app's `fetch`. The webhook needs it because its HTTPS server is
 * `node:https` (see tls-server.ts), while the app speaks Request/Response.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { Logger } from "./log.ts";

/** A Fetch API handler, such as `app.fetch` of a Hono app. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/**
 * Wraps `handler` as a `node:http` request listener. The request body is
 * passed on as a stream, so a size limit in the handler (Hono's
 * `bodyLimit`) still stops a large or chunked body before it is buffered.
 * The response body is buffered and written with its headers in one call.
 * A handler that throws gets a `500` with a JSON error and a
 * `request_failed` log line.
 */
export function toRequestListener(
  handler: FetchHandler,
  log: Logger,
): (incoming: IncomingMessage, outgoing: ServerResponse) => void {
  return function requestListener(incoming, outgoing) {
    void respond(handler, incoming, outgoing).catch((error) => {
      log.error("request_failed", { method: incoming.method, path: pathOf(incoming), error: String(error) });
      if (outgoing.headersSent) {
        outgoing.destroy();
        return;
      }
      const body = JSON.stringify({ error: "Internal server error" });
      outgoing.writeHead(500, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      outgoing.end(body);
    });
  };
}

/** Builds the Fetch API request for an incoming `node:http` request. */
export function toRequest(incoming: IncomingMessage): Request {
  const method = incoming.method ?? "GET";
  const headers = new Headers();
  for (let index = 0; index + 1 < incoming.rawHeaders.length; index += 2) {
    headers.append(incoming.rawHeaders[index], incoming.rawHeaders[index + 1]);
  }

  // The host header only fills in Request.url. Routing uses the path alone,
  // so a missing or malformed host falls back to localhost.
  let url: URL;
  try {
    url = new URL(incoming.url ?? "/", `https://${incoming.headers.host ?? "localhost"}`);
  } catch {
    url = new URL(incoming.url ?? "/", "https://localhost");
  }

  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(url, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(incoming) as ReadableStream<Uint8Array>) : undefined,
    // Required by the Fetch API for a stream body.
    duplex: hasBody ? "half" : undefined,
  } as RequestInit);
}

async function respond(handler: FetchHandler, incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
  const response = await handler(toRequest(incoming));

  // One write of headers and body avoids a small trailing TCP segment, which
  // Nagle's algorithm would hold until the client's delayed ACK.
  const body = response.body === null ? undefined : new Uint8Array(await response.arrayBuffer());
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  if (body !== undefined && incoming.method !== "HEAD") headers["content-length"] = String(body.byteLength);

  outgoing.writeHead(response.status, response.statusText || undefined, headers);
  outgoing.end(incoming.method === "HEAD" ? undefined : body);
}

function pathOf(incoming: IncomingMessage): string {
  return (incoming.url ?? "").split("?")[0];
}
