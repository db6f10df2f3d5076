// Benchmark of the admission webhook: admissions per second and p50/p99
// latency for a typical actor pod, in-process (`app.request`, no network)
// and over plain HTTP on 127.0.0.1 against `webhook/main.ts --insecure`
// running as its own process.
//
//   npx deno run -A bench/webhook.ts [--seconds 8]
//
// Each phase runs for `--seconds` (default 8) after 200 warm-up requests;
// four phases take about 40 seconds. Prints a JSON summary.

import { spawn } from "node:child_process";
import { createServer } from "node:net";
import process from "node:process";
import { createApp } from "../webhook/app.ts";
import { loadConfig, type WebhookConfig } from "../webhook/config.ts";
import { createLogger } from "../webhook/log.ts";

// The process phase gets the same settings as environment variables, so
// both phases admit pods with one configuration.
const WEBHOOK_ENV: Record<string, string> = {
  ASYA_SIDECAR_IMAGE: "registry.example/asya-sidecar:0.1.0",
  ASYA_S3_BUCKET: "asya-claims",
  ASYA_CREATE_QUEUES: "false",
  ASYA_NATIVE_SIDECAR: "always",
  ASYA_LOG_LEVEL: "error",
};

const loadedConfig = loadConfig(WEBHOOK_ENV);
if (!loadedConfig.ok) {
  throw new Error(`Webhook configuration of the bench is invalid: ${loadedConfig.error.join("; ")}`);
}
// The in-process app never talks to Kubernetes or runs a resync.
const CONFIG: WebhookConfig = {
  ...loadedConfig.value,
  resyncIntervalMs: 0,
  kubernetesTokenFile: "/nonexistent",
  kubernetesCaFile: "/nonexistent",
};

// A pod as a Deployment's ReplicaSet creates it: labels, owner reference,
// two env vars, resources, probes, a service account token volume.
const REVIEW = JSON.stringify({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "3f2a9c1e-0d7b-4c55-9a1e-5b2f6c7d8e90",
    kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" },
    namespace: "pipelines",
    operation: "CREATE",
    userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller" },
    object: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: "summarize-6c9f7d8b4-",
        namespace: "pipelines",
        labels: { app: "summarize", "pod-template-hash": "6c9f7d8b4" },
        annotations: { "asya.sh/actor": "summarize", "asya.sh/handler": "app.handlers.summarize", "asya.sh/timeout": "2m" },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "summarize-6c9f7d8b4", uid: "b1", controller: true }],
      },
      spec: {
        serviceAccountName: "summarize",
        containers: [{
          name: "main",
          image: "registry.example/summarize:1.4.2",
          env: [{ name: "MODEL", value: "small" }, { name: "LOG_LEVEL", value: "info" }],
          resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "1Gi" } },
          volumeMounts: [{ name: "kube-api-access", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }],
        }],
        volumes: [{ name: "kube-api-access", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } }],
      },
    },
    oldObject: null,
    dryRun: false,
  },
});

interface PhaseResult {
  phase: string;
  concurrency: number;
  requests: number;
  admissionsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function parseSeconds(args: string[]): number {
  if (args.length === 0) return 8;
  if (args.length === 2 && args[0] === "--seconds" && Number(args[1]) > 0 && Number(args[1]) <= 20) return Number(args[1]);
  throw new Error(`Invalid arguments ${JSON.stringify(args)}: expected --seconds N with 0 < N <= 20`);
}

async function runPhase(
  phase: string,
  concurrency: number,
  seconds: number,
  send: () => Promise<void>,
): Promise<PhaseResult> {
  for (let i = 0; i < 200; i++) await send();

  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1_000;
  const started = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const before = performance.now();
      await send();
      latencies.push(performance.now() - before);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1_000;

  latencies.sort((a, b) => a - b);
  const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  return {
    phase,
    concurrency,
    requests: latencies.length,
    admissionsPerSecond: Math.round(latencies.length / elapsed),
    p50Ms: Math.round(percentile(0.5) * 1_000) / 1_000,
    p99Ms: Math.round(percentile(0.99) * 1_000) / 1_000,
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function checkResponse(response: Response): Promise<void> {
  const body = await response.json();
  if (response.status !== 200 || body.response?.patchType !== "JSONPatch") {
    throw new Error(`Unexpected admission response: HTTP ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
  }
}

async function main(): Promise<void> {
  const seconds = parseSeconds(process.argv.slice(2));
  const results: PhaseResult[] = [];

  const app = createApp({
    config: CONFIG,
    kubernetesVersion: { major: 1, minor: 30 },
    log: createLogger({ level: "error", print: () => {} }),
  });
  const inProcess = async () => {
    await checkResponse(await app.request("/mutate", { method: "POST", body: REVIEW, headers: { "content-type": "application/json" } }));
  };
  results.push(await runPhase("in-process", 1, seconds, inProcess));
  results.push(await runPhase("in-process", 8, seconds, inProcess));

  const port = await freePort();
  const deno = "Deno" in globalThis ? process.execPath : "node_modules/.bin/deno";
  const child = spawn(deno, ["run", "-A", "webhook/main.ts", "--insecure", "--listen", `127.0.0.1:${port}`], {
    env: { ...process.env, ...WEBHOOK_ENV },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const url = `http://127.0.0.1:${port}/mutate`;
    for (let attempt = 0; ; attempt++) {
      try {
        await fetch(`http://127.0.0.1:${port}/healthz`).then((response) => response.body?.cancel());
        break;
      } catch (error) {
        if (attempt >= 100) throw new Error(`Webhook did not start on port ${port}: ${error}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const overHttp = async () => {
      await checkResponse(await fetch(url, { method: "POST", body: REVIEW, headers: { "content-type": "application/json" } }));
    };
    results.push(await runPhase("http", 1, seconds, overHttp));
    results.push(await runPhase("http", 8, seconds, overHttp));
  } finally {
    child.kill("SIGTERM");
  }

  const denoVersion = (globalThis as { Deno?: { version: { deno: string } } }).Deno?.version.deno;
  console.log(JSON.stringify({
    date: new Date().toISOString(),
    runtime: denoVersion === undefined ? `node ${process.version}` : `deno ${denoVersion}`,
    reviewBytes: REVIEW.length,
    results,
  }, null, 2));
}

await main();
