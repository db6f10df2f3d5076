/**
 * Runs webhook/main.ts as a real Deno process: plain HTTP mode, HTTPS with
 * a certificate from a temporary directory, kept-alive HTTPS connections,
 * the body size limit over HTTPS, and the certificate reload.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpsRequest } from "node:https";
import type { TLSSocket } from "node:tls";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { exited, spawnDeno, stopProcess } from "./deno-process.ts";
import { actorPod, reviewOf } from "./helpers.ts";

const children: ChildProcess[] = [];
const directories: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) await stopProcess(child);
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Running {
  child: ChildProcess;
  lines: any[];
  waitFor(event: string): Promise<any>;
}

function startWebhook(args: string[], env: Record<string, string>): Running {
  const child = spawnDeno(["run", "--allow-net", "--allow-read", "--allow-env", "--allow-sys", "webhook/main.ts", ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      ASYA_SIDECAR_IMAGE: "registry.example/asya-sidecar:0.1.0",
      ASYA_S3_BUCKET: "asya-claims",
      ASYA_RESYNC_INTERVAL: "0",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const lines: any[] = [];
  const waiters: Array<{ event: string; resolve: (line: any) => void }> = [];
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (text.trim() === "") continue;
      const line = JSON.parse(text);
      lines.push(line);
      for (const waiter of waiters.filter((candidate) => candidate.event === line.event)) waiter.resolve(line);
    }
  });
  return {
    child,
    lines,
    waitFor(event) {
      const found = lines.find((line) => line.event === event);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${event}; got ${JSON.stringify(lines)}`)), 30_000);
        waiters.push({ event, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      });
    },
  };
}

function makeCertificate(directory: string, commonName: string): void {
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
    "-subj", `/CN=${commonName}`,
    "-addext", "subjectAltName=IP:127.0.0.1",
    "-keyout", join(directory, "new.key"), "-out", join(directory, "new.crt"),
  ], { stdio: "ignore" });
  // Rename, as Kubernetes swaps secret files, so the server never reads half a file.
  renameSync(join(directory, "new.key"), join(directory, "tls.key"));
  renameSync(join(directory, "new.crt"), join(directory, "tls.crt"));
}

function httpsGet(port: number, path: string): Promise<{ status: number; fingerprint: string; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest({ host: "127.0.0.1", port, path, rejectUnauthorized: false, agent: false, timeout: 10_000 }, (response) => {
      const certificate = (response.socket as any).getPeerCertificate();
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, fingerprint: certificate.fingerprint256, body }));
    });
    request.on("error", reject);
    request.end();
  });
}

interface HttpsResponse {
  status: number;
  body: string;
  fingerprint: string;
  socket: TLSSocket;
}

/**
 * Sends one HTTPS request through `agent`. A body given as an array of
 * chunks goes out with chunked transfer encoding, without content-length.
 */
function httpsSend(
  agent: Agent,
  port: number,
  options: { method?: string; path: string; body?: string | string[] },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "content-type": "application/json" };
    if (typeof options.body === "string") headers["content-length"] = Buffer.byteLength(options.body);
    const request = httpsRequest({
      host: "127.0.0.1", port, path: options.path, method: options.method ?? "GET",
      agent, rejectUnauthorized: false, timeout: 10_000, headers,
    }, (response) => {
      const socket = response.socket as TLSSocket;
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, fingerprint, socket }));
    });
    request.on("error", reject);
    request.on("timeout", () => request.destroy(new Error(`HTTPS request to ${options.path} timed out`)));
    if (Array.isArray(options.body)) {
      for (const chunk of options.body) request.write(chunk);
      request.end();
    } else {
      request.end(options.body);
    }
  });
}

async function startHttpsWebhook(commonName: string): Promise<{ webhook: Running; port: number; certDir: string }> {
  const certDir = mkdtempSync(join(tmpdir(), "asya-webhook-tls-"));
  directories.push(certDir);
  makeCertificate(certDir, commonName);
  const port = await freePort();
  const webhook = startWebhook(["--listen", `127.0.0.1:${port}`], { ASYA_WEBHOOK_CERT_DIR: certDir, ASYA_CREATE_QUEUES: "false" });
  await webhook.waitFor("https_listening");
  return { webhook, port, certDir };
}

describe("webhook main", () => {
  it("serves plain HTTP in insecure mode and says so first", async () => {
    const port = await freePort();
    const webhook = startWebhook(["--insecure", "--listen", `127.0.0.1:${port}`], {});
    await webhook.waitFor("http_listening");
    expect(webhook.lines[0].event).toBe("insecure_mode");
    expect(webhook.lines[0].message).toContain("plain HTTP");

    const response = await fetch(`http://127.0.0.1:${port}/mutate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(reviewOf(actorPod())),
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.response.allowed).toBe(true);
    expect(body.response.patchType).toBe("JSONPatch");
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it("accepts the -- from deno task", async () => {
    const port = await freePort();
    const webhook = startWebhook(["--", "--insecure", "--listen", `127.0.0.1:${port}`], {});
    const listening = await webhook.waitFor("http_listening");
    expect(listening.port).toBe(port);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it("stops listening on SIGTERM", async () => {
    const port = await freePort();
    const webhook = startWebhook(["--insecure", "--listen", `127.0.0.1:${port}`], {});
    await webhook.waitFor("http_listening");
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    expect(await stopProcess(webhook.child)).toBe(0);
    expect(webhook.lines.map((line) => line.event)).toContain("webhook_stopping");
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it("exits 2 on bad configuration", async () => {
    const webhook = startWebhook(["--insecure", "--listen", "127.0.0.1:1"], { ASYA_SIDECAR_IMAGE: "", ASYA_CREATE_QUEUES: "yes" });
    expect(await exited(webhook.child)).toBe(2);
    const errors = webhook.lines.filter((line) => line.event === "invalid_config").map((line) => line.error);
    expect(errors).toContain('Invalid environment variable ASYA_CREATE_QUEUES: expected true or false, found "yes"');
    expect(errors.some((error: string) => error.startsWith("Missing environment variable ASYA_SIDECAR_IMAGE"))).toBe(true);
  });

  it("exits 2 on an unknown flag", async () => {
    const webhook = startWebhook(["--port", "8443"], {});
    expect(await exited(webhook.child)).toBe(2);
    expect(webhook.lines[0].error).toBe('Unknown argument "--port": expected --insecure or --listen HOST:PORT');
  });

  it("serves HTTPS and reloads a rotated certificate", async () => {
    const certDir = mkdtempSync(join(tmpdir(), "asya-webhook-tls-"));
    directories.push(certDir);
    makeCertificate(certDir, "first");
    const port = await freePort();
    const webhook = startWebhook(["--listen", `127.0.0.1:${port}`], { ASYA_WEBHOOK_CERT_DIR: certDir });
    await webhook.waitFor("https_listening");

    const first = await httpsGet(port, "/readyz");
    expect(first.status).toBe(200);

    makeCertificate(certDir, "second");
    await webhook.waitFor("certificate_reloaded");
    const second = await httpsGet(port, "/readyz");
    expect(second.status).toBe(200);
    expect(second.fingerprint).not.toBe(first.fingerprint);
  });

  it("keeps the old pair when the new key does not match", async () => {
    const certDir = mkdtempSync(join(tmpdir(), "asya-webhook-tls-"));
    const otherDir = mkdtempSync(join(tmpdir(), "asya-webhook-tls-"));
    directories.push(certDir, otherDir);
    makeCertificate(certDir, "good");
    makeCertificate(otherDir, "other");
    const port = await freePort();
    const webhook = startWebhook(["--listen", `127.0.0.1:${port}`], { ASYA_WEBHOOK_CERT_DIR: certDir });
    await webhook.waitFor("https_listening");
    const before = await httpsGet(port, "/healthz");

    makeCertificate(otherDir, "mismatch");
    renameSync(join(otherDir, "tls.crt"), join(certDir, "tls.crt"));
    const failure = await webhook.waitFor("certificate_reload_failed");
    expect(failure.error).toContain("does not match the certificate");
    const after = await httpsGet(port, "/healthz");
    expect(after.status).toBe(200);
    expect(after.fingerprint).toBe(before.fingerprint);
  });

  it("keeps serving after a bad certificate", async () => {
    const certDir = mkdtempSync(join(tmpdir(), "asya-webhook-tls-"));
    directories.push(certDir);
    makeCertificate(certDir, "good");
    const port = await freePort();
    const webhook = startWebhook(["--listen", `127.0.0.1:${port}`], { ASYA_WEBHOOK_CERT_DIR: certDir });
    await webhook.waitFor("https_listening");
    const before = await httpsGet(port, "/healthz");

    writeFileSync(join(certDir, "tls.crt"), "not a certificate");
    const failure = await webhook.waitFor("certificate_reload_failed");
    expect(failure.error).toContain("expected PEM tls.crt and tls.key");
    const after = await httpsGet(port, "/healthz");
    expect(after.status).toBe(200);
    expect(after.fingerprint).toBe(before.fingerprint);
  });

  it("serves 20 admissions on one connection", async () => {
    const { port } = await startHttpsWebhook("keep-alive");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<TLSSocket>();
      for (let index = 0; index < 20; index++) {
        const review = reviewOf(actorPod(), { uid: `uid-${index}` });
        const response = await httpsSend(agent, port, { method: "POST", path: "/mutate", body: JSON.stringify(review) });
        expect(response.status).toBe(200);
        const body = JSON.parse(response.body);
        expect(body.response.uid).toBe(`uid-${index}`);
        expect(body.response.allowed).toBe(true);
        expect(body.response.patchType).toBe("JSONPatch");
        // A patch of a few KB is the case that met Nagle's algorithm under Deno.serve.
        expect(response.body.length).toBeGreaterThan(2_000);
        sockets.add(response.socket);
      }
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("rejects oversized HTTPS bodies with 413", async () => {
    const { port } = await startHttpsWebhook("limit");
    const agent = new Agent({ keepAlive: false });
    try {
      const oversized = "x".repeat(5 * 1024 * 1024);
      const declared = await httpsSend(agent, port, { method: "POST", path: "/mutate", body: oversized });
      expect(declared.status).toBe(413);
      expect(JSON.parse(declared.body).error).toContain("Request body too large");

      const chunks = Array.from({ length: 5 }, () => "x".repeat(1024 * 1024));
      const chunked = await httpsSend(agent, port, { method: "POST", path: "/mutate", body: chunks });
      expect(chunked.status).toBe(413);
      expect(JSON.parse(chunked.body).error).toContain("Request body too large");

      const invalid = await httpsSend(agent, port, { method: "POST", path: "/mutate", body: "not json" });
      expect(invalid.status).toBe(400);
    } finally {
      agent.destroy();
    }
  });

  it("keeps a connection open across a reload", async () => {
    const { webhook, port, certDir } = await startHttpsWebhook("before");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await httpsSend(agent, port, { path: "/readyz" });
      expect(before.status).toBe(200);

      makeCertificate(certDir, "after");
      await webhook.waitFor("certificate_reloaded");
      const sameConnection = await httpsSend(agent, port, { path: "/readyz" });
      expect(sameConnection.status).toBe(200);
      expect(sameConnection.socket).toBe(before.socket);
      expect(sameConnection.fingerprint).toBe(before.fingerprint);

      const fresh = await httpsGet(port, "/readyz");
      expect(fresh.fingerprint).not.toBe(before.fingerprint);
    } finally {
      agent.destroy();
    }
  });

  it("exits 0 on SIGTERM with an idle HTTPS connection", async () => {
    const { webhook, port } = await startHttpsWebhook("stop");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const response = await httpsSend(agent, port, { path: "/healthz" });
      expect(response.status).toBe(200);
      // The idle kept-alive connection must not hold the shutdown until SIGKILL,
      // which comes after 5 s, half the server's drain time.
      expect(await stopProcess(webhook.child, 5_000)).toBe(0);
      await expect(httpsGet(port, "/healthz")).rejects.toThrow();
    } finally {
      agent.destroy();
    }
  });

  it("exits 1 when the key does not match at startup", async () => {
    const certDir = mkdtempSync(join(tmpdir(), "asya-webhook-tls-"));
    const otherDir = mkdtempSync(join(tmpdir(), "asya-webhook-tls-"));
    directories.push(certDir, otherDir);
    makeCertificate(certDir, "good");
    makeCertificate(otherDir, "other");
    renameSync(join(otherDir, "tls.key"), join(certDir, "tls.key"));
    const port = await freePort();
    const webhook = startWebhook(["--listen", `127.0.0.1:${port}`], { ASYA_WEBHOOK_CERT_DIR: certDir });
    expect(await exited(webhook.child)).toBe(1);
    const failure = webhook.lines.find((line) => line.event === "tls_start_failed");
    expect(failure?.error).toContain("does not match the certificate");
  });
});
