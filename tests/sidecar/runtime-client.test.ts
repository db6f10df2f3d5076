import { createServer, type Server } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createRuntimeClient,
  READY_FILE,
  RuntimeTimeoutError,
  RuntimeUnavailableError,
  SOCKET_FILE,
  waitForRuntime,
} from "../../sidecar/runtime-client.ts";

describe("runtime client", () => {
  let dir: string;
  let server: Server | undefined;

  beforeEach(async () => {
    // Unix socket paths are limited to 107 bytes, so stay under /tmp.
    dir = await mkdtemp("/tmp/asya-rc-");
  });

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) =>
      server ? server.close(() => resolve()) : resolve()
    );
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function listen(
    handler: Parameters<typeof createServer>[1],
  ): Promise<void> {
    server = createServer(handler);
    return new Promise((resolve) =>
      server!.listen(join(dir, SOCKET_FILE), resolve)
    );
  }

  it("posts the envelope and returns the response", async () => {
    const received: string[] = [];
    await listen((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        received.push(`${request.method} ${request.url} ${body}`);
        response.writeHead(200, { "content-type": "application/json" });
        response.end('{"frames":[]}');
      });
    });

    const client = createRuntimeClient(dir);
    const answer = await client.invoke('{"id":"é"}', 5_000);
    expect(answer).toEqual({ status: 200, body: '{"frames":[]}' });
    expect(received).toEqual(['POST /invoke {"id":"é"}']);
  });

  it("times out a slow call", async () => {
    await listen(() => {
      // Never responds, like a handler stuck in a long computation.
    });
    const client = createRuntimeClient(dir);
    const call = client.invoke("{}", 100);
    await expect(call).rejects.toBeInstanceOf(RuntimeTimeoutError);
    await expect(call).rejects.toThrow("runtime call timed out after 100 ms");
  });

  it("reports a dropped connection as unavailable", async () => {
    await listen((request) => request.socket.destroy());
    const client = createRuntimeClient(dir);
    await expect(client.invoke("{}", 5_000)).rejects.toBeInstanceOf(
      RuntimeUnavailableError,
    );
  });

  it("reports a missing socket as unavailable", async () => {
    const client = createRuntimeClient(dir);
    const call = client.invoke("{}", 5_000);
    await expect(call).rejects.toBeInstanceOf(RuntimeUnavailableError);
    await expect(call).rejects.toThrow(/is unreachable: .*ENOENT/);
  });

  it("waits for the ready file and healthz", async () => {
    await listen((_request, response) => {
      response.writeHead(200);
      response.end('{"status":"ready"}');
    });
    const client = createRuntimeClient(dir);
    expect(await client.healthy(1_000)).toBe(true);
    expect(client.readyFileExists()).toBe(false);

    const waiting = waitForRuntime(
      client,
      new AbortController().signal,
      () => {},
      20,
    );
    await writeFile(join(dir, READY_FILE), "1");
    expect(await waiting).toBe(true);
  });

  it("stops waiting when aborted", async () => {
    const client = createRuntimeClient(dir);
    const abort = new AbortController();
    const waiting = waitForRuntime(client, abort.signal, () => {}, 20);
    abort.abort();
    expect(await waiting).toBe(false);
  });
});
