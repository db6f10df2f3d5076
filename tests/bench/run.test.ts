import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandLine, parseArgs } from "../../bench/run.ts";
import { TABLE_HEADER } from "../../bench/lib/table.ts";

const REPO_ROOT = join(import.meta.dirname, "..", "..");
const DENO = join(REPO_ROOT, "node_modules", ".bin", "deno");

function runBench(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    // execFile kills the bench at the timeout; the bench stops its own children on SIGTERM.
    execFile(DENO, ["run", "--allow-all", "bench/run.ts", ...args], {
      cwd: REPO_ROOT,
      timeout: timeoutMs,
      killSignal: "SIGTERM",
    }, (error, _stdout, stderr) => {
      resolve({
        code: error === null ? 0 : (error as { code?: number }).code ?? null,
        stderr,
      });
    });
  });
}

describe("parseArgs", () => {
  it("defaults to the full run writing docs/benchmarks.md", () => {
    const options = parseArgs([]);
    expect(typeof options).toBe("object");
    if (typeof options === "string") return;
    expect(options.quick).toBe(false);
    expect(options.only).toBeUndefined();
    expect(options.out).toBe(join(REPO_ROOT, "docs", "benchmarks.md"));
  });

  it("reads quick, suite ids, output file and notes", () => {
    const options = parseArgs([
      "--quick",
      "--only",
      "hop,webhook",
      "--out",
      "/tmp/x.md",
      "--note",
      "a",
      "--note",
      "b",
    ]);
    expect(options).toEqual({
      quick: true,
      only: ["hop", "webhook"],
      out: "/tmp/x.md",
      notes: ["a", "b"],
    });
  });

  it("rejects an unknown suite id naming the valid ones", () => {
    expect(parseArgs(["--only", "hop,nope"])).toMatch(
      /^Invalid --only: expected suite ids from hop, throughput, claim-check, webhook, cold-start, found "nope"/,
    );
  });

  it("rejects an unknown argument", () => {
    expect(parseArgs(["--fast"])).toMatch(/^Unknown argument "--fast"/);
  });

  it("rejects a flag without its value", () => {
    expect(parseArgs(["--out"])).toMatch(/^Missing value after --out/);
  });
});

describe("commandLine", () => {
  it("repeats the options that change the measurements", () => {
    expect(commandLine({ quick: false, only: undefined })).toBe(
      "npm run bench",
    );
    expect(commandLine({ quick: true, only: ["hop", "webhook"] })).toBe(
      "npm run bench -- --quick --only hop,webhook",
    );
  });
});

describe("bench command line", () => {
  it("exits 2 on a bad argument without writing a page", async () => {
    const dir = await mkdtemp(join(tmpdir(), "asya-bench-test-"));
    try {
      const result = await runBench([
        "--only",
        "nope",
        "--out",
        join(dir, "page.md"),
      ], 60_000);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("Invalid --only");
      expect(existsSync(join(dir, "page.md"))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Runs the cheapest suite for real and checks the page's shape only: the
// figures themselves depend on the machine and are never asserted.
describe("quick webhook run", () => {
  let dir: string;
  let page: string;
  let result: { code: number | null; stderr: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "asya-bench-test-"));
    result = await runBench([
      "--quick",
      "--only",
      "webhook",
      "--out",
      join(dir, "page.md"),
      "--note",
      "test run",
    ], 150_000);
    page = await readFile(join(dir, "page.md"), "utf8").catch(() => "");
  }, 160_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exits 0", () => {
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
  });

  it("writes the run details", () => {
    expect(page).toMatch(/^# Benchmarks\n/);
    expect(page).toMatch(/- Date: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(page).toContain(
      "- Command: `npm run bench -- --quick --only webhook`",
    );
    expect(page).toMatch(/- Version: Deno \d+\.\d+\.\d+/);
    expect(page).toContain("- Conditions: test run");
    expect(page).not.toContain("## Failed measurements");
  });

  it("writes one well-formed webhook table", () => {
    const lines = page.split("\n");
    const header = `| ${TABLE_HEADER.join(" | ")} |`;
    expect(lines.filter((line) => line === header)).toHaveLength(1);
    expect(page).toContain("## 4. Webhook");

    const start = lines.indexOf(header);
    const rows: string[] = [];
    for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) {
      rows.push(lines[i]);
    }
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const row of rows) {
      const cells = row.slice(2, -2).split(/(?<!\\) \| /);
      expect(cells, row).toHaveLength(TABLE_HEADER.length);
      expect(cells[4], row).toMatch(/^-?\d+(\.\d+)?$/);
    }
    const latency = rows.find((row) =>
      row.startsWith("| in-process: latency |")
    );
    expect(latency).toMatch(/\| p99 < 5 ms: (met|\*\*not met\*\*) \|$/);
  });
});
