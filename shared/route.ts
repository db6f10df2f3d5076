import {
  type EnvelopeError,
  envelopeError,
  type Route,
} from "./envelope-types.ts";
import { err, ok, type Result } from "./result.ts";

/**
 * Moves a route one actor forward: the current actor joins `prev`, the
 * first of `next` becomes `curr`, and `curr` is `""` when `next` was empty.
 * Returns a new route and leaves the argument unchanged.
 */
export function shiftRoute(route: Route): Route {
  return {
    prev: route.curr === "" ? [...route.prev] : [...route.prev, route.curr],
    curr: route.next[0] ?? "",
    next: route.next.slice(1),
  };
}

/** Tells whether the route has no actor left. */
export function isRouteDone(route: Route): boolean {
  return route.curr === "" && route.next.length === 0;
}

const REWRITE_CONTEXT = "Invalid route rewrite";

/**
 * Checks the route a handler returned against the one it received, before
 * shifting: a handler may replace `next` freely but may not change `prev`
 * or `curr`.
 */
export function checkRouteRewrite(
  before: Route,
  after: Route,
): Result<Route, EnvelopeError> {
  if (!sameActors(before.prev, after.prev)) {
    return err(rewriteError("route.prev", before.prev, after.prev));
  }
  if (before.curr !== after.curr) {
    return err(rewriteError("route.curr", before.curr, after.curr));
  }
  return ok(after);
}

/**
 * Checks a route that the runtime returned already shifted against the
 * route the envelope arrived with. Its `prev` must be the old `prev` plus
 * the old `curr`. Its `curr` and `next` are free, because they come from the
 * `next` the handler chose.
 */
export function checkShiftedRoute(
  before: Route,
  shifted: Route,
): Result<Route, EnvelopeError> {
  const expectedPrev = before.curr === ""
    ? before.prev
    : [...before.prev, before.curr];
  if (!sameActors(expectedPrev, shifted.prev)) {
    return err(rewriteError("route.prev", expectedPrev, shifted.prev));
  }
  return ok(shifted);
}

/**
 * Returns the id and parent id of fan-out frame `index`: frame 0 keeps the
 * id (and has no new parent), frame i > 0 gets `{id}-{i}` with
 * `parent_id = id`.
 */
export function fanOutId(
  id: string,
  index: number,
): { id: string; parent_id?: string } {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(
      `Invalid fan-out index: expected a non-negative integer, found ${index}`,
    );
  }
  if (index === 0) return { id };
  return { id: `${id}-${index}`, parent_id: id };
}

function sameActors(left: string[], right: string[]): boolean {
  return left.length === right.length &&
    left.every((actor, index) => actor === right[index]);
}

function rewriteError(
  field: string,
  expected: string[] | string,
  found: string[] | string,
): EnvelopeError {
  const error = envelopeError(
    field,
    JSON.stringify(expected),
    JSON.stringify(found),
    REWRITE_CONTEXT,
  );
  return {
    ...error,
    message: `${error.message} because a handler may change only route.next`,
  };
}
