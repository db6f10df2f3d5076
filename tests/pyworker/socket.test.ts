import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRuntimeFrames } from "../../shared/envelope.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RUNTIME = join(ROOT, "pyworker/asya_runtime.py");
const FIXTURES = join(ROOT, "pyworker/tests");
const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 20_000;

interface Runtime {
  dir: string;
  socketPath: string;
  child: ChildProcess;
  stderr: string[];
  agent: http.Agent;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts the runtime in a short temporary directory and waits for its ready file. */
async function startRuntime(handler: string, mode = "payload"): Promise<Runtime> {
  // Unix socket paths are limited to 107 bytes, so the directory stays short.
  const dir = mkdtempSync("/tmp/asyav");
  const child = spawn("python3", [RUNTIME], {
    cwd: dir,
    env: {
      ...process.env,
      ASYA_HANDLER: handler,
      ASYA_HANDLER_MODE: mode,
      ASYA_SOCKET_DIR: dir,
      PYTHONPATH: FIXTURES,
      PYTHONDONTWRITEBYTECODE: "1",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  const runtime = {
    dir,
    socketPath: join(dir, "asya-runtime.sock"),
    child,
    stderr,
    agent: new http.Agent({ keepAlive: true, maxSockets: 4 }),
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (existsSync(join(dir, "runtime-ready"))) return runtime;
    if (child.exitCode !== null) break;
    await sleep(25);
  }
  await stopRuntime(runtime);
  throw new Error(`runtime ${handler} not ready:\n${stderr.join("")}`);
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve(null);
    }, EXIT_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function stopRuntime(runtime: Runtime): Promise<number | null> {
  runtime.agent.destroy();
  if (runtime.child.exitCode === null) runtime.child.kill("SIGTERM");
  const code = await waitForExit(runtime.child);
  rmSync(runtime.dir, { recursive: true, force: true });
  return code;
}

/** Sends one request over the runtime's Unix socket, as the sidecar does. */
function request(
  runtime: Runtime,
  method: string,
  path: string,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = {};
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = Buffer.byteLength(body);
    }
    const req = http.request(
      { socketPath: runtime.socketPath, method, path, headers, agent: runtime.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }));
        res.on("error", reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

function envelopeText(payloadText: string, headers?: string): string {
  const route = '{"prev":["a"],"curr":"b","next":["c","d"]}';
  const headerMember = headers === undefined ? "" : `,"headers":${headers}`;
  return `{"id":"env-1","route":${route}${headerMember},"payload":${payloadText}}`;
}

describe("runtime over a Unix socket in payload mode", () => {
  let fanOut: Runtime;
  let echo: Runtime;

  beforeAll(async () => {
    [fanOut, echo] = await Promise.all([
      startRuntime("fixture_handlers.fan_out"),
      startRuntime("fixture_handlers.echo"),
    ]);
  });

  afterAll(async () => {
    await Promise.all([fanOut, echo].filter(Boolean).map(stopRuntime));
  });

  it("healthz reports ready", async () => {
    const reply = await request(echo, "GET", "/healthz");
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ status: "ready" });
  });

  it("fan-out frames parse with the sidecar's frame parser", async () => {
    const reply = await request(
      fanOut,
      "POST",
      "/invoke",
      envelopeText('{"items":[1,2]}', '{"traceparent":"t"}'),
    );
    expect(reply.status).toBe(200);
    const frames = parseRuntimeFrames(reply.body);
    if (!frames.ok) throw new Error(frames.error.message);
    expect(frames.value).toHaveLength(2);
    expect(frames.value[0].route).toEqual({ prev: ["a", "b"], curr: "c", next: ["d"] });
    expect(frames.value[0].headers).toEqual({ traceparent: "t" });
    expect(frames.value.map((frame) => frame.payloadText)).toEqual([
      '{"item":1}',
      '{"item":2}',
    ]);
  });

  it("keeps integers beyond 2^53 exact", async () => {
    const reply = await request(
      echo,
      "POST",
      "/invoke",
      envelopeText('{"n":9007199254740993123}'),
    );
    const frames = parseRuntimeFrames(reply.body);
    if (!frames.ok) throw new Error(frames.error.message);
    expect(frames.value[0].payloadText).toBe('{"n":9007199254740993123}');
  });

  it("answers null payload with 204", async () => {
    const reply = await request(echo, "POST", "/invoke", envelopeText("null"));
    expect(reply.status).toBe(204);
    expect(reply.body).toBe("");
  });

  it("rejects malformed JSON with msg_parsing_error", async () => {
    const reply = await request(echo, "POST", "/invoke", '{"id": ');
    expect(reply.status).toBe(400);
    const document = JSON.parse(reply.body);
    expect(document.error).toBe("msg_parsing_error");
    expect(document.details.message).toContain("invalid JSON");
  });

  it("serves several requests on kept-alive connections", async () => {
    const replies = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) =>
        request(echo, "POST", "/invoke", envelopeText(`{"n":${n}}`))
      ),
    );
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const payloads = replies.map((reply) => JSON.parse(reply.body).frames[0].payload.n);
    expect(payloads).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe("runtime over a Unix socket in envelope mode", () => {
  let runtime: Runtime;

  beforeAll(async () => {
    runtime = await startRuntime("fixture_handlers.envelope_action", "envelope");
  });

  afterAll(async () => {
    if (runtime) await stopRuntime(runtime);
  });

  it("uses the route.next the handler set", async () => {
    const reply = await request(runtime, "POST", "/invoke", envelopeText('{"action":"set_next"}'));
    const frames = parseRuntimeFrames(reply.body);
    if (!frames.ok) throw new Error(frames.error.message);
    expect(frames.value[0].route).toEqual({ prev: ["a", "b"], curr: "z1", next: ["z2"] });
  });

  it("returns processing_error when the handler rewrites curr", async () => {
    const reply = await request(
      runtime,
      "POST",
      "/invoke",
      envelopeText('{"action":"change_curr"}'),
    );
    expect(reply.status).toBe(500);
    const document = JSON.parse(reply.body);
    expect(document.error).toBe("processing_error");
    expect(document.details.type).toBe("asya_runtime.RouteRuleError");
    expect(document.details.mro).toContain("ValueError");
    expect(document.details.traceback).toContain("Traceback");
  });
});

describe("runtime shutdown", () => {
  it("exits 0 on SIGTERM and removes the socket", async () => {
    const runtime = await startRuntime("fixture_handlers.echo");
    try {
      expect((await request(runtime, "GET", "/healthz")).status).toBe(200);
      runtime.agent.destroy();
      runtime.child.kill("SIGTERM");
      expect(await waitForExit(runtime.child)).toBe(0);
      expect(existsSync(runtime.socketPath)).toBe(false);
      const lines = runtime.stderr.join("").trim().split("\n").map((line) => JSON.parse(line));
      expect(lines.at(-1)?.msg).toBe("runtime stopped");
    } finally {
      await stopRuntime(runtime);
    }
  });

  it("exits non-zero naming the handler that cannot load", async () => {
    const dir = mkdtempSync("/tmp/asyav");
    try {
      const child = spawn("python3", [RUNTIME], {
        cwd: dir,
        env: { ...process.env, ASYA_HANDLER: "fixture_handlers.missing", ASYA_SOCKET_DIR: dir, PYTHONPATH: FIXTURES },
        stdio: ["ignore", "ignore", "pipe"],
      });
      const stderr: string[] = [];
      child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
      expect(await waitForExit(child)).toBe(1);
      const line = JSON.parse(stderr.join("").trim());
      expect(line.handler).toBe("fixture_handlers.missing");
      expect(line.reason).toContain("no attribute 'missing'");
      expect(existsSync(join(dir, "runtime-ready"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
