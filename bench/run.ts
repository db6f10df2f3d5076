/**
 * `npm run bench` (`deno task bench`): runs the benchmark suites side by
 * side in one run, each against a baseline measured in the same run, and
 * writes docs/benchmarks.md.
 *
 *   deno run --allow-all bench/run.ts [--quick] [--only hop,webhook] [--out FILE] [--note TEXT]
 *
 * `--quick` runs fewer repetitions and skips the 100 MB payload, finishing
 * in under a minute; the full run takes a few minutes on two cores. Every
 * server listens on 127.0.0.1, and every process started is stopped at the
 * end, on failure, on SIGINT/SIGTERM and when the overall time limit ends.
 * Exit code: 0 when every suite ran, 1 when one failed (the page still
 * lists the others), 2 for a bad command line.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../sidecar/launch.ts";
import {
  type BenchActor,
  closeMesh,
  type Mesh,
  openMesh,
  startActors,
} from "./lib/mesh.ts";
import { ProcessRegistry } from "./lib/processes.ts";
import type { Suite, SuiteContext } from "./lib/suite.ts";
import { type Measurement, renderPage, type RunInfo } from "./lib/table.ts";
import { claimCheckSuite } from "./suites/claim-check.ts";
import { coldStartSuite } from "./suites/cold-start.ts";
import { hopSuite } from "./suites/hop.ts";
import { throughputSuite } from "./suites/throughput.ts";
import { webhookSuite } from "./suites/webhook.ts";

const SUITES: Suite[] = [
  hopSuite,
  throughputSuite,
  claimCheckSuite,
  webhookSuite,
  coldStartSuite,
];
const TIME_LIMIT_MS = { quick: 120_000, full: 900_000 };

const USAGE =
  `usage: deno run --allow-all bench/run.ts [--quick] [--only ID,ID] [--out FILE] [--note TEXT]
  --quick        fewer repetitions, no 100 MB payload; under a minute
  --only IDS     run only these suites: ${
    SUITES.map((suite) => suite.id).join(", ")
  }
  --out FILE     page to write (default docs/benchmarks.md)
  --note TEXT    a remark on the run conditions, added to the page (repeatable)`;

/** Parsed command line. */
export interface Options {
  quick: boolean;
  only: string[] | undefined;
  out: string;
  notes: string[];
}

/** Parses the command line; returns an error message naming the bad argument. */
export function parseArgs(args: string[]): Options | string {
  const options: Options = {
    quick: false,
    only: undefined,
    out: join(REPO_ROOT, "docs", "benchmarks.md"),
    notes: [],
  };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    const value = () => {
      const next = args[++index];
      if (next === undefined) throw new Error(`Missing value after ${arg}`);
      return next;
    };
    try {
      if (arg === "--quick") options.quick = true;
      else if (arg === "--out") options.out = value();
      else if (arg === "--note") options.notes.push(value());
      else if (arg === "--only") {
        const ids = value().split(",").filter((id) => id !== "");
        const unknown = ids.filter((id) =>
          !SUITES.some((suite) => suite.id === id)
        );
        if (ids.length === 0 || unknown.length > 0) {
          return `Invalid --only: expected suite ids from ${
            SUITES.map((suite) => suite.id).join(", ")
          }, found ${JSON.stringify(unknown.join(",") || "nothing")}`;
        }
        options.only = ids;
      } else if (arg === "--help" || arg === "-h") return USAGE;
      else return `Unknown argument ${JSON.stringify(arg)}\n${USAGE}`;
    } catch (error) {
      return `${(error as Error).message}\n${USAGE}`;
    }
  }
  return options;
}

async function main(args: string[]): Promise<number> {
  const options = parseArgs(args);
  if (typeof options === "string") {
    console.error(options);
    return options === USAGE ? 0 : 2;
  }
  const suites = SUITES.filter((suite) =>
    options.only === undefined || options.only.includes(suite.id)
  );
  const processes = new ProcessRegistry();
  const loadAtStart = os.loadavg();
  const started = new Date();

  let mesh: Promise<Mesh> | undefined;
  let chain: Promise<BenchActor[]> | undefined;
  const progress = (message: string) =>
    console.error(
      `[bench ${
        ((Date.now() - started.getTime()) / 1000).toFixed(1)
      }s] ${message}`,
    );
  const context: SuiteContext = {
    quick: options.quick,
    processes,
    mesh: () => (mesh ??= openMesh(processes)),
    chain:
      () => (chain ??= context.mesh().then((opened) =>
        startActors(opened, ["hop1", "hop2", "hop3", "hop4", "hop5"])
      )),
    progress,
  };

  const stopEverything = async () => {
    if (mesh !== undefined) {
      await closeMesh(await mesh.catch(() => ({ processes } as Mesh))).catch(
        () => {},
      );
    }
    // Sidecars let a pending long poll return on SIGTERM (up to 20 s); 3 s is enough for the rest.
    await processes.stopAll(3_000);
  };
  const onSignal = (signal: Deno.Signal) => {
    progress(`${signal} received: stopping every process`);
    void stopEverything().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  const limitMs = options.quick ? TIME_LIMIT_MS.quick : TIME_LIMIT_MS.full;
  const limit = setTimeout(() => {
    progress(
      `time limit of ${limitMs / 1000} s reached: stopping every process`,
    );
    void stopEverything().finally(() => Deno.exit(1));
  }, limitMs);

  const measurements: Measurement[] = [];
  const failures: RunInfo["failures"] = [];
  try {
    for (const suite of suites) {
      progress(`${suite.id}: starting`);
      try {
        measurements.push(await suite.run(context));
      } catch (error) {
        const message = error instanceof Error
          ? error.message.split("\n")[0]
          : String(error);
        progress(
          `${suite.id}: failed: ${
            error instanceof Error ? error.stack : message
          }`,
        );
        failures.push({ id: suite.id, error: message });
      }
    }
  } finally {
    await stopEverything();
    clearTimeout(limit);
  }

  const info = runInfo(options, started, loadAtStart, failures);
  writeFileSync(options.out, renderPage(info, measurements, intro(options)));
  progress(
    `wrote ${options.out} (${measurements.length} measurements, ${failures.length} failed)`,
  );
  return failures.length === 0 ? 0 : 1;
}

function runInfo(
  options: Options,
  started: Date,
  loadAtStart: number[],
  failures: RunInfo["failures"],
): RunInfo {
  const cpus = os.cpus();
  const loadAtEnd = os.loadavg();
  const load = (values: number[]) =>
    values.map((value) => value.toFixed(1)).join(" / ");
  const minutes = ((Date.now() - started.getTime()) / 60_000).toFixed(1);
  return {
    date: `${
      started.toISOString().slice(0, 16).replace("T", " ")
    } UTC (${minutes} min)`,
    command: commandLine(options),
    machine: [
      `${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} logical CPUs, ${
        (os.totalmem() / 2 ** 30).toFixed(0)
      } GiB RAM, ${os.type()} ${os.release()}`,
    ],
    versions: [
      `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}) for the bench, the sidecars, the webhook and the local stack`,
      `${command("python3", ["--version"])} for the runtimes`,
      `@aws-sdk/client-sqs ${
        packageVersion("@aws-sdk/client-sqs")
      }, @aws-sdk/client-s3 ${packageVersion("@aws-sdk/client-s3")}, hono ${
        packageVersion("hono")
      }`,
      `repository at commit ${
        command("git", ["rev-parse", "--short", "HEAD"])
      }`,
    ],
    conditions: [
      `load average (1 / 5 / 15 min) ${load(loadAtStart)} at the start and ${
        load(loadAtEnd)
      } at the end, on ${cpus.length} CPUs`,
      ...options.notes,
    ],
    failures,
  };
}

/** Builds the npm command that repeats this run, leaving out the output file and notes. */
export function commandLine(options: Pick<Options, "quick" | "only">): string {
  const args = [
    ...(options.quick ? ["--quick"] : []),
    ...(options.only ? ["--only", options.only.join(",")] : []),
  ];
  return args.length === 0
    ? "npm run bench"
    : `npm run bench -- ${args.join(" ")}`;
}

function intro(options: Options): string[] {
  return [
    "Generated by `npm run bench` (`bench/run.ts`); rerun it to refresh this page. Each measurement runs against a baseline measured in the same run on the same machine, so the ratio column stays meaningful when the machine is slower or busier than usual; the absolute figures do not. Every server listens on 127.0.0.1. `npm run bench -- --quick` runs fewer repetitions without the 100 MB payload in under a minute.",
    "Columns: n is the number of samples or repetitions; min, median, max and p99 are over those; baseline is the median of the same-run baseline in the same unit; ratio is median / baseline median. A goal marked **not met** has a note under its table on where the time goes. The pages under `docs/benchmarks/` hold the per-component benchmarks (local stack, runtime, webhook). This run does not repeat them, because they measure each component alone and would add minutes; it reuses the components' own entry points instead (`local/main.ts`, `sidecar/launch.ts`, `webhook/app.ts` and `webhook/main.ts`).",
    ...(options.quick
      ? [
        "This page comes from a quick run: few samples, so the spread is wide and p99 is close to max.",
      ]
      : []),
  ];
}

function command(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { cwd: REPO_ROOT, encoding: "utf8" })
      .trim();
  } catch {
    return `${file} (version unknown)`;
  }
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(
      readFileSync(
        join(REPO_ROOT, "node_modules", name, "package.json"),
        "utf8",
      ),
    ) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
