import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, SIDECAR_DENO_FLAGS } from "../../sidecar/launch.ts";

const DENO = join(REPO_ROOT, "node_modules", ".bin", "deno");

/** Runs the sidecar entry with `args` and `env`; kills it after 30 s. */
function runSidecar(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(DENO, [
      "run",
      ...SIDECAR_DENO_FLAGS,
      "sidecar/main.ts",
      ...args,
    ], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("sidecar command line", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp("/tmp/asya-cli-");
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("copies the runtime for the init container", async () => {
    const dest = join(dir, "opt", "asya_runtime.py");
    const source = join(REPO_ROOT, "pyworker", "asya_runtime.py");
    const result = await runSidecar(["copy-runtime", dest], {
      ASYA_RUNTIME_SOURCE: source,
    });
    expect(result.code).toBe(0);
    expect(await readFile(dest, "utf8")).toBe(await readFile(source, "utf8"));
    expect((await stat(dest)).mode & 0o777).toBe(0o644);
  });

  it("fails copy-runtime when the source is missing", async () => {
    const result = await runSidecar(["copy-runtime", join(dir, "x.py")], {
      ASYA_RUNTIME_SOURCE: join(dir, "missing.py"),
    });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr.trim()).event).toBe("runtime_copy_failed");
  });

  it("rejects an unknown command", async () => {
    const result = await runSidecar(["serve"], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'unknown command "serve": expected no arguments, or copy-runtime DEST',
    );
  });

  it("stops at startup with one line per bad setting", async () => {
    const result = await runSidecar([], {
      ASYA_ACTOR_NAME: "summarize",
      ASYA_NAMESPACE: "default",
      ASYA_CONCURRENCY: "many",
    });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n").map((line) =>
      JSON.parse(line)
    );
    expect(lines.map((line) => line.error)).toEqual([
      "missing ASYA_S3_BUCKET: expected the S3 bucket for claim checks and end-actor results",
      'invalid ASYA_CONCURRENCY: expected a whole number from 1 to 1000 (envelopes in flight), found "many"',
    ]);
    expect(
      lines.every((line) =>
        line.event === "config_invalid" && line.level === "error"
      ),
    ).toBe(true);
  });
});

describe("sidecar startup", () => {
  it("stops when the HTTP port is taken", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(0, "127.0.0.1", resolve)
    );
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runSidecar([], {
        ASYA_ROLE: "sink",
        ASYA_NAMESPACE: "default",
        ASYA_S3_BUCKET: "asya-data",
        ASYA_HTTP_HOST: "127.0.0.1",
        ASYA_HTTP_PORT: String(port),
      });
      expect(result.code).toBe(1);
      const line = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
      expect(line.event).toBe("http_listen_failed");
      expect(line.port).toBe(port);
    } finally {
      blocker.close();
    }
  });
});
