// Many /invoke calls opened at the same instant, as a sidecar with a high
// ASYA_CONCURRENCY makes them, against a real Python runtime. Each call
// opens its own connection, so the runtime's listen backlog and the
// client's EAGAIN retry decide whether any call fails.
import { mkdtemp, rm } from "node:fs/promises";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { ChildProcess } from "node:child_process";
import { spawnRuntime, stopProcess } from "../../sidecar/launch.ts";
import {
  createRuntimeClient,
  type RuntimeClient,
  waitForRuntime,
} from "../../sidecar/runtime-client.ts";
import { FIXTURES } from "./harness.ts";

const CALLS = 64;

let socketDir: string;
let runtime: ChildProcess;
let client: RuntimeClient;

beforeAll(async () => {
  // Unix socket paths are limited to 107 bytes, so stay under /tmp.
  socketDir = await mkdtemp("/tmp/asya-burst-");
  runtime = spawnRuntime({
    actor: "burst",
    namespace: "test",
    handler: "sidecar_handlers.identity",
    socketDir,
    pythonPath: [FIXTURES],
  });
  client = createRuntimeClient(socketDir);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 20_000);
  try {
    expect(await waitForRuntime(client, controller.signal, () => {})).toBe(
      true,
    );
  } finally {
    clearTimeout(timer);
  }
});

afterAll(async () => {
  await stopProcess(runtime);
  await rm(socketDir, { recursive: true, force: true });
});

test("runtime answers a burst of concurrent calls", async () => {
  const envelope = (index: number) =>
    JSON.stringify({
      id: `e${index}`,
      route: { prev: [], curr: "burst", next: [] },
      payload: { index },
    });
  const responses = await Promise.all(
    Array.from({ length: CALLS }, (_, index) =>
      client.invoke(envelope(index), 30_000)
    ),
  );
  expect(responses.map((response) => response.status)).toEqual(
    Array(CALLS).fill(200),
  );
  const payloads = responses.map((response) =>
    JSON.parse(response.body).frames[0].payload.index
  );
  expect(payloads).toEqual(Array.from({ length: CALLS }, (_, index) => index));
});
