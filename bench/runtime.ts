/**
 * Benchmark of the Python runtime: envelopes per second through POST /invoke
 * with a no-op handler (returns the payload unchanged) for 1 KB and 1 MB
 * payloads, one request at a time over a kept-alive Unix socket connection.
 *
 * The runtime's own overhead per call is an estimate: its mean latency minus
 * that of a bare node:http server on a Unix socket, which reads the same body
 * and returns as many bytes. The client and the socket transfer cancel out.
 *
 * Run: npx deno run -A bench/runtime.ts   (about 30 s; each case stops after
 * BENCH_SECONDS seconds or MAX_CALLS calls, whichever comes first)
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const RUNTIME = fileURLToPath(new URL("../pyworker/asya_runtime.py", import.meta.url));
const BENCH_SECONDS = 5;
const MAX_CALLS = 50_000;
const WARMUP_CALLS = 30;
const READY_TIMEOUT_MS = 20_000;

interface Stats {
  calls: number;
  seconds: number;
  perSecond: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

function envelope(payloadBytes: number): string {
  // The payload is a JSON string of payloadBytes ASCII characters.
  const payload = JSON.stringify("x".repeat(payloadBytes - 2));
  return `{"id":"bench","route":{"prev":[],"curr":"bench","next":["next"]},"payload":${payload}}`;
}

function post(agent: http.Agent, socketPath: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath,
      agent,
      method: "POST",
      path: "/invoke",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    }, (res) => {
      let bytes = 0;
      res.on("data", (chunk: Buffer) => (bytes += chunk.length));
      res.on("end", () =>
        res.statusCode === 200 ? resolve(bytes) : reject(new Error(`status ${res.statusCode}`)));
      res.on("error", reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

async function measure(socketPath: string, body: string): Promise<Stats> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < WARMUP_CALLS; i++) await post(agent, socketPath, body);
    const latencies: number[] = [];
    const started = performance.now();
    const stopAt = started + BENCH_SECONDS * 1000;
    while (performance.now() < stopAt && latencies.length < MAX_CALLS) {
      const before = performance.now();
      await post(agent, socketPath, body);
      latencies.push(performance.now() - before);
    }
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const mean = latencies.reduce((sum, value) => sum + value, 0) / latencies.length;
    return {
      calls: latencies.length,
      seconds,
      perSecond: latencies.length / seconds,
      meanMs: mean,
      p50Ms: latencies[Math.floor(latencies.length * 0.5)],
      p99Ms: latencies[Math.floor(latencies.length * 0.99)],
    };
  } finally {
    agent.destroy();
  }
}

async function startRuntime(dir: string): Promise<ChildProcess> {
  writeFileSync(join(dir, "bench_noop.py"), "def handle(payload):\n    return payload\n");
  const child = spawn("python3", [RUNTIME], {
    cwd: dir,
    env: {
      ...process.env,
      ASYA_HANDLER: "bench_noop.handle",
      ASYA_SOCKET_DIR: dir,
      ASYA_LOG_LEVEL: "warning",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (existsSync(join(dir, "runtime-ready"))) return child;
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill("SIGKILL");
  throw new Error("runtime did not become ready");
}

function stopRuntime(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Starts a bare HTTP server that reads the body and returns as many bytes. */
function startBaseline(socketPath: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(Buffer.alloc(bytes, 0x78));
    });
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve(server)));
}

function row(name: string, stats: Stats): string {
  return `| ${name} | ${stats.calls} | ${stats.perSecond.toFixed(0)} | ${stats.meanMs.toFixed(3)} | ` +
    `${stats.p50Ms.toFixed(3)} | ${stats.p99Ms.toFixed(3)} |`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync("/tmp/asyab");
  const cases: Array<[string, number]> = [["1 KB", 1024], ["1 MB", 1024 * 1024]];
  const runtimeStats: Record<string, Stats> = {};
  const baselineStats: Record<string, Stats> = {};
  const runtime = await startRuntime(dir);
  try {
    const socketPath = join(dir, "asya-runtime.sock");
    for (const [name, bytes] of cases) runtimeStats[name] = await measure(socketPath, envelope(bytes));
  } finally {
    await stopRuntime(runtime);
  }

  const baselinePath = join(dir, "baseline.sock");
  const baseline = await startBaseline(baselinePath);
  try {
    for (const [name, bytes] of cases) baselineStats[name] = await measure(baselinePath, envelope(bytes));
  } finally {
    await new Promise((resolve) => baseline.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }

  const python = execFileSync("python3", ["--version"]).toString().trim();
  const runtimeName = typeof Deno !== "undefined" ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
  console.log(`date: ${new Date().toISOString()}`);
  console.log(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`);
  console.log(`versions: ${python}, client ${runtimeName}`);
  console.log("");
  console.log("| case | calls | envelopes/s | mean ms | p50 ms | p99 ms |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const [name] of cases) {
    console.log(row(`runtime, ${name} payload`, runtimeStats[name]));
    console.log(row(`bare node:http, ${name} body`, baselineStats[name]));
  }
  console.log("");
  for (const [name] of cases) {
    const overhead = runtimeStats[name].meanMs - baselineStats[name].meanMs;
    console.log(`runtime overhead per call, ${name}: ${overhead.toFixed(3)} ms (estimate: mean latency minus bare server)`);
  }
}

await main();
