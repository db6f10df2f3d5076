import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createClaimChecks } from "../../sidecar/claim-check.ts";
import { createLogger } from "../../sidecar/log.ts";
import { createMetrics } from "../../sidecar/metrics.ts";
import {
  ObjectNotFoundError,
  type ObjectStore,
} from "../../sidecar/object-store.ts";
import { type ProcessDeps, processMessage } from "../../sidecar/process.ts";
import type { QueueClient, QueueMessage } from "../../sidecar/queue.ts";
import {
  type RuntimeClient,
  type RuntimeResponse,
  RuntimeTimeoutError,
  RuntimeUnavailableError,
} from "../../sidecar/runtime-client.ts";
import { createEnvelopeSigner } from "../../sidecar/signing.ts";
import { parseEnvelope } from "../../shared/envelope.ts";
import { signEnvelope, verifyEnvelope } from "../../shared/signing.ts";

const NS = "ns";
const SOURCE = "url:asya-ns-b";

class FakeQueues implements QueueClient {
  sent: Array<{ queueUrl: string; body: string }> = [];
  deleted: string[] = [];
  failSends = false;
  constructor(
    readonly existing = new Set([
      "asya-ns-b",
      "asya-ns-c",
      "asya-ns-x-sink",
      "asya-ns-x-sump",
    ]),
  ) {}
  queueUrl(name: string) {
    return Promise.resolve(this.existing.has(name) ? `url:${name}` : undefined);
  }
  receive() {
    return Promise.resolve([]);
  }
  send(queueUrl: string, bodies: string[]) {
    if (this.failSends) {
      return Promise.reject(
        new Error("SendMessageBatch failed for 1 entry: InternalError"),
      );
    }
    for (const body of bodies) this.sent.push({ queueUrl, body });
    return Promise.resolve();
  }
  delete(_queueUrl: string, receiptHandles: string[]) {
    this.deleted.push(...receiptHandles);
    return Promise.resolve();
  }
  changeVisibility() {
    return Promise.resolve();
  }
}

class FakeStore implements ObjectStore {
  objects = new Map<string, Uint8Array>();
  gets: string[] = [];
  puts: string[] = [];
  get(bucket: string, key: string) {
    this.gets.push(`${bucket}/${key}`);
    const object = this.objects.get(`${bucket}/${key}`);
    return object === undefined
      ? Promise.reject(new ObjectNotFoundError(bucket, key))
      : Promise.resolve(object);
  }
  put(bucket: string, key: string, bytes: Uint8Array) {
    this.puts.push(`${bucket}/${key}`);
    this.objects.set(`${bucket}/${key}`, bytes);
    return Promise.resolve();
  }
  exists(bucket: string, key: string) {
    return Promise.resolve(this.objects.has(`${bucket}/${key}`));
  }
}

function runtimeAnswering(
  answer: RuntimeResponse | Error,
): RuntimeClient & { bodies: string[] } {
  const bodies: string[] = [];
  return {
    socketPath: "/tmp/fake.sock",
    bodies,
    invoke(body: string) {
      bodies.push(body);
      return answer instanceof Error
        ? Promise.reject(answer)
        : Promise.resolve(answer);
    },
    healthy: () => Promise.resolve(true),
    readyFileExists: () => true,
  };
}

function setup(answer: RuntimeResponse | Error, threshold = 262_144) {
  const queues = new FakeQueues();
  const store = new FakeStore();
  const metrics = createMetrics();
  const lines: string[] = [];
  const runtime = runtimeAnswering(answer);
  const deps: ProcessDeps = {
    actor: "b",
    namespace: NS,
    actorTimeoutMs: 60_000,
    claimCheckThresholdBytes: threshold,
    queues,
    claimChecks: createClaimChecks({
      store,
      bucket: "bucket",
      prefix: "claims/ns/",
      metrics,
    }),
    runtime,
    metrics,
    log: createLogger({
      level: "debug",
      base: { actor: "b" },
      write: (line) => lines.push(line),
    }),
    now: () => Date.parse("2026-01-01T00:00:00Z"),
  };
  return { deps, queues, store, metrics, lines, runtime };
}

function message(body: string): QueueMessage {
  return { messageId: "m-1", receiptHandle: "r-1", body, receiveCount: 1 };
}

const INCOMING =
  '{"id":"e1","route":{"prev":["a"],"curr":"b","next":["c"]},"payload":{"secret":"s3cr3t-value"}}';

function frames(...payloads: string[]): RuntimeResponse {
  const items = payloads.map((payload) =>
    `{"route":{"prev":["a","b"],"curr":"c","next":[]},"payload":${payload}}`
  );
  return { status: 200, body: `{"frames":[${items.join(",")}]}` };
}

describe("processMessage", () => {
  it("sends each frame to the next actor, then deletes", async () => {
    const { deps, queues, runtime } = setup(frames("1", "2"));
    const outcome = await processMessage(message(INCOMING), SOURCE, deps);
    expect(outcome).toEqual({ kind: "deleted" });
    expect(runtime.bodies).toEqual([INCOMING]);
    expect(queues.sent.map((entry) => entry.queueUrl)).toEqual([
      "url:asya-ns-c",
      "url:asya-ns-c",
    ]);
    expect(JSON.parse(queues.sent[1].body)).toMatchObject({
      id: "e1-1",
      parent_id: "e1",
      payload: 2,
    });
    expect(queues.deleted).toEqual(["r-1"]);
  });

  it("leaves the message when a send fails", async () => {
    const { deps, queues } = setup(frames("1"));
    queues.failSends = true;
    await expect(processMessage(message(INCOMING), SOURCE, deps)).rejects
      .toThrow(/SendMessageBatch failed/);
    expect(queues.deleted).toEqual([]);
  });

  it("leaves the message when the runtime is gone", async () => {
    const { deps, queues } = setup(
      new RuntimeUnavailableError("connect ECONNREFUSED", "ECONNREFUSED"),
    );
    const outcome = await processMessage(message(INCOMING), SOURCE, deps);
    expect(outcome.kind).toBe("runtime-lost");
    expect(queues.sent).toEqual([]);
    expect(queues.deleted).toEqual([]);
  });

  it("sends a timed-out envelope to x-sump and asks to stop", async () => {
    const { deps, queues, metrics } = setup(new RuntimeTimeoutError(60_000));
    const outcome = await processMessage(message(INCOMING), SOURCE, deps);
    expect(outcome).toEqual({ kind: "handler-timeout" });
    expect(queues.sent).toHaveLength(1);
    expect(queues.sent[0].queueUrl).toBe("url:asya-ns-x-sump");
    expect(JSON.parse(queues.sent[0].body).status).toMatchObject({
      phase: "failed",
      reason: "Timeout",
      actor: "b",
    });
    expect(queues.deleted).toEqual(["r-1"]);
    expect(metrics.failed.get("Timeout")).toBe(1);
  });

  it("limits the call to the time left before the deadline", async () => {
    const { deps } = setup(frames("1"));
    const timeouts: number[] = [];
    deps.runtime = {
      ...deps.runtime,
      invoke: (
        _body,
        timeoutMs,
      ) => (timeouts.push(timeoutMs), Promise.resolve(frames("1"))),
    };
    const withDeadline = INCOMING.replace(
      '"payload"',
      '"status":{"deadline_at":"2026-01-01T00:00:05Z"},"payload"',
    );
    await processMessage(message(withDeadline), SOURCE, deps);
    expect(timeouts).toEqual([5_000]);
  });

  it("keeps the handler's error details", async () => {
    const details = {
      message: "bad",
      type: "KeyError",
      mro: ["KeyError", "LookupError"],
      traceback: "Traceback...",
    };
    const { deps, queues } = setup({
      status: 500,
      body: JSON.stringify({ error: "processing_error", details }),
    });
    await processMessage(message(INCOMING), SOURCE, deps);
    const sent = JSON.parse(queues.sent[0].body);
    expect(sent.status.reason).toBe("ProcessingError");
    expect(sent.status.error).toEqual({
      ...details,
      error: "processing_error",
    });
    expect(sent.payload).toEqual({ secret: "s3cr3t-value" });
  });

  it("logs the handler's exception type", async () => {
    const { deps, lines } = setup({
      status: 500,
      body: JSON.stringify({
        error: "processing_error",
        details: { message: "'name'", type: "KeyError" },
      }),
    });
    await processMessage(message(INCOMING), SOURCE, deps);
    const failed = lines.map((line) => JSON.parse(line)).find((line) =>
      line.event === "envelope_failed"
    );
    expect(failed).toMatchObject({
      reason: "ProcessingError",
      error: "'name'",
      error_type: "KeyError",
    });
  });

  it("reports an unexpected runtime answer", async () => {
    const { deps, queues } = setup({ status: 200, body: '{"frames":"nope"}' });
    await processMessage(message(INCOMING), SOURCE, deps);
    expect(JSON.parse(queues.sent[0].body).status.reason).toBe("RuntimeError");
  });

  it("forwards the envelope unchanged to x-sink when the handler returns None", async () => {
    const { deps, queues } = setup({ status: 204, body: "" });
    await processMessage(message(INCOMING), SOURCE, deps);
    expect(queues.sent).toEqual([{
      queueUrl: "url:asya-ns-x-sink",
      body: INCOMING,
    }]);
  });

  it("forwards the envelope to x-sink when a generator yields nothing", async () => {
    const { deps, queues } = setup({ status: 200, body: '{"frames":[]}' });
    const outcome = await processMessage(message(INCOMING), SOURCE, deps);
    expect(outcome).toEqual({ kind: "deleted" });
    expect(queues.sent).toEqual([{
      queueUrl: "url:asya-ns-x-sink",
      body: INCOMING,
    }]);
  });

  it("leaves the message when the runtime is stopping", async () => {
    const { deps, queues } = setup({
      status: 503,
      body: '{"error":"stopping"}',
    });
    const outcome = await processMessage(message(INCOMING), SOURCE, deps);
    expect(outcome.kind).toBe("runtime-lost");
    expect(queues.sent).toEqual([]);
    expect(queues.deleted).toEqual([]);
  });

  it("redirects a frame for an actor without queue", async () => {
    const { deps, queues } = setup(frames("1"));
    queues.existing.delete("asya-ns-c");
    await processMessage(message(INCOMING), SOURCE, deps);
    expect(queues.sent[0].queueUrl).toBe("url:asya-ns-x-sump");
    expect(JSON.parse(queues.sent[0].body).status.reason).toBe("UnknownActor");
  });

  it("rejects an envelope addressed to another actor", async () => {
    const { deps, queues, runtime } = setup(frames("1"));
    await processMessage(
      message(INCOMING.replace('"curr":"b"', '"curr":"z"')),
      SOURCE,
      deps,
    );
    expect(runtime.bodies).toEqual([]);
    expect(JSON.parse(queues.sent[0].body).status.error.field).toBe(
      "route.curr",
    );
  });

  it("offloads a large outgoing payload", async () => {
    const big = JSON.stringify("y".repeat(2_000));
    const { deps, queues, store, metrics } = setup(frames(big), 1_000);
    await processMessage(message(INCOMING), SOURCE, deps);
    const sent = JSON.parse(queues.sent[0].body);
    const sha256 = createHash("sha256").update(big).digest("hex");
    expect(sent.payload).toBeUndefined();
    expect(sent.payload_ref).toEqual({
      uri: `s3://bucket/claims/ns/${sha256}`,
      bytes: big.length,
      sha256,
    });
    expect(store.puts).toEqual([`bucket/claims/ns/${sha256}`]);
    expect(metrics.claimCheckBytesUploaded).toBe(big.length);
  });

  it("does not upload a payload it downloaded", async () => {
    const big = JSON.stringify("z".repeat(2_000));
    const sha256 = createHash("sha256").update(big).digest("hex");
    const { deps, queues, store, metrics } = setup(frames(big), 1_000);
    store.objects.set(
      `bucket/claims/ns/${sha256}`,
      new TextEncoder().encode(big),
    );
    const ref = {
      uri: `s3://bucket/claims/ns/${sha256}`,
      bytes: big.length,
      sha256,
    };
    const incoming = JSON.stringify({
      id: "e1",
      route: { prev: ["a"], curr: "b", next: ["c"] },
      payload_ref: ref,
    });
    await processMessage(message(incoming), SOURCE, deps);
    expect(JSON.parse(queues.sent[0].body).payload_ref).toEqual(ref);
    expect(store.puts).toEqual([]);
    expect(metrics.claimCheckBytesDownloaded).toBe(big.length);
  });

  it("never reads a payload_ref outside the bucket", async () => {
    const { deps, queues, store, runtime } = setup(frames("1"));
    const ref = {
      uri: `s3://elsewhere/claims/ns/${"0".repeat(64)}`,
      bytes: 1,
      sha256: "0".repeat(64),
    };
    const incoming = JSON.stringify({
      id: "e1",
      route: { prev: [], curr: "b", next: [] },
      payload_ref: ref,
    });
    await processMessage(message(incoming), SOURCE, deps);
    expect(store.gets).toEqual([]);
    expect(runtime.bodies).toEqual([]);
    expect(JSON.parse(queues.sent[0].body).status.reason).toBe(
      "ClaimCheckError",
    );
  });

  it("rejects a claim check with the wrong digest", async () => {
    const { deps, queues, store } = setup(frames("1"));
    const key = `claims/ns/${"1".repeat(64)}`;
    store.objects.set(`bucket/${key}`, new TextEncoder().encode('"tampered"'));
    const ref = {
      uri: `s3://bucket/${key}`,
      bytes: 10,
      sha256: "1".repeat(64),
    };
    const incoming = JSON.stringify({
      id: "e1",
      route: { prev: [], curr: "b", next: [] },
      payload_ref: ref,
    });
    await processMessage(message(incoming), SOURCE, deps);
    const sent = JSON.parse(queues.sent[0].body);
    expect(sent.status.reason).toBe("ClaimCheckError");
    expect(sent.status.error.message).toMatch(
      /expected sha256 1{64}, found [0-9a-f]{64}/,
    );
  });

  it("never logs payloads", async () => {
    const { deps, lines } = setup(frames('{"secret":"s3cr3t-value"}'));
    await processMessage(message(INCOMING), SOURCE, deps);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain("s3cr3t-value");
    const processed = JSON.parse(
      lines.find((line) => line.includes("envelope_processed"))!,
    );
    expect(processed).toMatchObject({
      envelope_id: "e1",
      actor: "b",
      component: "sidecar",
      route_next: ["c"],
    });
    expect(typeof processed.duration_ms).toBe("number");
  });
});

describe("processMessage with signing", () => {
  const key = new TextEncoder().encode("k".repeat(32));

  async function signed(body: string): Promise<string> {
    const parsed = parseEnvelope(body);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const envelope = await signEnvelope(
      parsed.value.envelope,
      parsed.value.payloadText,
      key,
      { kid: "v1" },
    );
    return JSON.stringify(envelope).slice(0, -1) +
      `,"payload":${parsed.value.payloadText}}`;
  }

  it("signs what it sends", async () => {
    const { deps, queues } = setup(frames("1"));
    deps.signer = createEnvelopeSigner(key, "v1");
    await processMessage(message(await signed(INCOMING)), SOURCE, deps);

    const sent = parseEnvelope(queues.sent[0].body);
    expect(sent.ok).toBe(true);
    if (!sent.ok) return;
    expect(sent.value.envelope.sig).toMatch(/^[\w-]+\.\.[\w-]+$/);
    const verified = await verifyEnvelope(
      sent.value.envelope,
      sent.value.payloadText,
      { v1: key },
    );
    expect(verified.ok).toBe(true);
  });

  it("rejects an unsigned envelope", async () => {
    const { deps, queues, runtime } = setup(frames("1"));
    deps.signer = createEnvelopeSigner(key, "v1");
    await processMessage(message(INCOMING), SOURCE, deps);

    expect(runtime.bodies).toEqual([]);
    const sent = JSON.parse(queues.sent[0].body);
    expect(sent.status.reason).toBe("InvalidSignature");
    expect(sent.status.error.field).toBe("sig");
  });

  it("rejects an envelope changed after signing", async () => {
    const { deps, queues } = setup(frames("1"));
    deps.signer = createEnvelopeSigner(key, "v1");
    const tampered = (await signed(INCOMING)).replace(
      '"next":["c"]',
      '"next":["x-sink"]',
    );
    await processMessage(message(tampered), SOURCE, deps);
    expect(JSON.parse(queues.sent[0].body).status.reason).toBe(
      "InvalidSignature",
    );
  });

  it("signs an offloaded envelope over its reference", async () => {
    const big = JSON.stringify("q".repeat(2_000));
    const { deps, queues } = setup(frames(big), 1_000);
    deps.signer = createEnvelopeSigner(key);
    await processMessage(
      message(await signedWithoutKid(INCOMING)),
      SOURCE,
      deps,
    );

    const sent = parseEnvelope(queues.sent[0].body);
    expect(sent.ok).toBe(true);
    if (!sent.ok) return;
    expect(sent.value.envelope.payload_ref).toBeDefined();
    expect((await verifyEnvelope(sent.value.envelope, undefined, key)).ok).toBe(
      true,
    );
  });

  async function signedWithoutKid(body: string): Promise<string> {
    const parsed = parseEnvelope(body);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const envelope = await signEnvelope(
      parsed.value.envelope,
      parsed.value.payloadText,
      key,
    );
    return JSON.stringify(envelope).slice(0, -1) +
      `,"payload":${parsed.value.payloadText}}`;
  }
});
