/**
 * Sidecar cold start: from process start (`deno run sidecar/main.ts`) to
 * its first ReceiveMessage as it arrives at the endpoint, and its idle RSS,
 * against a bare Deno script that sends one ReceiveMessage with fetch.
 */
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../sidecar/launch.ts";
import {
  createQueues,
  DENO,
  type Mesh,
  queueUrl,
  startRuntime,
  startSidecar,
} from "../lib/mesh.ts";
import { readMemory, sleep, withTimeout } from "../lib/processes.ts";
import { type SqsRecorder, startSqsRecorder } from "../lib/sqs-recorder.ts";
import { median, ratio, summarize } from "../lib/stats.ts";
import type { Suite, SuiteContext } from "../lib/suite.ts";
import { formatNumber } from "../lib/table.ts";

const GOAL_MS = 300;
const ACTOR = "cold";
/** Log events of the sidecar's start, in the order it writes them. */
const PHASES = [
  "http_listening",
  "sidecar_starting",
  "runtime_ready",
  "consumer_started",
];

interface Start {
  toReceiveMs: number;
  idleRssBytes: number;
  /** Milliseconds from process start to each phase's log line, as the bench received it. */
  phases: Map<string, number>;
}

export const coldStartSuite: Suite = {
  id: "cold-start",
  title: "Sidecar cold start",
  async run(context) {
    const runs = context.quick ? 3 : 5;
    const idleMs = context.quick ? 250 : 2_000;
    const mesh = await context.mesh();
    await createQueues(mesh, [ACTOR]);
    const runtime = await startRuntime(mesh, ACTOR);
    const recorder = await startSqsRecorder(mesh.sqsEndpoint);

    const sidecarStarts: Start[] = [];
    const bareStarts: Start[] = [];
    const sdkStarts: Start[] = [];
    try {
      context.progress(
        `cold-start: 1 warm-up + ${runs} starts each of the sidecar and of two bare Deno scripts, alternating`,
      );
      for (let run = 0; run <= runs; run++) {
        const sidecar = await startSidecarOnce(
          context,
          mesh,
          recorder,
          runtime.socketDir,
          idleMs,
        );
        const bare = await startBareOnce(
          context,
          mesh,
          recorder,
          idleMs,
          false,
        );
        const sdk = await startBareOnce(context, mesh, recorder, idleMs, true);
        // The first round only fills caches (module graph, TypeScript transpilation).
        if (run === 0) continue;
        sidecarStarts.push(sidecar);
        bareStarts.push(bare);
        sdkStarts.push(sdk);
      }
    } finally {
      await recorder.stop();
      await context.processes.stop(runtime.child);
    }

    const sidecar = summarize(sidecarStarts.map((start) => start.toReceiveMs));
    const bare = summarize(bareStarts.map((start) => start.toReceiveMs));
    const sidecarRss = summarize(
      sidecarStarts.map((start) => start.idleRssBytes / 2 ** 20),
    );
    const bareRss = summarize(
      bareStarts.map((start) => start.idleRssBytes / 2 ** 20),
    );
    const sdk = summarize(sdkStarts.map((start) => start.toReceiveMs));
    const sdkRss = summarize(
      sdkStarts.map((start) => start.idleRssBytes / 2 ** 20),
    );
    const phases = PHASES.map((phase) =>
      [
        phase,
        median(sidecarStarts.map((start) => start.phases.get(phase) ?? NaN)),
      ] as const
    );

    const notes: string[] = [
      "The compiled binary (`deno compile`, in the sidecar image) is measured in the image builds, where the network it needs to download the Deno runtime base exists; this page measures `deno run` only. The binary carries its modules already resolved and transpiled, which should shorten the start, but by how much is not measured here.",
    ];
    if (sidecar.median >= GOAL_MS) {
      notes.push(
        `Where the time goes (medians from process start, as the bench received each log line): ${
          phases.map(([phase, ms]) => `\`${phase}\` at ${formatNumber(ms)} ms`)
            .join(", ")
        }, first ReceiveMessage at the endpoint at ${
          formatNumber(sidecar.median)
        } ms. A bare Deno script reaches its first ReceiveMessage in ${
          formatNumber(bare.median)
        } ms, and ${
          formatNumber(sdk.median)
        } ms when it first loads and builds the SDK's SQS and S3 clients, so loading the AWS SDK accounts for about ${
          formatNumber(sdk.median - bare.median)
        } ms of the ${
          formatNumber(sidecar.median - bare.median)
        } ms the sidecar takes beyond a bare script. Between \`runtime_ready\` and \`consumer_started\` the sidecar looks up its queue URL with GetQueueUrl, its first SDK call, which also resolves the credential chain.`,
      );
    }
    return {
      id: "cold-start",
      title: "5. Sidecar cold start",
      method: [
        `The sidecar of actor \`${ACTOR}\` starts with \`deno run\` and the flags of \`deno task sidecar\`, next to a Python runtime that is already ready, with its SQS endpoint pointed at a pass-through proxy in the bench process. The time runs from spawning the process to the proxy seeing its first ReceiveMessage. Idle RSS is VmRSS of the sidecar process ${
          idleMs / 1000
        } s later, while it waits in a long poll. The baseline is a Deno script (\`bench/lib/first-receive.ts\`) that sends one ReceiveMessage through the same proxy with a bare fetch and keeps polling; a second series of the same script first loads and builds the AWS SDK's SQS and S3 clients. The three alternate, ${runs} starts each after one warm-up round that fills Deno's module cache.`,
      ],
      rows: [
        {
          figure: "sidecar (deno run): start → first ReceiveMessage",
          unit: "ms",
          summary: sidecar,
          baseline: bare.median,
          ratio: ratio(sidecar.median, bare.median),
          goal: { text: `< ${GOAL_MS} ms`, met: sidecar.median < GOAL_MS },
        },
        {
          figure: "bare Deno script: start → first ReceiveMessage",
          unit: "ms",
          summary: bare,
        },
        {
          figure: "bare Deno script loading the SQS and S3 SDK clients first",
          unit: "ms",
          summary: sdk,
        },
        {
          figure: "sidecar idle RSS",
          unit: "MiB",
          summary: sidecarRss,
          baseline: bareRss.median,
          ratio: ratio(sidecarRss.median, bareRss.median),
        },
        { figure: "bare Deno script idle RSS", unit: "MiB", summary: bareRss },
        {
          figure: "bare Deno script with the SDK clients, idle RSS",
          unit: "MiB",
          summary: sdkRss,
        },
      ],
      notes,
    };
  },
};

async function startSidecarOnce(
  context: SuiteContext,
  mesh: Mesh,
  recorder: SqsRecorder,
  socketDir: string,
  idleMs: number,
): Promise<Start> {
  const phases = new Map<string, number>();
  const received = recorder.nextReceive();
  const started = performance.now();
  let child: ChildProcess | undefined;
  try {
    const sidecar = await startSidecar(mesh, {
      actor: ACTOR,
      socketDir,
      sqsEndpoint: recorder.url,
      waitReady: false,
      onLine: (line, atMs) => {
        const phase = PHASES.find((name) => line.includes(`"event":"${name}"`));
        if (phase !== undefined && !phases.has(phase)) {
          phases.set(phase, atMs - started);
        }
      },
    });
    child = sidecar.child;
    const toReceiveMs = (await withTimeout(
      received,
      60_000,
      "the sidecar's first ReceiveMessage",
    )) - started;
    await sleep(idleMs);
    return {
      toReceiveMs,
      idleRssBytes: (await readMemory(child.pid!)).rssBytes,
      phases,
    };
  } finally {
    await context.processes.kill(child);
  }
}

async function startBareOnce(
  context: SuiteContext,
  mesh: Mesh,
  recorder: SqsRecorder,
  idleMs: number,
  withSdk: boolean,
): Promise<Start> {
  const received = recorder.nextReceive();
  const started = performance.now();
  const script = join(REPO_ROOT, "bench", "lib", "first-receive.ts");
  const args = [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    "--allow-sys",
    script,
    recorder.url,
    queueUrl(mesh, ACTOR),
    ...(withSdk ? ["--with-sdk"] : []),
  ];
  const child = context.processes.spawn(DENO, args, {
    cwd: REPO_ROOT,
    onLine: () => {},
  });
  try {
    const toReceiveMs = (await withTimeout(
      received,
      60_000,
      "the bare script's first ReceiveMessage",
    )) - started;
    await sleep(idleMs);
    return {
      toReceiveMs,
      idleRssBytes: (await readMemory(child.pid!)).rssBytes,
      phases: new Map(),
    };
  } finally {
    await context.processes.stop(child);
  }
}
