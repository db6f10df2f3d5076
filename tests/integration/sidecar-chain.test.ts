import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelopeBody, Mesh, metricValue, type TestActor } from "./harness.ts";

// One local stack and one set of actors for every routing scenario: each
// test sends its own envelope ids and reads only its own results.
describe("sidecar routing", () => {
  let mesh: Mesh;
  const actors: Record<string, TestActor> = {};

  beforeAll(async () => {
    mesh = await Mesh.start("chain");
    await mesh.createQueues([
      "double",
      "add-ten",
      "label",
      "fan",
      "router",
      "pass",
      "explode",
      "nothing",
    ]);
    const specs = [
      { actor: "x-sink", role: "sink" as const },
      { actor: "x-sump", role: "sump" as const },
      { actor: "double", handler: "sidecar_handlers.double" },
      { actor: "add-ten", handler: "sidecar_handlers.add_ten" },
      { actor: "label", handler: "sidecar_handlers.label" },
      { actor: "fan", handler: "sidecar_handlers.fan_out" },
      {
        actor: "router",
        handler: "sidecar_handlers.choose_route",
        handlerMode: "envelope" as const,
      },
      { actor: "pass", handler: "sidecar_handlers.identity" },
      { actor: "explode", handler: "sidecar_handlers.explode" },
      { actor: "nothing", handler: "sidecar_handlers.nothing" },
    ];
    await Promise.all(
      specs.map(async (
        spec,
      ) => (actors[spec.actor] = await mesh.startActor(spec))),
    );
  }, 120_000);

  afterAll(async () => {
    await mesh?.stop();
  }, 60_000);

  it("passes an envelope through three actors to x-sink", async () => {
    await mesh.send(
      "double",
      envelopeBody(
        "chain-1",
        { curr: "double", next: ["add-ten", "label"] },
        '{"value":16}',
      ),
    );
    const stored = JSON.parse(await mesh.waitForStored("results", "chain-1"));
    expect(stored.payload).toEqual({ value: 42, label: "done" });
    expect(stored.route).toEqual({
      prev: ["double", "add-ten", "label"],
      curr: "",
      next: [],
    });
    expect(stored.status.phase).toBe("succeeded");
    expect(stored.status.actor).toBe("label");
  });

  it("fans out 100 frames with child ids", async () => {
    await mesh.send(
      "fan",
      envelopeBody("fan-1", { curr: "fan", next: ["double"] }, '{"count":100}'),
    );
    const ids = [
      "fan-1",
      ...Array.from({ length: 99 }, (_, index) => `fan-1-${index + 1}`),
    ];
    const documents = await mesh.waitForAll("results", ids);
    const stored = documents.map((text) => JSON.parse(text));
    expect(stored.map((envelope) => envelope.payload)).toEqual(
      ids.map((_, index) => ({ value: index * 2 })),
    );
    expect(stored[0].parent_id).toBeUndefined();
    expect(stored.slice(1).every((envelope) => envelope.parent_id === "fan-1"))
      .toBe(true);
    expect(
      stored.every((envelope) =>
        envelope.route.prev.join(",") === "fan,double"
      ),
    ).toBe(true);
  }, 90_000);

  it("follows a route chosen by an envelope-mode handler", async () => {
    await mesh.send(
      "router",
      envelopeBody(
        "route-1",
        { curr: "router" },
        '{"target":"label","value":5}',
      ),
    );
    const stored = JSON.parse(await mesh.waitForStored("results", "route-1"));
    expect(stored.payload).toEqual({ value: 5, label: "done" });
    expect(stored.route.prev).toEqual(["router", "label"]);
  });

  it("keeps payload bytes exact when the handler returns None", async () => {
    const payload =
      '{"big":123456789012345678901234567890,"one":1.0,"neg":-0,' +
      '"long":0.10000000000000000000000000001,"text":"h\\u00e9llo \u00fc\u{1F600}"}';
    await mesh.send(
      "nothing",
      envelopeBody("exact-1", { curr: "nothing", next: ["double"] }, payload),
    );
    const stored = await mesh.waitForStored("results", "exact-1");
    expect(stored.endsWith(`"payload":${payload}}`)).toBe(true);
  });

  it(
    "moves a 20 MB payload by claim check without uploading it again",
    async () => {
      const payloadText = JSON.stringify("x".repeat(20 * 1024 * 1024));
      const ref = await mesh.putClaimCheck(payloadText);
      const head = JSON.stringify({
        id: "big-1",
        route: { prev: [], curr: "pass", next: [] },
        payload_ref: ref,
      });
      await mesh.send("pass", head);

      const stored = await mesh.waitForStored("results", "big-1", 60_000);
      expect(stored.length).toBeGreaterThan(20 * 1024 * 1024);
      expect(stored.endsWith(`"payload":${payloadText}}`)).toBe(true);
      expect(stored).not.toContain("payload_ref");

      const passMetrics = await mesh.metrics(actors.pass);
      expect(
        metricValue(
          passMetrics,
          "asya_sidecar_claim_check_bytes_total",
          'direction="download"',
        ),
      ).toBe(ref.bytes);
      expect(
        metricValue(
          passMetrics,
          "asya_sidecar_claim_check_bytes_total",
          'direction="upload"',
        ),
      ).toBe(0);
      // The sink received a reference, not the inline payload, so it downloaded it too.
      const sinkMetrics = await mesh.metrics(actors["x-sink"]);
      expect(
        metricValue(
          sinkMetrics,
          "asya_sidecar_claim_check_bytes_total",
          'direction="download"',
        ),
      ).toBe(ref.bytes);
    },
    90_000,
  );

  it("sends a handler exception to x-sump", async () => {
    await mesh.send(
      "explode",
      envelopeBody(
        "boom-1",
        { curr: "explode", next: ["label"] },
        '{"value":1}',
      ),
    );
    const stored = JSON.parse(await mesh.waitForStored("errors", "boom-1"));
    expect(stored.status.phase).toBe("failed");
    expect(stored.status.reason).toBe("ProcessingError");
    expect(stored.status.actor).toBe("explode");
    expect(stored.status.error.type).toBe("ValueError");
    expect(stored.status.error.message).toBe("explode always fails");
    expect(stored.status.error.traceback).toContain("explode");
    expect(stored.payload).toEqual({ value: 1 });
    expect(stored.route).toEqual({
      prev: [],
      curr: "explode",
      next: ["label"],
    });
  });

  it("keeps a body that is not JSON whole in x-sump", async () => {
    const body = "{not json at all";
    const messageId = await mesh.send("double", body);
    const stored = JSON.parse(await mesh.waitForStored("errors", messageId));
    expect(stored.status.reason).toBe("InvalidEnvelope");
    expect(stored.status.actor).toBe("double");
    expect(stored.payload).toBe(body);
  });

  it("sends an envelope without route to x-sump", async () => {
    const body = '{"id":"no-route-1","payload":{"value":3}}';
    await mesh.send("double", body);
    const stored = JSON.parse(await mesh.waitForStored("errors", "no-route-1"));
    expect(stored.status.reason).toBe("InvalidEnvelope");
    expect(stored.status.error.field).toBe("route");
    expect(stored.status.error.message).toMatch(/route/);
    expect(stored.payload).toBe(body);
  });

  it("sends an envelope for an unknown actor to x-sump", async () => {
    await mesh.send(
      "double",
      envelopeBody(
        "ghost-1",
        { curr: "double", next: ["ghost"] },
        '{"value":4}',
      ),
    );
    const stored = JSON.parse(await mesh.waitForStored("errors", "ghost-1"));
    expect(stored.status.reason).toBe("UnknownActor");
    expect(stored.status.error.message).toBe(
      'actor "ghost" has no queue: asya-chain-ghost does not exist',
    );
    // The handler ran, so the stored payload is its result.
    expect(stored.payload).toEqual({ value: 8 });
    expect(stored.route).toEqual({ prev: ["double"], curr: "ghost", next: [] });
  });

  it("rejects a payload_ref outside the bucket and prefix without reading it", async () => {
    const before = metricValue(
      await mesh.metrics(actors.double),
      "asya_sidecar_claim_check_bytes_total",
      'direction="download"',
    );
    const sha256 = "a".repeat(64);
    const refs = [
      { id: "ref-bucket", uri: `s3://other-bucket/claims/chain/${sha256}` },
      { id: "ref-prefix", uri: "s3://asya-test/results/chain/chain-1.json" },
      {
        id: "ref-dots",
        uri: "s3://asya-test/claims/chain/../../results/chain/chain-1.json",
      },
    ];
    for (const { id, uri } of refs) {
      const body = JSON.stringify({
        id,
        route: { prev: [], curr: "double", next: [] },
        payload_ref: { uri, bytes: 10, sha256 },
      });
      await mesh.send("double", body);
    }
    for (const { id, uri } of refs) {
      const stored = JSON.parse(await mesh.waitForStored("errors", id));
      expect(stored.status.reason).toBe("ClaimCheckError");
      expect(stored.status.actor).toBe("double");
      expect(stored.payload_ref.uri).toBe(uri);
      expect(stored.status.error.message).toMatch(/^Claim check .* rejected: /);
    }
    const after = metricValue(
      await mesh.metrics(actors.double),
      "asya_sidecar_claim_check_bytes_total",
      'direction="download"',
    );
    expect(after).toBe(before);
  });

  it("skips the handler once the deadline has passed", async () => {
    const status = { phase: "pending", deadline_at: "2020-01-01T00:00:00Z" };
    await mesh.send(
      "double",
      envelopeBody(
        "late-1",
        { curr: "double", next: ["label"] },
        '{"value":7}',
        { status },
      ),
    );
    const stored = JSON.parse(await mesh.waitForStored("results", "late-1"));
    expect(stored.status.phase).toBe("failed");
    expect(stored.status.reason).toBe("Timeout");
    expect(stored.payload).toEqual({ value: 7 });
    expect(stored.route).toEqual({ prev: [], curr: "double", next: ["label"] });
  });

  it("exposes routing counters in metrics", async () => {
    const text = await mesh.metrics(actors.double);
    expect(
      metricValue(
        text,
        "asya_sidecar_envelopes_routed_total",
        'destination="add-ten"',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(
        text,
        "asya_sidecar_envelopes_failed_total",
        'reason="InvalidEnvelope"',
      ),
    ).toBeGreaterThanOrEqual(2);
    expect(metricValue(text, "asya_sidecar_handler_duration_seconds_count"))
      .toBeGreaterThanOrEqual(1);
  });
});
