import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const handlersDir = fileURLToPath(new URL("../../examples/book-insights/", import.meta.url));

/** Runs one Python unittest module of the example handlers and returns its outcome. */
function runUnittest(module: string) {
  const run = spawnSync("python3", ["-m", "unittest", "-v", module], {
    cwd: handlersDir,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  const output = `${run.stdout}${run.stderr}`;
  const ran = Number(/^Ran (\d+) tests?/m.exec(output)?.[1] ?? "0");
  return { status: run.status, output, ran };
}

describe("book-insights handlers", () => {
  for (const module of ["test_split", "test_router", "test_summarize", "test_analyze"]) {
    it(`passes tests.${module}`, () => {
      const result = runUnittest(`tests.${module}`);
      expect(result.status, result.output).toBe(0);
      expect(result.output).toMatch(/^OK$/m);
      expect(result.ran).toBeGreaterThan(0);
    });
  }
});
