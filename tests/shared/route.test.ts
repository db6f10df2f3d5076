import { describe, expect, it } from "vitest";
import {
  checkRouteRewrite,
  checkShiftedRoute,
  fanOutId,
  isRouteDone,
  type Route,
  shiftRoute,
} from "../../shared/envelope.ts";

describe("shiftRoute", () => {
  it("moves curr into prev", () => {
    expect(shiftRoute({ prev: ["a"], curr: "b", next: ["c", "d"] })).toEqual({
      prev: ["a", "b"],
      curr: "c",
      next: ["d"],
    });
  });

  it("ends the route after the last actor", () => {
    expect(shiftRoute({ prev: ["a"], curr: "b", next: [] })).toEqual({
      prev: ["a", "b"],
      curr: "",
      next: [],
    });
  });

  it("leaves a finished route unchanged", () => {
    expect(shiftRoute({ prev: ["a"], curr: "", next: [] })).toEqual({
      prev: ["a"],
      curr: "",
      next: [],
    });
  });

  it("does not mutate its argument", () => {
    const route: Route = { prev: ["a"], curr: "b", next: ["c"] };
    shiftRoute(route);
    expect(route).toEqual({ prev: ["a"], curr: "b", next: ["c"] });
  });
});

describe("isRouteDone", () => {
  it("is true only without curr and next", () => {
    expect(isRouteDone({ prev: ["a"], curr: "", next: [] })).toBe(true);
    expect(isRouteDone({ prev: [], curr: "a", next: [] })).toBe(false);
    expect(isRouteDone({ prev: [], curr: "", next: ["a"] })).toBe(false);
  });
});

describe("checkRouteRewrite", () => {
  const before: Route = { prev: ["a"], curr: "b", next: ["c"] };

  it("allows replacing next", () => {
    const after: Route = { prev: ["a"], curr: "b", next: ["x", "y", "z"] };
    expect(checkRouteRewrite(before, after)).toEqual({
      ok: true,
      value: after,
    });
  });

  it("allows emptying next", () => {
    expect(checkRouteRewrite(before, { prev: ["a"], curr: "b", next: [] }).ok)
      .toBe(true);
  });

  it("rejects a changed prev", () => {
    const result = checkRouteRewrite(before, {
      prev: ["a", "x"],
      curr: "b",
      next: ["c"],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.field).toBe("route.prev");
    expect(result.error.message).toBe(
      'Invalid route rewrite: route.prev must be ["a"], found ["a","x"] because a handler may change only route.next',
    );
  });

  it("rejects a changed curr", () => {
    const result = checkRouteRewrite(before, {
      prev: ["a"],
      curr: "c",
      next: [],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.field).toBe("route.curr");
    expect(result.error.expected).toBe('"b"');
    expect(result.error.found).toBe('"c"');
  });
});

describe("checkShiftedRoute", () => {
  const before: Route = { prev: ["a"], curr: "b", next: ["c"] };

  it("accepts the shifted route with a new next", () => {
    expect(
      checkShiftedRoute(before, { prev: ["a", "b"], curr: "x", next: ["y"] })
        .ok,
    ).toBe(true);
  });

  it("accepts the plain shift", () => {
    expect(checkShiftedRoute(before, shiftRoute(before)).ok).toBe(true);
  });

  it("rejects an unshifted prev", () => {
    const result = checkShiftedRoute(before, {
      prev: ["a"],
      curr: "c",
      next: [],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.field).toBe("route.prev");
    expect(result.error.message).toBe(
      'Invalid route rewrite: route.prev must be ["a","b"], found ["a"] because a handler may change only route.next',
    );
  });
});

describe("fanOutId", () => {
  it("keeps the id for frame 0", () => {
    expect(fanOutId("env-1", 0)).toEqual({ id: "env-1" });
  });

  it("suffixes later frames and sets parent_id", () => {
    expect(fanOutId("env-1", 1)).toEqual({ id: "env-1-1", parent_id: "env-1" });
    expect(fanOutId("env-1", 12)).toEqual({
      id: "env-1-12",
      parent_id: "env-1",
    });
  });

  it("rejects a negative or fractional index", () => {
    expect(() => fanOutId("a", -1)).toThrow(
      "Invalid fan-out index: expected a non-negative integer, found -1",
    );
    expect(() => fanOutId("a", 1.5)).toThrow(RangeError);
  });
});
