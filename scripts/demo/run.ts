/**
 * One demo run: local stack, queues, mesh, inputs, wait, report, cleanup.
 *
 * Everything started here is stopped in `finally`, on success, failure or
 * Ctrl-C (which aborts `signal`). With `keep`, the run waits for the signal
 * after the report instead, so the stack can be inspected.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startLocalStack } from "../../local/mod.ts";
import { SINK_ACTOR, SUMP_ACTOR } from "../../shared/queues.ts";
import {
  type ActorQueues,
  type Clients,
  createActorQueues,
  createBucket,
  createClients,
  getText,
  listKeys,
  putObject,
  queueDepth,
  sendEnvelope,
} from "./aws.ts";
import { prepareInput, readInputs } from "./inputs.ts";
import { ALL_ACTORS, type Sidecar, startMesh } from "./mesh.ts";
import { actorCounters } from "./metrics.ts";
import type { DemoOptions } from "./options.ts";
import { ProcessError, ProcessGroup } from "./processes.ts";
import { Progress } from "./progress.ts";
import {
  accountFor,
  type Accounting,
  type ActorCounters,
  buildReport,
  type DemoReport,
  type SentInput,
  type StoredDocument,
  type StoredEnvelope,
} from "./report.ts";
import { Timeline } from "./timeline.ts";

export const NAMESPACE = "demo";
export const BUCKET = "asya-demo";
const MAX_RECEIVE_COUNT = 3;
const VISIBILITY_TIMEOUT_SECONDS = 60;
const POLL_INTERVAL_MS = 500;

export interface DemoIO {
  /** Writes progress and messages (stderr). */
  log: (text: string) => void;
  isTerminal: boolean;
  signal: AbortSignal;
}

export interface DemoOutcome {
  report: DemoReport;
  /** Problems that make the run a failure: lost or unexpectedly failed envelopes. */
  problems: string[];
}

/** Raised when the run is interrupted by Ctrl-C or SIGTERM. */
export class DemoAborted extends Error {
  constructor() {
    super("Demo interrupted");
    this.name = "DemoAborted";
  }
}

/**
 * Runs the demo and returns its report. Throws ProcessError when a process
 * fails to start or exits early, DemoAborted on interruption, and Error for
 * bad inputs or a failing local stack.
 */
export async function runDemo(
  options: DemoOptions,
  io: DemoIO,
  onReport?: (outcome: DemoOutcome) => void,
): Promise<DemoOutcome> {
  const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
  // Paths given on the command line are relative to the working directory, the defaults to the repository.
  const files = await readInputs(
    options.booksDir === undefined ? join(repoRoot, "examples", "data") : resolve(options.booksDir),
    options.brokenInput === undefined
      ? join(repoRoot, "examples", "data", "not-a-book.gz")
      : resolve(options.brokenInput),
  );
  const started = Date.now();
  const runId = `run${started.toString(36)}`;
  const progress = new Progress(io.log, io.isTerminal);

  const workDir = await Deno.makeTempDir({ prefix: "asya-demo-" });
  await Deno.mkdir(join(workDir, "logs"));
  const group = new ProcessGroup(join(workDir, "logs"));
  let stopStack: (() => Promise<void>) | undefined;
  let keepFiles = false;

  try {
    const stack = await startLocalStack({ dataDir: join(workDir, "data"), host: "127.0.0.1" });
    stopStack = stack.stop;
    const clients = createClients(stack.sqsEndpoint, stack.s3Endpoint);
    await createBucket(clients.s3, BUCKET);
    const queues = await createActorQueues(clients.sqs, NAMESPACE, ALL_ACTORS, {
      maxReceiveCount: MAX_RECEIVE_COUNT,
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
    });
    progress.note(`Local stack: SQS ${stack.sqsEndpoint}, S3 ${stack.s3Endpoint}; logs in ${join(workDir, "logs")}`);

    const timeline = new Timeline();
    progress.note(`Starting ${ALL_ACTORS.length} sidecars and ${ALL_ACTORS.length - 2} Python runtimes...`);
    const sidecars = await abortable(
      startMesh(group, {
        repoRoot,
        workDir,
        namespace: NAMESPACE,
        bucket: BUCKET,
        sqsEndpoint: stack.sqsEndpoint,
        s3Endpoint: stack.s3Endpoint,
        concurrency: options.concurrency,
        python: Deno.env.get("ASYA_DEMO_PYTHON") || "python3",
        timeline,
        signal: io.signal,
      }),
      io.signal,
    );

    const sendStarted = Date.now();
    const inputs = await sendInputs(files, clients, queues, runId);
    progress.note(
      `Sent ${inputs.length} envelopes (${inputs.filter((input) => input.claimCheck).length} as claim checks)`,
    );

    const accounting = await waitForResults(
      inputs,
      clients,
      sidecars,
      group,
      progress,
      options,
      io.signal,
      sendStarted,
    );
    const counters = await scrapeCounters(sidecars);
    const report = buildReport({
      runId,
      namespace: NAMESPACE,
      bucket: BUCKET,
      accounting,
      counters,
      processing: timeline.actorStats(),
      hops: timeline.hopStats(pathsOf(accounting)),
      elapsedSeconds: (Date.now() - sendStarted) / 1000,
      actorOrder: ALL_ACTORS,
    });
    const problems = await findProblems(report, accounting, clients, queues, options.timeoutSeconds);
    const outcome = { report, problems };
    onReport?.(outcome);

    if (options.keep) {
      keepFiles = true;
      progress.note(keepMessage(stack.sqsEndpoint, stack.s3Endpoint, workDir));
      await waitForAbort(io.signal);
    }
    return outcome;
  } finally {
    progress.finish();
    await group.stopAll();
    await stopStack?.();
    if (!keepFiles) await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

async function sendInputs(
  files: Awaited<ReturnType<typeof readInputs>>,
  clients: Clients,
  queues: Map<string, ActorQueues>,
  runId: string,
): Promise<SentInput[]> {
  const splitQueue = queues.get("split")!.queueUrl;
  const inputs: SentInput[] = [];
  for (const [index, file] of files.entries()) {
    const prepared = await prepareInput(file, {
      runId,
      index,
      namespace: NAMESPACE,
      bucket: BUCKET,
      nowIso: new Date().toISOString(),
    });
    if (prepared.claimCheck !== undefined) {
      await putObject(clients.s3, BUCKET, prepared.claimCheck.key, prepared.claimCheck.body);
    }
    await sendEnvelope(clients.sqs, splitQueue, prepared.body);
    inputs.push(prepared.sent);
  }
  return inputs;
}

/**
 * Polls S3 for what x-sink and x-sump stored, and the sidecars for their
 * counters, until every envelope is accounted for or the timeout passes.
 * Throws ProcessError when a sidecar or runtime exits meanwhile.
 */
async function waitForResults(
  inputs: SentInput[],
  clients: Clients,
  sidecars: Sidecar[],
  group: ProcessGroup,
  progress: Progress,
  options: DemoOptions,
  signal: AbortSignal,
  started: number,
): Promise<Accounting> {
  const stored = new Map<string, StoredEnvelope>();
  const deadline = started + options.timeoutSeconds * 1000;

  while (true) {
    if (signal.aborted) throw new DemoAborted();
    for (const process of group.list()) {
      const code = process.exitCode();
      if (code !== undefined) {
        throw new ProcessError(process.name, `exited with code ${code} during the run`, process.lastLines());
      }
    }

    await collectStored(clients, stored);
    const accounting = accountFor(inputs, [...stored.values()]);
    const counters = await scrapeCounters(sidecars);
    const timedOut = Date.now() >= deadline;
    progress.update({
      elapsedMs: Date.now() - started,
      actors: ALL_ACTORS.map((actor) => {
        const counter = counters.get(actor);
        return {
          actor,
          received: counter?.received ?? 0,
          done: (counter?.succeeded ?? 0) + (counter?.failed ?? 0),
          failed: counter?.failed ?? 0,
        };
      }),
      stored: stored.size,
      expected: accounting.inputs.every((account) => account.expected !== undefined)
        ? accounting.inputs.reduce((sum, account) => sum + account.expected!, 0)
        : undefined,
    }, accounting.complete || timedOut);

    if (accounting.complete || timedOut) return accounting;
    await sleep(POLL_INTERVAL_MS, signal);
  }
}

async function collectStored(clients: Clients, stored: Map<string, StoredEnvelope>): Promise<void> {
  for (const folder of ["results", "errors"] as const) {
    for (const key of await listKeys(clients.s3, BUCKET, `${folder}/${NAMESPACE}/`)) {
      if (stored.has(key)) continue;
      const document = JSON.parse(await getText(clients.s3, BUCKET, key)) as StoredDocument;
      stored.set(key, { uri: `s3://${BUCKET}/${key}`, folder, document });
    }
  }
}

async function scrapeCounters(sidecars: Sidecar[]): Promise<Map<string, ActorCounters>> {
  const entries = await Promise.all(sidecars.map(async (sidecar) => {
    try {
      const response = await fetch(`${sidecar.httpUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
      return [sidecar.actor, actorCounters(await response.text())] as const;
    } catch {
      // A missed scrape only delays the progress numbers; the next poll retries.
      return undefined;
    }
  }));
  return new Map(entries.filter((entry) => entry !== undefined));
}

/** Path of every stored envelope through the actors, for the hop timings. */
function pathsOf(accounting: Accounting) {
  const stored = [
    ...accounting.inputs.flatMap((account) => [...account.results, ...account.failures]),
    ...accounting.unmatched,
  ];
  return stored.map((item) => {
    const { route, id, parent_id: parentId } = item.document;
    const last = item.folder === "results" ? [SINK_ACTOR] : [route.curr, SUMP_ACTOR].filter((actor) => actor !== "");
    return { envelopeId: id, parentId, actors: [...route.prev, ...last] };
  });
}

async function findProblems(
  report: DemoReport,
  accounting: Accounting,
  clients: Clients,
  queues: Map<string, ActorQueues>,
  timeoutSeconds: number,
): Promise<string[]> {
  const problems: string[] = [];
  const incomplete = accounting.inputs.filter((account) => account.missingIds.length > 0);
  if (incomplete.length > 0) {
    const lines = incomplete.map((account) =>
      account.expected === undefined
        ? `${account.input.name}: nothing stored yet, so its chapter count is unknown (envelope ${account.input.id})`
        : `${account.input.name}: ${account.missingIds.length} of ${account.expected} missing: ${
          listIds(account.missingIds)
        }`
    );
    problems.push(
      `Envelopes not in x-sink or x-sump after ${timeoutSeconds} s (lost, or still in flight):\n` +
        lines.map((line) => `      ${line}`).join("\n") + `\n      ${await describeQueues(clients, queues)}`,
    );
  }
  for (const failure of report.failures.filter((item) => !item.expected)) {
    problems.push(
      `Envelope ${failure.envelope_id} failed unexpectedly at ${failure.actor}: ${failure.reason}: ${failure.message}`,
    );
  }
  const brokenInputs = accounting.inputs.filter((account) => account.input.kind === "broken");
  for (const account of brokenInputs) {
    if (account.results.length > 0) {
      problems.push(`The broken input ${account.input.name} reached x-sink, expected x-sump`);
    }
  }
  return problems;
}

/** Describes where unfinished envelopes are: messages left in actor queues and DLQs. */
async function describeQueues(clients: Clients, queues: Map<string, ActorQueues>): Promise<string> {
  const queued: string[] = [];
  const dead: string[] = [];
  for (const [actor, urls] of queues) {
    const depth = await queueDepth(clients.sqs, urls.queueUrl).catch(() => 0);
    const dlqDepth = await queueDepth(clients.sqs, urls.dlqUrl).catch(() => 0);
    if (depth > 0) queued.push(`${actor} ${depth}`);
    if (dlqDepth > 0) dead.push(`${actor} ${dlqDepth}`);
  }
  return `Messages still in actor queues: ${queued.join(", ") || "none"}; in DLQs: ${dead.join(", ") || "none"}`;
}

function listIds(ids: string[]): string {
  const listed = ids.slice(0, 5).join(", ");
  return ids.length > 5 ? `${listed} and ${ids.length - 5} more` : listed;
}

function keepMessage(sqsEndpoint: string, s3Endpoint: string, workDir: string): string {
  return [
    "",
    "--keep: the stack and the mesh keep running until Ctrl-C.",
    `  SQS endpoint: ${sqsEndpoint}`,
    `  S3 endpoint:  ${s3Endpoint} (path-style), bucket ${BUCKET}`,
    `  Data and logs: ${workDir}`,
    "  Try:",
    `    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \\`,
    `      aws --endpoint-url ${sqsEndpoint} sqs list-queues`,
    `    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \\`,
    `      aws --endpoint-url ${s3Endpoint} s3 ls s3://${BUCKET}/results/${NAMESPACE}/`,
  ].join("\n");
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(new DemoAborted());
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolvePromise, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolvePromise) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolvePromise();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolvePromise) => {
    if (signal.aborted) return resolvePromise();
    signal.addEventListener("abort", () => resolvePromise(), { once: true });
  });
}
