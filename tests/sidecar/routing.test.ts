import { describe, expect, it } from "vitest";
import type { Envelope, Frame } from "../../shared/envelope.ts";
import {
  destinationOf,
  expiredEnvelope,
  failedEnvelope,
  routeFrames,
  unknownActorEnvelope,
  unparseableEnvelope,
} from "../../sidecar/routing.ts";

const NOW = "2026-01-02T03:04:05.000Z";

function envelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: "e1",
    route: { prev: ["a"], curr: "b", next: ["c", "d"] },
    headers: { traceparent: "00-abc-def-01" },
    status: {
      phase: "pending",
      created_at: "2026-01-01T00:00:00Z",
      deadline_at: "2026-01-03T00:00:00Z",
    },
    ...overrides,
  };
}

function frame(
  route: Frame["route"],
  payloadText = '{"n":1}',
  extra: Partial<Frame> = {},
): Frame {
  return { route, payloadText, ...extra };
}

describe("destinationOf", () => {
  it("returns the current actor", () => {
    expect(destinationOf({ curr: "c" })).toBe("c");
  });

  it("returns x-sink for a finished route", () => {
    expect(destinationOf({ curr: "" })).toBe("x-sink");
  });
});

describe("routeFrames", () => {
  it("routes one frame to the next actor", () => {
    const result = routeFrames(
      envelope(),
      [frame({ prev: ["a", "b"], curr: "c", next: ["d"] })],
      "b",
      NOW,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toHaveLength(1);
    const [out] = result.value;
    expect(out.destination).toBe("c");
    expect(out.envelope.id).toBe("e1");
    expect(out.envelope.parent_id).toBeUndefined();
    expect(out.envelope.route).toEqual({
      prev: ["a", "b"],
      curr: "c",
      next: ["d"],
    });
    expect(out.envelope.headers).toEqual({ traceparent: "00-abc-def-01" });
    expect(out.envelope.status).toEqual({
      phase: "pending",
      actor: "b",
      updated_at: NOW,
      created_at: "2026-01-01T00:00:00Z",
      deadline_at: "2026-01-03T00:00:00Z",
    });
    expect(out.payloadText).toBe('{"n":1}');
  });

  it("routes a finished route to x-sink as succeeded", () => {
    const input = envelope({ route: { prev: ["a"], curr: "b", next: [] } });
    const result = routeFrames(
      input,
      [frame({ prev: ["a", "b"], curr: "", next: [] })],
      "b",
      NOW,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value[0].destination).toBe("x-sink");
    expect(result.value[0].envelope.status?.phase).toBe("succeeded");
  });

  it("gives fan-out frames child ids", () => {
    const frames = [0, 1, 2].map((index) =>
      frame({ prev: ["a", "b"], curr: "c", next: ["d"] }, String(index))
    );
    const result = routeFrames(envelope(), frames, "b", NOW);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.map((out) => out.envelope.id)).toEqual([
      "e1",
      "e1-1",
      "e1-2",
    ]);
    expect(result.value.map((out) => out.envelope.parent_id)).toEqual([
      undefined,
      "e1",
      "e1",
    ]);
    expect(result.value.map((out) => out.payloadText)).toEqual(["0", "1", "2"]);
  });

  it("follows a next list rewritten by the handler", () => {
    const result = routeFrames(
      envelope(),
      [frame({ prev: ["a", "b"], curr: "z", next: [] })],
      "b",
      NOW,
    );
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value[0].destination).toBe("z");
  });

  it("keeps the incoming deadline over a returned status", () => {
    const returned = frame({ prev: ["a", "b"], curr: "c", next: [] }, "1", {
      status: {
        phase: "running",
        deadline_at: "2099-01-01T00:00:00Z",
        reason: "x",
      },
      headers: { added: true },
    });
    const result = routeFrames(envelope(), [returned], "b", NOW);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value[0].envelope.status?.deadline_at).toBe(
      "2026-01-03T00:00:00Z",
    );
    expect(result.value[0].envelope.status?.reason).toBeUndefined();
    expect(result.value[0].envelope.headers).toEqual({ added: true });
  });

  it("rejects a frame whose prev was not shifted", () => {
    const result = routeFrames(
      envelope(),
      [frame({ prev: ["a"], curr: "c", next: [] })],
      "b",
      NOW,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toMatch(/route\.prev/);
    expect(result.error.frame).toBe(0);
  });

  it("returns no envelopes for no frames", () => {
    const result = routeFrames(envelope(), [], "b", NOW);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value).toEqual([]);
  });
});

describe("failedEnvelope", () => {
  it("marks the envelope failed for x-sump", () => {
    const out = failedEnvelope(envelope(), '"p"', "b", "ProcessingError", {
      message: "boom",
      type: "ValueError",
    }, NOW);
    expect(out.destination).toBe("x-sump");
    expect(out.payloadText).toBe('"p"');
    expect(out.envelope.route).toEqual(envelope().route);
    expect(out.envelope.status).toMatchObject({
      phase: "failed",
      reason: "ProcessingError",
      error: { message: "boom", type: "ValueError" },
      actor: "b",
      updated_at: NOW,
      deadline_at: "2026-01-03T00:00:00Z",
    });
  });

  it("keeps a claim check instead of a payload", () => {
    const ref = {
      uri: "s3://bucket/claims/ns/ab",
      bytes: 3,
      sha256: "0".repeat(64),
    };
    const out = failedEnvelope(
      envelope({ payload_ref: ref }),
      undefined,
      "b",
      "ClaimCheckError",
      { message: "m" },
      NOW,
    );
    expect(out.envelope.payload_ref).toEqual(ref);
    expect(out.payloadText).toBeUndefined();
  });
});

describe("expiredEnvelope", () => {
  it("sends an expired envelope to x-sink as failed", () => {
    const out = expiredEnvelope(envelope(), "1", "b", NOW);
    expect(out.destination).toBe("x-sink");
    expect(out.envelope.status?.phase).toBe("failed");
    expect(out.envelope.status?.reason).toBe("Timeout");
    expect((out.envelope.status?.error as { message: string }).message).toMatch(
      /deadline 2026-01-03T00:00:00Z passed/,
    );
  });
});

describe("unparseableEnvelope", () => {
  it("keeps the body whole as a string payload", () => {
    const body = '{"id":"abc","payload":12345678901234567890,"route":';
    const out = unparseableEnvelope(body, "m-1", "b", { message: "bad" }, NOW);
    expect(out.destination).toBe("x-sump");
    expect(out.envelope.id).toBe("m-1");
    expect(JSON.parse(out.payloadText!)).toBe(body);
    expect(out.envelope.status?.reason).toBe("InvalidEnvelope");
  });

  it("uses the body's id when it has one", () => {
    const out = unparseableEnvelope('{"id":"abc","payload":1}', "m-1", "b", {
      message: "no route",
    }, NOW);
    expect(out.envelope.id).toBe("abc");
  });
});

describe("unknownActorEnvelope", () => {
  it("redirects to x-sump naming the queue", () => {
    const out = unknownActorEnvelope(
      { destination: "ghost", envelope: envelope(), payloadText: "1" },
      "b",
      "asya-ns-ghost",
      NOW,
    );
    expect(out.destination).toBe("x-sump");
    expect(out.envelope.status?.reason).toBe("UnknownActor");
    expect(out.envelope.status?.error).toMatchObject({
      message: 'actor "ghost" has no queue: asya-ns-ghost does not exist',
      actor: "ghost",
      queue: "asya-ns-ghost",
    });
  });
});
