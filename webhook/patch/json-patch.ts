/**
 * RFC 6902 JSON Patch operations and RFC 6901 JSON Pointer building, as
 * the admission response carries them.
 */

/** One JSON Patch operation; the webhook emits only these three. */
export type PatchOperation =
  | { op: "add"; path: string; value: unknown }
  | { op: "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

/**
 * Escapes one reference token for a JSON Pointer. RFC 6901 section 3
 * requires `~` first (as `~0`), then `/` (as `~1`), so `a/b~c` becomes
 * `a~1b~0c` and decoding cannot confuse the two.
 */
export function escapePointerToken(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Joins reference tokens into a JSON Pointer: `("spec", "volumes", 0)` -> `/spec/volumes/0`. */
export function pointer(...tokens: Array<string | number>): string {
  return tokens.map((token) => `/${escapePointerToken(String(token))}`).join("");
}

/**
 * Joins a base pointer (already escaped, `""` for the document root) with
 * further tokens.
 */
export function childPointer(base: string, ...tokens: Array<string | number>): string {
  return base + pointer(...tokens);
}
