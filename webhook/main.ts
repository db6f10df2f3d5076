/**
 * Entry point of the admission webhook (Deno).
 *
 *   deno task webhook                                      HTTPS on ASYA_WEBHOOK_PORT
 *   deno task webhook -- --insecure --listen 127.0.0.1:PORT  plain HTTP, local testing only
 *
 * Configuration comes from environment variables, documented in
 * docs/reference/webhook.md. Exits 2 on bad flags or configuration.
 */
import { createApp } from "./app.ts";
import { loadConfig, resolveNativeSidecar, type WebhookConfig } from "./config.ts";
import { HttpKubernetesApi, type KubernetesApi, type KubernetesVersion } from "./kubernetes.ts";
import { createLogger, type Logger } from "./log.ts";
import { WebhookMetrics } from "./metrics.ts";
import { SqsQueueApi } from "./queues.ts";
import { Reconciler } from "./reconcile.ts";
import { scalingSettings } from "./app.ts";
import { serveTlsWithReload } from "./tls-server.ts";

interface Flags {
  insecure: boolean;
  listen: { hostname: string; port: number } | undefined;
}

/**
 * Parses `--insecure` and `--listen HOST:PORT`, and returns an error message
 * for anything else. A leading `--` is skipped, because `deno task webhook
 * -- FLAGS` passes it through to the script.
 */
export function parseFlags(args: string[]): Flags | string {
  const flags: Flags = { insecure: false, listen: undefined };
  for (let index = args[0] === "--" ? 1 : 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--insecure") {
      flags.insecure = true;
    } else if (arg === "--listen" || arg.startsWith("--listen=")) {
      const value = arg === "--listen" ? args[++index] : arg.slice("--listen=".length);
      const match = /^(.+):(\d{1,5})$/.exec(value ?? "");
      const port = Number(match?.[2]);
      if (match === null || port < 1 || port > 65_535) {
        return `Invalid --listen: expected HOST:PORT with a port from 1 to 65535, such as 127.0.0.1:8443, found ${JSON.stringify(value ?? "")}`;
      }
      flags.listen = { hostname: match[1].replace(/^\[(.*)\]$/, "$1"), port };
    } else {
      return `Unknown argument ${JSON.stringify(arg)}: expected --insecure or --listen HOST:PORT`;
    }
  }
  return flags;
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  const bootLog = createLogger();
  if (typeof flags === "string") {
    bootLog.error("invalid_arguments", { error: flags });
    Deno.exit(2);
  }
  if (flags.insecure) {
    bootLog.warn("insecure_mode", { message: "Serving plain HTTP without TLS: for local testing only" });
  }

  const loaded = loadConfig(Deno.env.toObject());
  if (!loaded.ok) {
    for (const problem of loaded.error) bootLog.error("invalid_config", { error: problem });
    Deno.exit(2);
  }
  const config = loaded.value;
  const log = createLogger({ level: config.logLevel });
  const metrics = new WebhookMetrics();

  const kubernetes = config.kubernetesUrl === undefined ? undefined : await kubernetesClient(config, log);
  const kubernetesVersion = kubernetes === undefined ? undefined : await detectVersion(kubernetes, log);
  if (kubernetes === undefined) log.warn("kubernetes_unavailable", { message: "No API server configured: no ScaledObjects, no resync" });

  const queues = SqsQueueApi.create({ region: config.awsRegion, endpoint: config.sqsEndpoint });
  const reconciler = new Reconciler({
    kubernetes,
    queues,
    createQueues: config.createQueues,
    scaling: scalingSettings(config),
    metrics,
    log,
  });

  let shuttingDown = false;
  const app = createApp({
    config,
    kubernetesVersion,
    kubernetes,
    queues,
    log,
    metrics,
    reconciler,
    ready: () => !shuttingDown,
  });
  log.info("webhook_starting", {
    native_sidecar: resolveNativeSidecar(config.nativeSidecar, kubernetesVersion),
    kubernetes_version: kubernetesVersion?.gitVersion,
    sidecar_image: config.sidecarImage,
    create_queues: config.createQueues,
  });

  const hostname = flags.listen?.hostname ?? "0.0.0.0";
  const port = flags.listen?.port ?? config.port;
  let stopServer: () => Promise<void>;
  if (flags.insecure) {
    const server = Deno.serve({ hostname, port, onListen: () => {} }, app.fetch);
    log.info("http_listening", { hostname, port, tls: false });
    stopServer = () => server.shutdown();
  } else {
    try {
      const server = await serveTlsWithReload({ handler: app.fetch, hostname, port, certDir: config.certDir, log });
      stopServer = () => server.stop();
    } catch (error) {
      log.error("tls_start_failed", { cert_dir: config.certDir, error: String(error) });
      Deno.exit(1);
    }
  }

  if (kubernetes !== undefined) {
    reconciler.start(config.resyncIntervalMs);
    // The first pass heals whatever happened while no webhook was running.
    void reconciler.resync();
  }

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info("webhook_stopping", { signal });
    reconciler.stop();
    await stopServer();
    await reconciler.idle();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
}

async function kubernetesClient(config: WebhookConfig, log: Logger): Promise<KubernetesApi> {
  let fetcher: typeof fetch | undefined;
  try {
    const caCert = await Deno.readTextFile(config.kubernetesCaFile);
    const client = Deno.createHttpClient({ caCerts: [caCert] });
    fetcher = (input, init) => fetch(input, { ...init, client } as RequestInit);
  } catch (error) {
    // Outside a pod (for example against a local proxy) the system roots are used.
    log.warn("kubernetes_ca_unavailable", { ca_file: config.kubernetesCaFile, error: String(error) });
  }
  return new HttpKubernetesApi({
    baseUrl: config.kubernetesUrl!,
    fetch: fetcher,
    // Projected service account tokens rotate, so the file is read per request.
    token: async () => {
      try {
        return (await Deno.readTextFile(config.kubernetesTokenFile)).trim();
      } catch {
        return undefined;
      }
    },
  });
}

async function detectVersion(kubernetes: KubernetesApi, log: Logger): Promise<KubernetesVersion | undefined> {
  try {
    return await kubernetes.getVersion();
  } catch (error) {
    log.warn("kubernetes_version_unknown", {
      error: error instanceof Error ? error.message : String(error),
      message: "ASYA_NATIVE_SIDECAR=auto falls back to a plain sidecar container",
    });
    return undefined;
  }
}

if (import.meta.main) await main();
