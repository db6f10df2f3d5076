import { describe, expect, it } from "vitest";
import { parseVisit, Timeline } from "../../scripts/demo/timeline.ts";

function line(event: string, id: string, time: string, durationMs: number): string {
  return JSON.stringify({ time, level: "info", component: "sidecar", event, envelope_id: id, duration_ms: durationMs });
}

describe("parseVisit", () => {
  it("reads an envelope_processed line", () => {
    expect(parseVisit("split", line("envelope_processed", "a", "2026-01-01T00:00:01.000Z", 250))).toEqual({
      actor: "split",
      envelopeId: "a",
      leftMs: Date.parse("2026-01-01T00:00:01.000Z"),
      durationMs: 250,
    });
  });

  it("reads an envelope_stored line", () => {
    expect(parseVisit("x-sink", line("envelope_stored", "a", "2026-01-01T00:00:01.000Z", 5))?.actor).toBe("x-sink");
  });

  it("ignores other lines", () => {
    expect(parseVisit("split", line("http_listening", "a", "2026-01-01T00:00:01.000Z", 1))).toBeUndefined();
    expect(parseVisit("split", "not json")).toBeUndefined();
    expect(parseVisit("split", "{broken")).toBeUndefined();
    expect(
      parseVisit("split", JSON.stringify({ event: "envelope_processed", time: "x", envelope_id: "a", duration_ms: 1 })),
    )
      .toBeUndefined();
  });
});

describe("Timeline", () => {
  const base = Date.parse("2026-01-01T00:00:00.000Z");

  function timeline(): Timeline {
    const result = new Timeline();
    // split handles the parent "b" from 0 to 100 ms and fans out "b" and "b-1".
    result.add({ actor: "split", envelopeId: "b", leftMs: base + 100, durationMs: 100 });
    // router receives "b" at 130 ms and "b-1" at 150 ms.
    result.add({ actor: "router", envelopeId: "b", leftMs: base + 140, durationMs: 10 });
    result.add({ actor: "router", envelopeId: "b-1", leftMs: base + 170, durationMs: 20 });
    // x-sink starts "b" 5 ms before router logged its finish.
    result.add({ actor: "x-sink", envelopeId: "b", leftMs: base + 141, durationMs: 6 });
    return result;
  }

  it("measures hops from leaving to entering", () => {
    const hops = timeline().hopStats([
      { envelopeId: "b", parentId: undefined, actors: ["split", "router", "x-sink"] },
      { envelopeId: "b-1", parentId: "b", actors: ["split", "router"] },
    ]);
    expect(hops).toEqual([
      { from: "split", to: "router", count: 2, meanMs: 40, maxMs: 50 },
      { from: "router", to: "x-sink", count: 1, meanMs: 0, maxMs: 0 },
    ]);
  });

  it("skips hops without both visits", () => {
    expect(timeline().hopStats([{ envelopeId: "zz", actors: ["split", "router"] }])).toEqual([]);
  });

  it("summarizes processing per actor", () => {
    expect(timeline().actorStats().get("router")).toEqual({ count: 2, meanMs: 15, maxMs: 20 });
  });

  it("keeps the last visit of a redelivered envelope", () => {
    const result = timeline();
    result.add({ actor: "router", envelopeId: "b", leftMs: base + 900, durationMs: 30 });
    expect(result.visit("router", "b")?.durationMs).toBe(30);
    expect(result.actorStats().get("router")?.count).toBe(2);
  });
});
