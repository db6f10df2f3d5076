/**
 * Outcome of an operation that can fail on bad input: either a value or an
 * error, never both. Pure code in shared/ returns this instead of throwing,
 * so callers on Deno and Node handle bad input the same way.
 */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

/** Wraps a successful value. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** Wraps an error. */
export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
