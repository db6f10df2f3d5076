import { describe, expect, it } from "vitest";
import { planWorkloadAdmission, type WorkloadLike } from "../../webhook/patch/workload.ts";
import type { InjectionSettings } from "../../webhook/patch/pod.ts";
import { applyPatch } from "./helpers.ts";

const settings: InjectionSettings = {
  sidecarImage: "sidecar:1",
  sidecarPullPolicy: "IfNotPresent",
  nativeSidecar: true,
  awsRegion: "us-east-1",
  claimCheckThresholdBytes: 262_144,
  version: "0.1.0",
};

function workload(annotations: Record<string, string>, templateAnnotations?: Record<string, string>): WorkloadLike {
  return {
    metadata: { name: "w", namespace: "ns", annotations },
    spec: {
      template: {
        metadata: templateAnnotations === undefined ? {} : { annotations: templateAnnotations },
        spec: { containers: [{ name: "main" }] },
      },
    },
  };
}

describe("planWorkloadAdmission", () => {
  it("replaces changed template values", () => {
    const object = workload(
      { "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/timeout": "10m" },
      { "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/timeout": "5m", "team/owner": "ml" },
    );
    const plan = planWorkloadAdmission(object, undefined, "ns", settings);
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.value.operations).toEqual([
      { op: "add", path: "/spec/template/metadata/annotations/asya.sh~1timeout", value: "10m" },
    ]);
    expect(plan.value.config?.timeoutMs).toBe(600_000);
    const patched = applyPatch(object, plan.value.operations as any) as any;
    expect(patched.spec.template.metadata.annotations["team/owner"]).toBe("ml");
  });

  it("removes a key dropped from the workload", () => {
    const before = workload({ "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/timeout": "10m" });
    const after = workload(
      { "asya.sh/actor": "a", "asya.sh/handler": "m.f" },
      { "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/timeout": "10m" },
    );
    const plan = planWorkloadAdmission(after, before, "ns", settings);
    expect(plan.ok && plan.value.operations).toEqual([
      { op: "remove", path: "/spec/template/metadata/annotations/asya.sh~1timeout" },
    ]);
  });

  it("keeps a template value the user changed", () => {
    const before = workload({ "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/timeout": "10m" });
    const after = workload(
      { "asya.sh/actor": "a", "asya.sh/handler": "m.f" },
      { "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/timeout": "2m" },
    );
    const plan = planWorkloadAdmission(after, before, "ns", settings);
    expect(plan.ok && plan.value.operations).toEqual([]);
    expect(plan.ok && plan.value.config?.timeoutMs).toBe(120_000);
  });

  it("reads an actor from the template alone", () => {
    const plan = planWorkloadAdmission(workload({}, { "asya.sh/actor": "a", "asya.sh/handler": "m.f" }), undefined, "ns", settings);
    expect(plan.ok && plan.value.operations).toEqual([]);
    expect(plan.ok && plan.value.config?.actor).toBe("a");
  });

  it("drops an injected marker from the template", () => {
    const object = workload(
      { "asya.sh/actor": "a", "asya.sh/handler": "m.f" },
      { "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/injected": "0.1.0" },
    );
    const plan = planWorkloadAdmission(object, undefined, "ns", settings);
    expect(plan.ok && plan.value.operations).toEqual([
      { op: "remove", path: "/spec/template/metadata/annotations/asya.sh~1injected" },
    ]);
  });

  it("ignores a workload without asya annotations", () => {
    const plan = planWorkloadAdmission(workload({ "team/owner": "ml" }), undefined, "ns", settings);
    expect(plan).toEqual({ ok: true, value: { config: undefined, operations: [], warnings: [] } });
  });

  it("copies nothing without an actor", () => {
    const plan = planWorkloadAdmission(workload({ "asya.sh/timeout": "10m" }), undefined, "ns", settings);
    expect(plan.ok && plan.value.operations).toEqual([]);
    expect(plan.ok && plan.value.config).toBeUndefined();
    expect(plan.ok && plan.value.warnings).toEqual(["Annotations asya.sh/timeout have no effect without asya.sh/actor"]);
  });

  it("copies nothing into an existing template map without an actor", () => {
    const object = workload({ "asya.sh/timeout": "10m", "asya.sh/handler": "m.f" }, { "team/owner": "ml" });
    const plan = planWorkloadAdmission(object, undefined, "ns", settings);
    expect(plan.ok && plan.value.operations).toEqual([]);
  });

  it("removes copied keys when the actor is removed", () => {
    const before = workload({ "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/timeout": "10m" });
    const after = workload(
      { "asya.sh/handler": "m.f", "asya.sh/timeout": "20m" },
      { "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/timeout": "10m" },
    );
    const plan = planWorkloadAdmission(after, before, "ns", settings);
    expect(plan.ok && plan.value.config).toBeUndefined();
    // The actor key goes, so new pods are not injected; the changed timeout is not copied.
    expect(plan.ok && plan.value.operations).toEqual([
      { op: "remove", path: "/spec/template/metadata/annotations/asya.sh~1actor" },
    ]);
  });

  it("denies a template without a handler", () => {
    const plan = planWorkloadAdmission(workload({ "asya.sh/actor": "a" }), undefined, "ns", settings);
    expect(plan).toEqual({
      ok: false,
      error: ['Missing handler: set annotation asya.sh/handler or env ASYA_HANDLER in container "main"'],
    });
  });

  it("denies a workload without a pod template", () => {
    const plan = planWorkloadAdmission({ metadata: { annotations: { "asya.sh/actor": "a" } } }, undefined, "ns", settings);
    expect(plan).toEqual({
      ok: false,
      error: ["Invalid workload: expected spec.template.spec with the pod's containers, found nothing"],
    });
  });

  it("denies bad annotations with every error", () => {
    const plan = planWorkloadAdmission(
      workload({ "asya.sh/actor": "a", "asya.sh/handler": "m.f", "asya.sh/queue-length": "0", "asya.sh/scalng": "none" }),
      undefined,
      "ns",
      settings,
    );
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.error).toEqual([
      'Invalid annotation asya.sh/queue-length: expected a whole number of at least 1, found "0"',
      'Unknown annotation asya.sh/scalng: expected one of the known asya.sh/ keys (did you mean asya.sh/scaling?), found "none"',
    ]);
  });
});
