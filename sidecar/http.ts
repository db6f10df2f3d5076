/**
 * Health and metrics endpoints of the sidecar (port ASYA_HTTP_PORT, 8090 by
 * default): `GET /healthz` (the process is alive), `GET /readyz` (the
 * runtime is reachable and the sidecar is consuming its queue) and
 * `GET /metrics` (Prometheus text). A plain fetch-style handler, so tests
 * call it without a server.
 */
import { type Metrics, renderMetrics } from "./metrics.ts";

/** Readiness state that /readyz reports. */
export interface Readiness {
  ready: boolean;
  /** Reason the sidecar is not ready, such as "runtime unreachable" or "draining". */
  reason?: string;
}

export function createHttpHandler(options: {
  actor: string;
  metrics: Metrics;
  readiness: () => Readiness;
}): (request: Request) => Response {
  return function handleHttpRequest(request: Request): Response {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return json(405, {
        error: `method ${request.method} not allowed, expected GET`,
      }, { allow: "GET, HEAD" });
    }

    switch (path) {
      case "/healthz":
        return json(200, { status: "ok" });
      case "/readyz": {
        const readiness = options.readiness();
        return readiness.ready ? json(200, { status: "ready" }) : json(503, {
          status: "unready",
          reason: readiness.reason ?? "starting",
        });
      }
      case "/metrics":
        return new Response(renderMetrics(options.metrics, options.actor), {
          headers: {
            "content-type": "text/plain; version=0.0.4; charset=utf-8",
          },
        });
      default:
        return json(404, {
          error:
            `path ${path} not found, expected /healthz, /readyz or /metrics`,
        });
    }
  };
}

function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}
