/**
 * HTTPS serving with certificate reload (Deno only). cert-manager and
 * Kubernetes secret volumes replace `tls.crt` and `tls.key` in place, so
 * the server watches the directory and swaps the TLS context when the pair
 * changes. New connections get the new pair; open connections keep the
 * pair they were made with, and the listener stays bound throughout.
 *
 * The server is `node:https`, not `Deno.serve`. In Deno 2.9.6, `Deno.serve`
 * with `cert` and `key` leaves Nagle's algorithm on and offers no way to
 * turn it off. A response of about 4 KB, a typical pod patch, then waits
 * for the client's delayed ACK. On a kept-alive connection over 127.0.0.1
 * that cost a median of 44 ms per admission, against under 3 ms here
 * (measurement in docs/reference/webhook.md).
 */
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Logger } from "./log.ts";
import { type FetchHandler, toRequestListener } from "./node-fetch-adapter.ts";

/** Options of `serveTlsWithReload`. */
export interface TlsServeOptions {
  handler: FetchHandler;
  hostname: string;
  port: number;
  certDir: string;
  log: Logger;
  /** Quiet period after a file event before reloading, default 500 ms. */
  debounceMs?: number;
  /**
   * Time `stop` waits for requests in flight before it closes their
   * connections, default 10 000 ms.
   */
  drainMs?: number;
}

/** A running HTTPS server; `stop` drains it and stops watching. */
export interface TlsServer {
  stop(): Promise<void>;
}

interface CertificatePair {
  cert: string;
  key: string;
}

// A client with a shorter idle timeout closes an idle connection first, so
// it never sends a request on a connection that the server is closing.
// NOTE: 120 s is an estimate meant to exceed the idle timeouts of common
// HTTP clients. It was not checked against the API server's webhook client.
const KEEP_ALIVE_TIMEOUT_MS = 120_000;

/**
 * Serves HTTPS with `tls.crt` and `tls.key` from `certDir` and reloads them
 * when they change. Throws when the first pair cannot be read or used, or
 * when the address cannot be bound. A later bad pair is logged and the
 * server keeps the previous one.
 */
export async function serveTlsWithReload(options: TlsServeOptions): Promise<TlsServer> {
  const { log } = options;
  let current = await readPair(options.certDir);
  const server = createServer({ cert: current.cert, key: current.key, noDelay: true }, toRequestListener(options.handler, log));
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Node sets TCP_NODELAY through the noDelay option. Setting it again per
  // connection keeps the guarantee if a runtime ignores the option.
  server.on("secureConnection", (socket: Socket) => socket.setNoDelay(true));
  server.on("tlsClientError", (error: Error) => log.debug("tls_handshake_failed", { error: String(error) }));
  await listen(server, options.hostname, options.port);
  log.info("https_listening", { hostname: options.hostname, port: options.port, cert_dir: options.certDir });

  const reload = async () => {
    try {
      const next = await readPair(options.certDir);
      if (next.cert === current.cert && next.key === current.key) return;
      server.setSecureContext({ cert: next.cert, key: next.key });
      current = next;
      log.info("certificate_reloaded", { cert_dir: options.certDir });
    } catch (error) {
      log.error("certificate_reload_failed", { cert_dir: options.certDir, error: String(error) });
    }
  };

  const watcher = Deno.watchFs(options.certDir);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
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
      await drain(server, options.drainMs ?? 10_000);
    },
  };
}

function listen(server: Server, hostname: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

// Stops accepting, closes kept-alive connections as soon as they are idle,
// and after `drainMs` closes the connections still busy.
async function drain(server: Server, drainMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const deadline = Date.now() + drainMs;
  let done = false;
  void closed.then(() => (done = true));
  while (!done && Date.now() < deadline) {
    server.closeIdleConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!done) server.closeAllConnections();
  await closed;
}

async function readPair(certDir: string): Promise<CertificatePair> {
  const cert = await Deno.readTextFile(`${certDir}/tls.crt`);
  const key = await Deno.readTextFile(`${certDir}/tls.key`);
  if (!cert.includes("BEGIN CERTIFICATE") || !key.includes("PRIVATE KEY")) {
    throw new Error(`Invalid certificate pair in ${certDir}: expected PEM tls.crt and tls.key`);
  }
  checkKeyMatches(certDir, cert, key);
  return { cert, key };
}

// createSecureContext and setSecureContext of node:tls in Deno 2.9.6 accept
// a key that does not belong to the certificate without an error, so the
// pair is checked here.
function checkKeyMatches(certDir: string, cert: string, key: string): void {
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new Error(`Invalid certificate pair in ${certDir}: tls.crt or tls.key cannot be parsed: ${error}`);
  }
  if (!matches) {
    throw new Error(`Invalid certificate pair in ${certDir}: the private key in tls.key does not match the certificate in tls.crt`);
  }
}
