import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SUITE_TIMEOUT_MS = 300_000;

interface RunResult {
  code: number | null;
  output: string;
}

/** Runs the runtime's stdlib unittest suite and collects stdout and stderr together. */
function runUnittest(): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "python3",
      ["-m", "unittest", "discover", "-s", "pyworker/tests", "-t", "pyworker/tests"],
      { cwd: ROOT, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } },
    );
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), SUITE_TIMEOUT_MS - 10_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output: Buffer.concat(chunks).toString("utf8") });
    });
  });
}

describe("pyworker unittest suite", () => {
  it("passes with at least 40 cases", async () => {
    const { code, output } = await runUnittest();
    const ran = /^Ran (\d+) tests? in/m.exec(output);

    // The whole output goes into each message so a failure shows the traceback.
    expect(code, output).toBe(0);
    expect(ran, output).not.toBeNull();
    expect(Number(ran?.[1]), output).toBeGreaterThanOrEqual(40);
    expect(output, output).toMatch(/^OK\b/m);
  }, SUITE_TIMEOUT_MS);
});
