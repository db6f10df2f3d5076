/**
 * HTTPS serving with certificate reload (Deno only). cert-manager and
 * Kubernetes secret volumes replace `tls.crt` and `tls.key` in place, so
 * the server watches the directory and swaps to a new listener when the
 * pair changes. Requests already in flight finish on the old listener.
 *
 * NOTE: the old listener closes before the new one binds, because sharing
 * the port (SO_REUSEPORT on a TLS listener) needs Deno's --unstable-net
 * flag. Connections that arrive in that gap, typically a few milliseconds
 * per rotation, are refused and the API server applies the webhook's
 * failurePolicy to them.
 */
import type { Logger } from "./log.ts";

/** Options of `serveTlsWithReload`. */
export interface TlsServeOptions {
  handler: (request: Request) => Response | Promise<Response>;
  hostname: string;
  port: number;
  certDir: string;
  log: Logger;
  /** Quiet period after a file event before reloading, default 500 ms. */
  debounceMs?: number;
}

/** A running HTTPS server; `stop` drains it and stops watching. */
export interface TlsServer {
  stop(): Promise<void>;
}

/**
 * Serves HTTPS with `tls.crt` and `tls.key` from `certDir` and reloads them
 * when they change. Throws when the first pair cannot be read; a later bad
 * pair is logged and the server keeps the previous one.
 */
export async function serveTlsWithReload(options: TlsServeOptions): Promise<TlsServer> {
  const { log } = options;
  let current = await readPair(options.certDir);
  let server = start(options, current);
  log.info("https_listening", { port: options.port, cert_dir: options.certDir });

  const watcher = Deno.watchFs(options.certDir);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const reload = async () => {
    try {
      const next = await readPair(options.certDir);
      if (next.cert === current.cert && next.key === current.key) return;
      const draining = server.shutdown();
      try {
        server = await startWhenPortIsFree(options, next);
        current = next;
      } catch (error) {
        // Deno rejected the new pair (for example a key that does not match), so keep serving the old one.
        server = await startWhenPortIsFree(options, current);
        throw error;
      } finally {
        await draining;
      }
      log.info("certificate_reloaded", { cert_dir: options.certDir });
    } catch (error) {
      log.error("certificate_reload_failed", { cert_dir: options.certDir, error: String(error) });
    }
  };

  const watching = (async () => {
    for await (const _event of watcher) {
      if (stopped) break;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => void reload(), options.debounceMs ?? 500);
    }
  })();

  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher.close();
      await watching.catch(() => {});
      await server.shutdown();
    },
  };
}

function start(options: TlsServeOptions, pair: { cert: string; key: string }): Deno.HttpServer {
  return Deno.serve({
    hostname: options.hostname,
    port: options.port,
    cert: pair.cert,
    key: pair.key,
    onListen: () => {},
  }, options.handler);
}

// The old listener releases the port asynchronously, so binding is retried
// for up to one second before the reload counts as failed.
async function startWhenPortIsFree(options: TlsServeOptions, pair: { cert: string; key: string }): Promise<Deno.HttpServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return start(options, pair);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse) || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function readPair(certDir: string): Promise<{ cert: string; key: string }> {
  const cert = await Deno.readTextFile(`${certDir}/tls.crt`);
  const key = await Deno.readTextFile(`${certDir}/tls.key`);
  if (!cert.includes("BEGIN CERTIFICATE") || !key.includes("PRIVATE KEY")) {
    throw new Error(`Invalid certificate pair in ${certDir}: expected PEM tls.crt and tls.key`);
  }
  return { cert, key };
}
