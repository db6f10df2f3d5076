/**
 * Webhook: admissions per second and latency for a typical pod, in-process
 * (`app.fetch`, no network) and over HTTPS on 127.0.0.1 against
 * `webhook/main.ts` running as its own process, each against a baseline
 * app that parses the review and allows it unchanged.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { createServer } from "node:net";
import { join } from "node:path";
import { generateWebhookCertificates } from "../../scripts/gen-certs.ts";
import { REPO_ROOT } from "../../sidecar/launch.ts";
import { createApp } from "../../webhook/app.ts";
import { loadConfig } from "../../webhook/config.ts";
import { createLogger } from "../../webhook/log.ts";
import { DENO } from "../lib/mesh.ts";
import { withTimeout } from "../lib/processes.ts";
import { perSecond, ratio, summarize } from "../lib/stats.ts";
import type { Suite, SuiteContext } from "../lib/suite.ts";
import { formatNumber, type Row } from "../lib/table.ts";
import { createBaselineApp } from "../lib/webhook-baseline.ts";

const GOAL_P99_MS = 5;
const BLOCKS = 3;

/** Settings the webhook reads from its environment, shared by both modes. */
const WEBHOOK_ENV: Record<string, string> = {
  ASYA_SIDECAR_IMAGE: "registry.example.com/asya/sidecar:0.1.0",
  ASYA_S3_BUCKET: "asya-claims",
  ASYA_AWS_REGION: "us-east-1",
  ASYA_CREATE_QUEUES: "false",
  ASYA_NATIVE_SIDECAR: "always",
  ASYA_LOG_LEVEL: "info",
};

/**
 * Builds the review of a pod as a ReplicaSet creates it for an annotated
 * Deployment: owner reference, labels, the actor annotations, one container
 * with env, resources and a probe, and the projected service account token.
 */
export function typicalPodReview(uid: string): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      namespace: "ml",
      operation: "CREATE",
      userInfo: {
        username: "system:serviceaccount:kube-system:replicaset-controller",
        groups: ["system:serviceaccounts"],
      },
      dryRun: false,
      object: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          generateName: "embed-text-7d9f8c6b5-",
          namespace: "ml",
          labels: { app: "embed-text", "pod-template-hash": "7d9f8c6b5" },
          annotations: {
            "asya.sh/actor": "embed-text",
            "asya.sh/handler": "embeddings.handlers.embed",
            "asya.sh/concurrency": "2",
          },
          ownerReferences: [{
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: "embed-text-7d9f8c6b5",
            uid: "0f5e2c1a-3b4d-4e6f-8a9b-1c2d3e4f5a6b",
            controller: true,
            blockOwnerDeletion: true,
          }],
        },
        spec: {
          serviceAccountName: "embed-text",
          containers: [{
            name: "model",
            image: "registry.example.com/ml/embed-text:2.3.1",
            env: [{ name: "MODEL_NAME", value: "small-en" }, {
              name: "BATCH_SIZE",
              value: "16",
            }],
            resources: {
              requests: { cpu: "1", memory: "2Gi" },
              limits: { memory: "2Gi" },
            },
            readinessProbe: {
              exec: { command: ["python3", "-c", "import embeddings"] },
              periodSeconds: 10,
            },
            volumeMounts: [{
              name: "kube-api-access-x7k2p",
              mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
              readOnly: true,
            }],
          }],
          volumes: [{
            name: "kube-api-access-x7k2p",
            projected: {
              sources: [{
                serviceAccountToken: { expirationSeconds: 3607, path: "token" },
              }],
            },
          }],
          restartPolicy: "Always",
          terminationGracePeriodSeconds: 30,
        },
      },
    },
  });
}

/** Latencies of sequential requests, and the rate of each of BLOCKS equal blocks of them. */
interface Series {
  latenciesMs: number[];
  rates: number[];
}

export const webhookSuite: Suite = {
  id: "webhook",
  title: "Webhook",
  async run(context) {
    const counts = {
      inProcess: context.quick
        ? { warmup: 100, requests: 600 }
        : { warmup: 300, requests: 3_000 },
      overHttps: context.quick
        ? { warmup: 10, requests: 60 }
        : { warmup: 50, requests: 600 },
    };
    const loaded = loadConfig(WEBHOOK_ENV);
    if (!loaded.ok) {
      throw new Error(
        `Webhook configuration of the bench is invalid: ${
          loaded.error.join("; ")
        }`,
      );
    }
    // The log line of each admission is formatted as in production but not printed.
    const app = createApp({
      config: loaded.value,
      log: createLogger({ level: "info", print: () => {} }),
    });
    const quietApp = createApp({
      config: loaded.value,
      log: createLogger({ level: "error", print: () => {} }),
    });
    const baselineApp = createBaselineApp();
    const local = "http://webhook.local/mutate";
    const responseBytes =
      (await (await app.fetch(reviewRequest(local, "size"))).arrayBuffer())
        .byteLength;

    const { warmup, requests } = counts.inProcess;
    context.progress(
      `webhook: in-process, ${warmup} warm-up + ${requests} requests per series`,
    );
    const inProcess = await series(
      warmup,
      requests,
      (uid) => call((request) => app.fetch(request), local, uid, true),
    );
    const inProcessQuiet = await series(
      warmup,
      requests,
      (uid) => call((request) => quietApp.fetch(request), local, uid, true),
    );
    const inProcessBaseline = await series(
      warmup,
      requests,
      (uid) => call((request) => baselineApp.fetch(request), local, uid, false),
    );

    context.progress(
      `webhook: over HTTPS, ${counts.overHttps.warmup} warm-up + ${counts.overHttps.requests} requests per series`,
    );
    const https = await measureOverHttps(
      context,
      counts.overHttps.warmup,
      counts.overHttps.requests,
      responseBytes,
    );

    const rows: Row[] = [
      ...rowsFor("in-process", inProcess, inProcessBaseline),
      {
        figure: "in-process, admission log line off: latency",
        unit: "ms",
        summary: summarize(inProcessQuiet.latenciesMs),
      },
      ...rowsFor("over HTTPS", https.webhook, https.baseline),
      {
        figure:
          `over HTTPS: baseline responding with ${responseBytes} bytes like the webhook: latency`,
        unit: "ms",
        summary: summarize(https.paddedBaseline.latenciesMs),
      },
      {
        figure: "over plain HTTP (--insecure): latency",
        unit: "ms",
        summary: summarize(https.plainWebhook.latenciesMs),
      },
    ];
    return {
      id: "webhook",
      title: "4. Webhook",
      method: [
        `A typical pod review: a CREATE of a pod that a ReplicaSet makes for an annotated Deployment (owner reference, labels, the actor annotations, one container with env, resources and a probe, the projected service-account token). The response must be a JSONPatch; it is ${responseBytes} bytes. Requests go one at a time; admissions/s is given for ${BLOCKS} equal blocks of each series. In-process calls \`createApp(...).fetch\` (${counts.inProcess.warmup} warm-up, ${counts.inProcess.requests} timed), with the admission log line formatted but not printed. Over HTTPS runs \`webhook/main.ts --listen 127.0.0.1:PORT\` as its own process with a certificate from \`scripts/gen-certs.ts\`, logging to a pipe (${counts.overHttps.warmup} warm-up, ${counts.overHttps.requests} timed); the client is node:https with one kept-alive connection, as the API server keeps one. The webhook runs without Kubernetes or SQS access (\`ASYA_CREATE_QUEUES=false\`), which pod admissions do not use.`,
        "The baseline is a Hono app on the same route that parses the review and allows it unchanged, called the same way: in-process, and over HTTPS as its own process with the same certificate. Three more series locate the time: the webhook with its admission log line turned off (in-process), the baseline responding with an empty patch padded to the webhook's response size (over HTTPS), and the webhook over plain HTTP (\`--insecure\`, meant for local testing only).",
      ],
      rows,
      notes: webhookNotes(
        inProcess,
        inProcessQuiet,
        inProcessBaseline,
        https,
        responseBytes,
      ),
    };
  },
};

function webhookNotes(
  inProcess: Series,
  inProcessQuiet: Series,
  inProcessBaseline: Series,
  https: {
    webhook: Series;
    baseline: Series;
    paddedBaseline: Series;
    plainWebhook: Series;
  },
  responseBytes: number,
): string[] {
  const notes: string[] = [];
  const latency = summarize(inProcess.latenciesMs);
  if (latency.p99 >= GOAL_P99_MS) {
    const quiet = summarize(inProcessQuiet.latenciesMs);
    const base = summarize(inProcessBaseline.latenciesMs);
    notes.push(
      `Where the time goes in-process: the median admission takes ${
        formatNumber(latency.median)
      } ms against ${
        formatNumber(base.median)
      } ms for the baseline, so the admission work (decoding the review, planning the injection, building the patch) is about ${
        formatNumber(latency.median - base.median)
      } ms; the log line accounts for ${
        formatNumber(latency.median - quiet.median)
      } ms of it. The p99 of ${formatNumber(latency.p99)} ms is ${
        formatNumber(latency.p99 / latency.median)
      }× the median, so it comes from single slow requests. Garbage collection of each admission's allocations and the CPU taken by other processes on the same two cores are the likely causes; this run does not tell them apart.`,
    );
  }
  const overHttps = summarize(https.webhook.latenciesMs);
  if (overHttps.p99 >= GOAL_P99_MS) {
    const small = summarize(https.baseline.latenciesMs);
    const padded = summarize(https.paddedBaseline.latenciesMs);
    const plain = summarize(https.plainWebhook.latenciesMs);
    const nagle = padded.median > 30 && small.median < 10 && plain.median < 10;
    const webhookAvoidsStall = nagle && overHttps.median < 10;
    notes.push(
      `Where the time goes over HTTPS: the baseline takes ${
        formatNumber(small.median)
      } ms with its small response and ${
        formatNumber(padded.median)
      } ms when it responds with ${responseBytes} bytes like the webhook, which takes ${
        formatNumber(overHttps.median)
      } ms, and ${formatNumber(plain.median)} ms over plain HTTP.` +
        (webhookAvoidsStall
          ? " The baseline, served by `Deno.serve` with `cert` and `key` (Deno 2.9.6), stalls about 40 ms on a response of this size, which matches Nagle's algorithm waiting for the client's delayed ACK. The webhook serves HTTPS with `node:https` and no-delay sockets (`webhook/tls-server.ts`), so it does not stall; its remaining cost over plain HTTP is TLS itself and the request adapter."
          : "") +
        (nagle && !webhookAvoidsStall
          ? " So a TLS response of this size, not the admission work, costs about 40 ms per request. This matches Nagle's algorithm on the server's TLS connection holding back the last part of the response until the client's delayed ACK, which Linux sends after up to 40 ms. In a separate check on this machine, curl as the client saw the same 40 ms on a reused connection, so the delay comes from the server side (Deno 2.9.6, `Deno.serve` with `cert` and `key`), and an API server would wait the same way on every admission."
          : ""),
    );
  }
  return notes;
}

/** Builds a POST of the typical pod review to `url`. */
function reviewRequest(url: string, uid: string): Request {
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typicalPodReview(uid),
  });
}

function rowsFor(mode: string, measured: Series, baseline: Series): Row[] {
  const latency = summarize(measured.latenciesMs);
  const baseLatency = summarize(baseline.latenciesMs);
  const rate = summarize(measured.rates);
  const baseRate = summarize(baseline.rates);
  return [
    {
      figure: `${mode}: latency`,
      unit: "ms",
      summary: latency,
      baseline: baseLatency.median,
      ratio: ratio(latency.median, baseLatency.median),
      goal: { text: `p99 < ${GOAL_P99_MS} ms`, met: latency.p99 < GOAL_P99_MS },
    },
    {
      figure: `${mode}: admissions/s`,
      unit: "admissions/s",
      summary: rate,
      baseline: baseRate.median,
      ratio: ratio(rate.median, baseRate.median),
    },
    { figure: `${mode}: baseline latency`, unit: "ms", summary: baseLatency },
  ];
}

async function series(
  warmup: number,
  requests: number,
  send: (uid: string) => Promise<void>,
): Promise<Series> {
  for (let i = 0; i < warmup; i++) await send(`warmup-${i}`);
  const latenciesMs: number[] = [];
  const rates: number[] = [];
  const perBlock = Math.ceil(requests / BLOCKS);
  for (let block = 0; block < BLOCKS; block++) {
    const started = performance.now();
    for (let i = 0; i < perBlock; i++) {
      const before = performance.now();
      await send(`req-${block}-${i}`);
      latenciesMs.push(performance.now() - before);
    }
    rates.push(perSecond(perBlock, performance.now() - started));
  }
  return { latenciesMs, rates };
}

/** Sends one review and checks the response: a JSONPatch from the webhook, an allow from the baseline. */
async function call(
  fetcher: (request: Request) => Response | Promise<Response>,
  url: string,
  uid: string,
  expectPatch: boolean,
): Promise<void> {
  const response = await fetcher(reviewRequest(url, uid));
  const review = await response.json() as {
    response?: { uid?: string; allowed?: boolean; patchType?: string };
  };
  const answer = review.response;
  if (
    response.status !== 200 || answer?.uid !== uid || answer.allowed !== true ||
    (expectPatch && answer.patchType !== "JSONPatch")
  ) {
    throw new Error(
      `Unexpected admission response: HTTP ${response.status} ${
        JSON.stringify(review).slice(0, 200)
      }`,
    );
  }
}

async function measureOverHttps(
  context: SuiteContext,
  warmup: number,
  requests: number,
  responseBytes: number,
): Promise<
  {
    webhook: Series;
    baseline: Series;
    paddedBaseline: Series;
    plainWebhook: Series;
  }
> {
  const certDir = await mkdtemp("/tmp/asya-bench-tls-");
  // The certificate names "localhost", which resolves to 127.0.0.1 here, so the client checks it as usual.
  const certificates = generateWebhookCertificates({
    service: "localhost",
    namespace: "bench",
  });
  await writeFile(join(certDir, "tls.crt"), certificates.serverCertPem);
  await writeFile(join(certDir, "tls.key"), certificates.serverKeyPem);
  // node:https with a kept-alive connection, like the API server's client. Deno's fetch over TLS
  // took about 40 ms per request on loopback here (Nagle's algorithm meeting delayed ACKs).
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: certificates.caCertPem,
  });
  const overTls = (port: number) => async (request: Request) =>
    await post(https, agent, port, await request.text());

  try {
    const webhookPort = await freePort();
    const webhook = await startServer(context, "webhook", [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      join(REPO_ROOT, "webhook", "main.ts"),
      "--listen",
      `127.0.0.1:${webhookPort}`,
    ], { ...WEBHOOK_ENV, ASYA_WEBHOOK_CERT_DIR: certDir });
    let overHttps: Series;
    try {
      overHttps = await series(
        warmup,
        requests,
        (uid) =>
          call(overTls(webhookPort), "http://webhook.local/mutate", uid, true),
      );
    } finally {
      await context.processes.stop(webhook);
    }

    const baseline = await overHttpsBaseline(
      context,
      certDir,
      0,
      warmup,
      requests,
      overTls,
    );
    const paddedBaseline = await overHttpsBaseline(
      context,
      certDir,
      responseBytes,
      warmup,
      requests,
      overTls,
    );

    // The same webhook over plain HTTP (--insecure, local testing only) separates the cost of TLS.
    const plainPort = await freePort();
    const plain = await startServer(
      context,
      "webhook over plain HTTP",
      [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        join(REPO_ROOT, "webhook", "main.ts"),
        "--insecure",
        "--listen",
        `127.0.0.1:${plainPort}`,
      ],
      WEBHOOK_ENV,
      "http_listening",
    );
    const plainAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const plainWebhook = await series(
        warmup,
        requests,
        (uid) =>
          call(
            async (request) =>
              await post(http, plainAgent, plainPort, await request.text()),
            "http://webhook.local/mutate",
            uid,
            true,
          ),
      );
      return { webhook: overHttps, baseline, paddedBaseline, plainWebhook };
    } finally {
      plainAgent.destroy();
      await context.processes.stop(plain);
    }
  } finally {
    agent.destroy();
    await rm(certDir, { recursive: true, force: true });
  }
}

/** Runs the baseline app as its own HTTPS process, responding with about `patchBytes` bytes, and measures it. */
async function overHttpsBaseline(
  context: SuiteContext,
  certDir: string,
  patchBytes: number,
  warmup: number,
  requests: number,
  overTls: (port: number) => (request: Request) => Promise<Response>,
): Promise<Series> {
  const port = await freePort();
  const server = await startServer(context, "baseline app", [
    "run",
    "--allow-net",
    "--allow-read",
    join(REPO_ROOT, "bench", "lib", "webhook-baseline-server.ts"),
    String(port),
    certDir,
    String(patchBytes),
  ], {});
  try {
    return await series(
      warmup,
      requests,
      (uid) =>
        call(overTls(port), "http://webhook.local/mutate", uid, patchBytes > 0),
    );
  } finally {
    await context.processes.stop(server);
  }
}

/** Posts `body` to /mutate on localhost:`port` with node:http or node:https and returns the response as a fetch Response. */
function post(
  client: typeof http | typeof https,
  agent: http.Agent,
  port: number,
  body: string,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = client.request({
      host: "localhost",
      port,
      path: "/mutate",
      method: "POST",
      agent,
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      },
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on(
        "end",
        () =>
          resolve(
            new Response(Buffer.concat(chunks), {
              status: response.statusCode,
            }),
          ),
      );
      response.on("error", reject);
    });
    request.setTimeout(
      10_000,
      () =>
        request.destroy(new Error("Admission request timed out after 10 s")),
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** Starts a Deno server process and waits for its `listeningEvent` log line. */
async function startServer(
  context: SuiteContext,
  name: string,
  args: string[],
  env: Record<string, string>,
  listeningEvent = "https_listening",
) {
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const child = context.processes.spawn(DENO, args, {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      ...env,
    },
    onLine: (line) => {
      if (line.includes(`"${listeningEvent}"`)) listening();
    },
  });
  const exited = new Promise<never>((_, reject) =>
    child.once(
      "exit",
      (code) =>
        reject(new Error(`The ${name} exited with ${code} before it listened`)),
    )
  );
  await withTimeout(
    Promise.race([ready, exited]),
    30_000,
    `the ${name} to listen`,
  );
  return child;
}

/** Returns a port that was free on 127.0.0.1 a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
