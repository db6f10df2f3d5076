import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exitCodeOf } from "../../sidecar/launch.ts";
import { envelopeBody, Mesh, poll } from "./harness.ts";

// Each test gets its own stack, because these tests stop and kill processes.
describe("sidecar lifecycle", () => {
  let mesh: Mesh;

  beforeEach(async () => {
    mesh = await Mesh.start("life");
    await mesh.createQueues(["slow"]);
    await mesh.startActor({ actor: "x-sink", role: "sink" });
    await mesh.startActor({ actor: "x-sump", role: "sump" });
  }, 60_000);

  afterEach(async () => {
    await mesh?.stop();
  }, 60_000);

  it("sends a timed-out envelope to x-sump and exits non-zero", async () => {
    const slow = await mesh.startActor({
      actor: "slow",
      handler: "sidecar_handlers.sleep_then_echo",
      sidecarEnv: { ASYA_RESILIENCY_ACTOR_TIMEOUT: "1s" },
    });
    await mesh.send(
      "slow",
      envelopeBody("timeout-1", { curr: "slow" }, '{"seconds":4}'),
    );

    const stored = JSON.parse(await mesh.waitForStored("errors", "timeout-1"));
    expect(stored.status.reason).toBe("Timeout");
    expect(stored.status.actor).toBe("slow");
    expect(stored.status.error.timeout_ms).toBe(1000);
    expect(stored.payload).toEqual({ seconds: 4 });
    expect(await slow.processes.sidecarExit).toBe(4);
    expect(await mesh.queueDepth("slow")).toBe(0);
  });

  it("finishes the call in flight on SIGTERM and exits 0", async () => {
    const slow = await mesh.startActor({
      actor: "slow",
      handler: "sidecar_handlers.sleep_then_echo",
    });
    await mesh.send(
      "slow",
      envelopeBody("drain-1", { curr: "slow" }, '{"seconds":3}'),
    );
    await poll(
      "the handler call",
      20_000,
      () =>
        Promise.resolve(
          slow.lines.some((line) => line.includes('"handler_called"'))
            ? true
            : undefined,
        ),
    );

    slow.processes.sidecar.kill("SIGTERM");
    // Sent after SIGTERM: the draining sidecar must leave it in the queue.
    await mesh.send(
      "slow",
      envelopeBody("drain-2", { curr: "slow" }, '{"seconds":0}'),
    );

    expect(await slow.processes.sidecarExit).toBe(0);
    const stored = JSON.parse(await mesh.waitForStored("results", "drain-1"));
    expect(stored.payload).toEqual({ seconds: 3 });
    expect(slow.lines.some((line) => line.includes('"drain_finished"'))).toBe(
      true,
    );
    expect(await mesh.queueDepth("slow")).toBe(1);
  });

  it("loses no envelope when the runtime is killed mid-call", async () => {
    let slow = await mesh.startActor({
      actor: "slow",
      handler: "sidecar_handlers.sleep_then_echo",
    });
    const ids = Array.from({ length: 12 }, (_, index) => `kill-${index}`);
    for (const id of ids) {
      await mesh.send(
        "slow",
        envelopeBody(id, { curr: "slow" }, '{"seconds":0.3}'),
      );
    }

    // Kill during a call, after a few envelopes are through.
    await poll(
      "three results",
      30_000,
      async () =>
        (await mesh.storedKeys("results")).length >= 3 ? true : undefined,
    );
    const calls = slow.lines.filter((line) =>
      line.includes('"handler_called"')
    ).length;
    await poll("the next handler call", 10_000, () =>
      Promise.resolve(
        slow.lines.filter((line) => line.includes('"handler_called"')).length >
            calls
          ? true
          : undefined,
      ));
    slow.processes.runtime!.kill("SIGKILL");

    expect(await slow.processes.sidecarExit).toBe(3);
    expect(slow.lines.some((line) => line.includes('"runtime_lost"'))).toBe(
      true,
    );
    expect(await exitCodeOf(slow.processes.runtime!)).toBeNull();

    // Restart both, as Kubernetes restarts the pod's containers.
    await mesh.stopActor(slow);
    slow = await mesh.startActor({
      actor: "slow",
      handler: "sidecar_handlers.sleep_then_echo",
      socketDir: slow.socketDir,
    });

    const { results, errors } = await mesh.waitForCount(ids.length, 60_000);
    expect(errors).toEqual([]);
    expect(results).toEqual(
      ids.map((id) => `results/life/${id}.json`).sort(),
    );
    expect(await mesh.queueDepth("slow")).toBe(0);
  }, 120_000);

  it("runs envelopes concurrently up to ASYA_CONCURRENCY", async () => {
    const slow = await mesh.startActor({
      actor: "slow",
      handler: "sidecar_handlers.sleep_then_echo",
      sidecarEnv: { ASYA_CONCURRENCY: "3" },
      runtimeEnv: { ASYA_WORKERS: "3" },
    });
    const ids = ["par-0", "par-1", "par-2"];
    for (const id of ids) {
      await mesh.send("slow", envelopeBody(id, { curr: "slow" }, '{"seconds":3}'));
    }

    await mesh.waitForAll("results", ids);
    const events = slow.lines
      .filter((line) => line.includes('"handler_called"') || line.includes('"envelope_processed"'))
      .map((line) => JSON.parse(line.slice(line.indexOf("{"))).event);
    // All three calls started before the first one finished.
    expect(events.slice(0, 3)).toEqual(["handler_called", "handler_called", "handler_called"]);
  });

  it("extends visibility during a long call", async () => {
    const slow = await mesh.startActor({
      actor: "slow",
      handler: "sidecar_handlers.sleep_then_echo",
      sidecarEnv: { ASYA_CONCURRENCY: "2", ASYA_SQS_VISIBILITY_TIMEOUT: "2" },
    });
    await mesh.send("slow", envelopeBody("long-1", { curr: "slow" }, '{"seconds":5}'));

    const stored = JSON.parse(await mesh.waitForStored("results", "long-1"));
    expect(stored.payload).toEqual({ seconds: 5 });
    // With a free slot, a message that became visible again would have been received and called twice.
    const calls = slow.lines.filter((line) => line.includes('"handler_called"') && line.includes('"long-1"'));
    expect(calls).toHaveLength(1);
    const received = await mesh.metrics(slow);
    expect(received).toContain('asya_sidecar_messages_received_total{actor="slow"} 1');
  });
});
