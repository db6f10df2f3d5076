// The `deno task local` entry point as a process: the endpoint line, a
// clean stop on SIGTERM, and one-line errors for bad input.

import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { credentials, makeTempDir, removeDir } from "./helpers.ts";

const DENO = join(process.cwd(), "node_modules", ".bin", "deno");
const PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
  "--allow-run",
];
const RUN_LIMIT_MS = 45_000;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs local/main.ts to completion, killing it after RUN_LIMIT_MS. */
function runCli(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      DENO,
      ["run", ...PERMISSIONS, "local/main.ts", ...args],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_LIMIT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let dataDir: string;

beforeAll(async () => {
  dataDir = await makeTempDir();
});

afterAll(async () => {
  await removeDir(dataDir);
});

describe("local CLI", () => {
  test.each(["SIGTERM", "SIGINT"] as const)(
    "serves requests and stops on %s",
    async (signal) => {
      const child = spawn(DENO, [
        "run",
        ...PERMISSIONS,
        "local/main.ts",
        "--sqs-port",
        "0",
        "--s3-port",
        "0",
        "--data-dir",
        join(dataDir, signal),
      ], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const killTimer = setTimeout(() => child.kill("SIGKILL"), RUN_LIMIT_MS);
      try {
        const firstLine = await new Promise<string>((resolve, reject) => {
          let buffer = "";
          child.stdout.on("data", (chunk) => {
            buffer += chunk;
            const newline = buffer.indexOf("\n");
            if (newline >= 0) resolve(buffer.slice(0, newline));
          });
          child.on("close", (code) =>
            reject(
              new Error(`CLI exited with ${code} before printing endpoints`),
            ));
        });
        const endpoints = JSON.parse(firstLine);
        expect(endpoints.sqsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(endpoints.s3Endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

        const sqs = new SQSClient({
          region: "us-east-1",
          endpoint: endpoints.sqsEndpoint,
          credentials,
        });
        const { QueueUrl } = await sqs.send(
          new CreateQueueCommand({ QueueName: "from-cli" }),
        );
        expect(QueueUrl).toBe(`${endpoints.sqsEndpoint}/000000000000/from-cli`);
        sqs.destroy();

        const exit = new Promise<number | null>((resolve) =>
          child.on("close", resolve)
        );
        child.kill(signal);
        expect(await exit).toBe(0);
      } finally {
        clearTimeout(killTimer);
        if (child.exitCode === null) {
          child.kill("SIGKILL");
        }
      }
    },
  );

  test("rejects an unknown flag with one line", async () => {
    const result = await runCli(["--sqs-prot", "4566"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      "Unknown flag --sqs-prot: expected --sqs-port, --s3-port, --data-dir or --help",
    ]);
  });

  test("rejects a port that is not a number", async () => {
    const result = await runCli(["--s3-port", "http"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'Invalid value for --s3-port: expected a port number from 0 to 65535, found "http"',
    );
  });

  test("names a busy port", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(0, "127.0.0.1", resolve)
    );
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli([
        "--sqs-port",
        String(port),
        "--s3-port",
        "0",
        "--data-dir",
        join(dataDir, "busy"),
      ]);
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split("\n").filter((line) =>
        !line.startsWith("{")
      );
      expect(lines).toEqual([
        `SQS port ${port} on 127.0.0.1 is already in use`,
      ]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test("refuses a data directory that a running process holds", async () => {
    // The test process is alive, so its id in the lock file must stop the
    // CLI from taking the directory over.
    const held = join(dataDir, "held");
    await mkdir(held, { recursive: true });
    await writeFile(join(held, "local-stack.lock"), String(process.pid));
    const result = await runCli([
      "--sqs-port",
      "0",
      "--s3-port",
      "0",
      "--data-dir",
      held,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`is in use by process ${process.pid}`);
    expect(await readFile(join(held, "local-stack.lock"), "utf8")).toBe(
      String(process.pid),
    );
  });

  test("names an unwritable data directory", async () => {
    // A regular file where a directory is expected cannot be written into,
    // even by root.
    const file = join(dataDir, "not-a-directory");
    await writeFile(file, "");
    const result = await runCli([
      "--sqs-port",
      "0",
      "--s3-port",
      "0",
      "--data-dir",
      join(file, "data"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `Data directory ${join(file, "data")} is not writable (ENOTDIR)`,
    );
  });
});
