import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelopeBody, Mesh, type TestActor } from "./harness.ts";

// One local stack and one set of actors for every routing scenario: each
// test sends its own envelope ids and reads only its own results.
describe("sidecar chain", () => {
  let mesh: Mesh;
  const actors: Record<string, TestActor> = {};

  beforeAll(async () => {
    mesh = await Mesh.start("chain");
    await mesh.createQueues(["double", "add-ten", "label"]);
    const specs = [
      { actor: "x-sink", role: "sink" as const },
      { actor: "x-sump", role: "sump" as const },
      { actor: "double", handler: "sidecar_handlers.double" },
      { actor: "add-ten", handler: "sidecar_handlers.add_ten" },
      { actor: "label", handler: "sidecar_handlers.label" },
    ];
    for (const spec of specs) actors[spec.actor] = await mesh.startActor(spec);
  }, 120_000);

  afterAll(async () => {
    await mesh?.stop();
  }, 60_000);

  it("passes an envelope through three actors to x-sink", async () => {
    await mesh.send("double", envelopeBody("chain-1", { curr: "double", next: ["add-ten", "label"] }, '{"value":16}'));
    const stored = JSON.parse(await mesh.waitForStored("results", "chain-1"));
    expect(stored.payload).toEqual({ value: 42, label: "done" });
    expect(stored.route).toEqual({ prev: ["double", "add-ten", "label"], curr: "", next: [] });
    expect(stored.status.phase).toBe("succeeded");
    expect(stored.status.actor).toBe("label");
  });
});
