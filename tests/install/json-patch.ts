// Applies RFC 6902 JSON Patch operations (add, remove, replace) to a copy
// of a document, so tests can see the object a webhook's patch produces.

/** One JSON Patch operation as the webhook emits it. */
export interface PatchOperation {
  op: string;
  path: string;
  value?: unknown;
}

// RFC 6901: "~1" is "/" and "~0" is "~", decoded in that order.
function tokens(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`Invalid JSON pointer: expected a leading "/", found "${pointer}"`);
  return pointer.slice(1).split("/").map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Returns a patched deep copy of `document`; throws on a path that does not resolve. */
export function applyJsonPatch<T>(document: T, operations: PatchOperation[]): T {
  const root = structuredClone(document) as unknown;
  for (const operation of operations) {
    const path = tokens(operation.path);
    const last = path.pop();
    if (last === undefined) throw new Error(`Unsupported JSON Patch on the document root: ${operation.op}`);
    // deno-lint-ignore no-explicit-any
    let parent: any = root;
    for (const token of path) {
      parent = Array.isArray(parent) ? parent[Number(token)] : parent?.[token];
      if (parent === undefined) throw new Error(`JSON Patch path ${operation.path} does not resolve at "${token}"`);
    }
    if (Array.isArray(parent)) {
      const index = last === "-" ? parent.length : Number(last);
      if (operation.op === "add") parent.splice(index, 0, operation.value);
      else if (operation.op === "replace") parent[index] = operation.value;
      else if (operation.op === "remove") parent.splice(index, 1);
      else throw new Error(`Unsupported JSON Patch op ${operation.op}`);
    } else {
      if (operation.op === "add" || operation.op === "replace") parent[last] = operation.value;
      else if (operation.op === "remove") delete parent[last];
      else throw new Error(`Unsupported JSON Patch op ${operation.op}`);
    }
  }
  return root as T;
}
