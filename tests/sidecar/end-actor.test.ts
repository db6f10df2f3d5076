import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createClaimChecks } from "../../sidecar/claim-check.ts";
import {
  type EndActorDeps,
  endActorKey,
  storeEndMessage,
} from "../../sidecar/end-actor.ts";
import { createLogger } from "../../sidecar/log.ts";
import { createMetrics } from "../../sidecar/metrics.ts";
import {
  ObjectNotFoundError,
  type ObjectStore,
} from "../../sidecar/object-store.ts";
import type { QueueClient, QueueMessage } from "../../sidecar/queue.ts";

class MemoryStore implements ObjectStore {
  objects = new Map<string, string>();
  gets: string[] = [];
  get(bucket: string, key: string) {
    this.gets.push(`${bucket}/${key}`);
    const text = this.objects.get(`${bucket}/${key}`);
    if (text === undefined) {
      return Promise.reject(new ObjectNotFoundError(bucket, key));
    }
    return Promise.resolve(new TextEncoder().encode(text));
  }
  put(bucket: string, key: string, bytes: Uint8Array) {
    this.objects.set(`${bucket}/${key}`, new TextDecoder().decode(bytes));
    return Promise.resolve();
  }
  exists(bucket: string, key: string) {
    return Promise.resolve(this.objects.has(`${bucket}/${key}`));
  }
}

function setup(role: "sink" | "sump") {
  const store = new MemoryStore();
  const metrics = createMetrics();
  const deleted: string[] = [];
  const queues = {
    delete: (_url: string, handles: string[]) => {
      deleted.push(...handles);
      return Promise.resolve();
    },
  } as unknown as QueueClient;
  const deps: EndActorDeps = {
    role,
    actor: role === "sink" ? "x-sink" : "x-sump",
    namespace: "ns",
    bucket: "bucket",
    store,
    claimChecks: createClaimChecks({
      store,
      bucket: "bucket",
      prefix: "claims/ns/",
      metrics,
    }),
    queues,
    metrics,
    log: createLogger({ level: "error", write: () => {} }),
    now: () => Date.parse("2026-01-01T00:00:00Z"),
  };
  return { deps, store, deleted, metrics };
}

function message(body: string): QueueMessage {
  return { messageId: "m-1", receiptHandle: "r-1", body, receiveCount: 1 };
}

describe("endActorKey", () => {
  it("places results and errors by namespace", () => {
    expect(endActorKey("results", "ns", "e1")).toBe("results/ns/e1.json");
    expect(endActorKey("errors", "ns", "e1-3")).toBe("errors/ns/e1-3.json");
  });

  it("encodes ids that are not plain key segments", () => {
    expect(endActorKey("results", "ns", "a/../b c")).toBe(
      "results/ns/a%2F..%2Fb%20c.json",
    );
  });
});

describe("storeEndMessage", () => {
  const body =
    '{"id":"e1","route":{"prev":["a"],"curr":"","next":[]},"payload":{"n":12345678901234567890}}';

  it("stores a finished envelope under results", async () => {
    const { deps, store, deleted, metrics } = setup("sink");
    await storeEndMessage(message(body), "url", deps);
    expect(store.objects.get("bucket/results/ns/e1.json")).toBe(body);
    expect(deleted).toEqual(["r-1"]);
    expect(metrics.succeeded).toBe(1);
  });

  it("stores a failed envelope under errors", async () => {
    const { deps, store } = setup("sump");
    await storeEndMessage(message(body), "url", deps);
    expect(store.objects.get("bucket/errors/ns/e1.json")).toBe(body);
  });

  it("inlines a claim-check payload", async () => {
    const { deps, store } = setup("sink");
    const payload = '{"big":"' + "b".repeat(100) + '"}';
    const sha256 = createHash("sha256").update(payload).digest("hex");
    store.objects.set(`bucket/claims/ns/${sha256}`, payload);
    const ref = {
      uri: `s3://bucket/claims/ns/${sha256}`,
      bytes: payload.length,
      sha256,
    };
    const withRef = JSON.stringify({
      id: "e2",
      route: { prev: ["a"], curr: "", next: [] },
      payload_ref: ref,
    });
    await storeEndMessage(message(withRef), "url", deps);
    const stored = store.objects.get("bucket/results/ns/e2.json")!;
    expect(stored.endsWith(`"payload":${payload}}`)).toBe(true);
    expect(stored).not.toContain("payload_ref");
  });

  it("keeps a body that is not an envelope", async () => {
    const { deps, store, deleted } = setup("sink");
    await storeEndMessage(message("not json"), "url", deps);
    const stored = JSON.parse(store.objects.get("bucket/errors/ns/m-1.json")!);
    expect(stored.payload).toBe("not json");
    expect(stored.status.reason).toBe("InvalidEnvelope");
    expect(deleted).toEqual(["r-1"]);
  });

  it("never reads a foreign claim check in the sink", async () => {
    const { deps, store } = setup("sink");
    const sha256 = "c".repeat(64);
    const ref = { uri: `s3://other/claims/ns/${sha256}`, bytes: 1, sha256 };
    const withRef = JSON.stringify({
      id: "e3",
      route: { prev: ["a"], curr: "", next: [] },
      payload_ref: ref,
    });
    await storeEndMessage(message(withRef), "url", deps);
    expect(store.gets).toEqual([]);
    const stored = JSON.parse(store.objects.get("bucket/errors/ns/e3.json")!);
    expect(stored.status.reason).toBe("ClaimCheckError");
    expect(stored.payload_ref).toEqual(ref);
  });

  it("keeps an unresolvable failure as it arrived in the sump", async () => {
    const { deps, store } = setup("sump");
    const sha256 = "d".repeat(64);
    const withRef = JSON.stringify({
      id: "e4",
      route: { prev: [], curr: "a", next: [] },
      status: { phase: "failed", reason: "ProcessingError" },
      payload_ref: { uri: `s3://bucket/claims/ns/${sha256}`, bytes: 1, sha256 },
    });
    await storeEndMessage(message(withRef), "url", deps);
    expect(store.objects.get("bucket/errors/ns/e4.json")).toBe(withRef);
  });

  it("leaves the message when S3 fails", async () => {
    const { deps, store, deleted } = setup("sink");
    store.put = () => Promise.reject(new Error("SlowDown"));
    await expect(storeEndMessage(message(body), "url", deps)).rejects.toThrow(
      "SlowDown",
    );
    expect(deleted).toEqual([]);
  });
});
