import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DemoReport } from "../../scripts/demo/report.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const deno = join(repoRoot, "node_modules", ".bin", "deno");
const BOOKS = ["chesterton-brown", "milton-paradise"];
const CLAIM_CHECK_THRESHOLD = 262_144;
const RUN_TIMEOUT_MS = 280_000;

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo as a user would, killing it (and so its children) if it outlives the limit. */
function runDemo(args: string[], limitMs = RUN_TIMEOUT_MS, env: Record<string, string> = {}): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(deno, ["run", "--allow-all", "scripts/demo.ts", ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    // SIGTERM lets the demo stop its own processes; SIGKILL follows if it hangs.
    const term = setTimeout(() => child.kill("SIGTERM"), limitMs);
    const kill = setTimeout(() => child.kill("SIGKILL"), limitMs + 15_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Counts chapters by running the split handler directly, without the mesh. */
function chapterCount(bookFile: string): number {
  const script = [
    "import json, sys, split",
    "text = open(sys.argv[1], encoding='utf-8').read()",
    "print(sum(1 for _ in split.process({'book': 'count', 'text': text})))",
  ].join("\n");
  const run = spawnSync("python3", ["-c", script, bookFile], {
    cwd: join(repoRoot, "examples", "book-insights"),
    encoding: "utf8",
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  if (run.status !== 0) throw new Error(`split failed on ${bookFile}: ${run.stderr}`);
  return Number(run.stdout.trim());
}

describe("npm run demo --json on two books", () => {
  let booksDir: string;
  let run: DemoRun;
  let report: DemoReport;
  const expectedChapters = new Map<string, number>();

  beforeAll(async () => {
    booksDir = mkdtempSync(join(tmpdir(), "asya-demo-books-"));
    for (const book of BOOKS) {
      const source = join(repoRoot, "examples", "data", `${book}.txt`);
      copyFileSync(source, join(booksDir, `${book}.txt`));
      expectedChapters.set(book, chapterCount(source));
    }
    run = await runDemo(["--json", "--books", booksDir, "--timeout", "240"]);
    try {
      report = JSON.parse(run.stdout);
    } catch {
      report = undefined as unknown as DemoReport;
    }
  }, RUN_TIMEOUT_MS + 30_000);

  afterAll(() => {
    rmSync(booksDir, { recursive: true, force: true });
  });

  it("exits 0 with one JSON object on stdout", () => {
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(report).toBeTypeOf("object");
    expect(Array.isArray(report.books)).toBe(true);
  });

  it("reports every chapter of each book", () => {
    expect(report.books.map((book) => book.book)).toEqual(BOOKS);
    for (const book of report.books) {
      const expected = expectedChapters.get(book.book);
      expect(expected).toBeGreaterThan(1);
      expect(book.chapters).toBe(expected);
      expect(book.results).toBe(expected);
      expect(book.chapter_results).toHaveLength(expected!);
      expect(book.missing_ids).toEqual([]);
      expect(book.keywords.length).toBeGreaterThan(0);
    }
  });

  it("counts sink and sump in the totals", () => {
    const chapters = [...expectedChapters.values()].reduce((sum, count) => sum + count, 0);
    expect(report.totals.sink).toBe(chapters);
    expect(report.totals.sump).toBe(1);
    expect(report.totals.lost).toBe(0);
    expect(report.totals.chapters).toBe(chapters);
  });

  it("sends whole books as claim checks", () => {
    for (const book of report.books) {
      expect(book.claim_check?.uri).toMatch(/^s3:\/\/asya-demo\/claims\/demo\/[0-9a-f]{64}$/);
      expect(book.claim_check?.bytes).toBeGreaterThan(CLAIM_CHECK_THRESHOLD);
    }
    const split = report.actors.find((actor) => actor.actor === "split");
    const claimBytes = report.books.reduce((sum, book) => sum + (book.claim_check?.bytes ?? 0), 0);
    expect(split?.claim_check_bytes_downloaded).toBeGreaterThanOrEqual(claimBytes);
  });

  it("puts the broken input in x-sump with its reason", () => {
    expect(report.failures).toHaveLength(1);
    const [failure] = report.failures;
    expect(failure.input).toBe("not-a-book.gz");
    expect(failure.expected).toBe(true);
    expect(failure.reason).toBe("ProcessingError");
    expect(failure.actor).toBe("split");
    expect(failure.message).toMatch(/is not UTF-8 text/);
    expect(failure.stored_at).toMatch(/^s3:\/\/asya-demo\/errors\/demo\/.+\.json$/);
  });

  it("writes progress to stderr and removes its work folder", () => {
    expect(run.stderr).toMatch(/stored \d+\/\d+/);
    const workDir = /logs in (\S+)\/logs/.exec(run.stderr)?.[1];
    expect(workDir).toBeDefined();
    expect(existsSync(workDir!)).toBe(false);
  });
});

describe("npm run demo entry point", () => {
  it("prints help through npm", () => {
    const run = spawnSync("npm", ["run", "--silent", "demo", "--", "--help"], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.startsWith("Usage: npm run demo")).toBe(true);
  });
});

describe("npm run demo failures", () => {
  it("rejects an unknown option", async () => {
    const result = await runDemo(["--fast"], 60_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown option "--fast"');
  });

  it("fails on a folder without books", async () => {
    const empty = mkdtempSync(join(tmpdir(), "asya-demo-empty-"));
    try {
      const result = await runDemo(["--books", empty], 60_000);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`No books found: expected .txt files in ${empty}`);
      expect(result.stdout).toBe("");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("names a runtime that fails to start", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "asya-demo-python-"));
    const fakePython = join(scratch, "python");
    writeFileSync(fakePython, "#!/bin/sh\necho 'fake interpreter: cannot start' >&2\nexit 3\n", { mode: 0o755 });
    try {
      const result = await runDemo(["--books", join(repoRoot, "examples", "data")], 90_000, {
        ASYA_DEMO_PYTHON: fakePython,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/-runtime exited with code 3 before writing its ready file/);
      expect(result.stderr).toContain("fake interpreter: cannot start");
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("names envelopes still missing at the timeout", async () => {
    // Five books take several seconds even on a fast machine, so 1 s always ends too early.
    const result = await runDemo(["--books", join(repoRoot, "examples", "data"), "--timeout", "1"], 200_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Envelopes not in x-sink or x-sump after 1 s");
    expect(result.stderr).toMatch(/austen-emma: .*(missing|unknown)/);
    expect(result.stderr).toContain("Messages still in actor queues:");
  }, 230_000);

  it("stops every process on Ctrl-C", async () => {
    const child = spawn(
      deno,
      ["run", "--allow-all", "scripts/demo.ts", "--books", join(repoRoot, "examples", "data")],
      {
        cwd: repoRoot,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const kill = setTimeout(() => child.kill("SIGKILL"), 150_000);
    try {
      // Interrupt once the envelopes are in flight, when every process is running.
      for (let waited = 0; !stderr.includes("Sent ") && waited < 120_000; waited += 200) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(stderr).toContain("Sent ");
      const children = childPids(child.pid!);
      expect(children.length).toBeGreaterThanOrEqual(10);

      child.kill("SIGINT");
      expect(await exited).toBe(130);
      for (const pid of children) expect(isRunning(pid), `process ${pid} still runs`).toBe(false);
      const workDir = /logs in (\S+)\/logs/.exec(stderr)?.[1];
      expect(existsSync(workDir!)).toBe(false);
    } finally {
      clearTimeout(kill);
      child.kill("SIGKILL");
    }
  }, 180_000);
});

function childPids(parent: number): number[] {
  const run = spawnSync("pgrep", ["-P", String(parent)], { encoding: "utf8" });
  return run.stdout.split("\n").filter((line) => line.trim() !== "").map(Number);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
