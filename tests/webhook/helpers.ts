/**
 * Test helpers for the webhook: an AdmissionReview builder, a strict
 * RFC 6902 applier for the operations the webhook emits, and a config.
 */
import type { WebhookConfig } from "../../webhook/config.ts";

export const TEST_CONFIG: WebhookConfig = {
  port: 8443,
  certDir: "/etc/asya/tls",
  sidecarImage: "registry.example/asya-sidecar:0.1.0",
  sidecarPullPolicy: "IfNotPresent",
  s3Bucket: "asya-claims",
  awsRegion: "us-east-1",
  sqsEndpoint: undefined,
  s3Endpoint: undefined,
  claimCheckThresholdBytes: 262_144,
  kedaAuthKind: "ClusterTriggerAuthentication",
  kedaAuthName: "asya-aws",
  createQueues: true,
  nativeSidecar: "auto",
  resyncIntervalMs: 300_000,
  logLevel: "error",
  kubernetesUrl: undefined,
  kubernetesTokenFile: "/nonexistent/token",
  kubernetesCaFile: "/nonexistent/ca.crt",
};

const GROUPS: Record<string, string> = {
  Pod: "",
  Deployment: "apps",
  StatefulSet: "apps",
  Job: "batch",
  CronJob: "batch",
  Service: "",
};

/** Builds an admission.k8s.io/v1 AdmissionReview for an object. */
export function reviewOf(
  object: Record<string, unknown>,
  options: { uid?: string; operation?: string; oldObject?: unknown; dryRun?: boolean; namespace?: string } = {},
): Record<string, unknown> {
  const kind = String(object.kind);
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: options.uid ?? "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: { group: GROUPS[kind] ?? "", version: "v1", kind },
      resource: { group: GROUPS[kind] ?? "", version: "v1", resource: `${kind.toLowerCase()}s` },
      namespace: options.namespace ?? (metadata.namespace as string | undefined) ?? "default",
      name: metadata.name ?? "",
      operation: options.operation ?? "CREATE",
      userInfo: { username: "admin" },
      object,
      oldObject: options.oldObject ?? null,
      dryRun: options.dryRun ?? false,
    },
  };
}

/** Posts a review to the app and returns the parsed response body and status. */
export async function admit(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  review: unknown,
): Promise<{ status: number; body: any }> {
  const response = await app.request("/mutate", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof review === "string" ? review : JSON.stringify(review),
  });
  return { status: response.status, body: await response.json() };
}

/** Decodes the base64 JSON Patch of an AdmissionReview response; [] when absent. */
export function patchOf(body: any): PatchOp[] {
  const patch = body?.response?.patch;
  if (patch === undefined) return [];
  expectEqual(body.response.patchType, "JSONPatch");
  return JSON.parse(Buffer.from(patch, "base64").toString("utf8"));
}

export type PatchOp = { op: "add" | "replace" | "remove"; path: string; value?: unknown };

/**
 * Applies JSON Patch operations to a deep copy of `document`, strictly as
 * RFC 6902 says: the parent of every target must exist, `replace` and
 * `remove` need an existing target, and `-` appends to an array.
 */
export function applyPatch<T>(document: T, operations: PatchOp[]): T {
  const root = structuredClone(document) as unknown;
  for (const operation of operations) {
    const tokens = parsePointer(operation.path);
    if (tokens.length === 0) throw new Error(`Patch on the document root is not supported: ${operation.path}`);
    const parent = resolve(root, tokens.slice(0, -1), operation.path);
    const last = tokens[tokens.length - 1];
    if (Array.isArray(parent)) {
      const index = last === "-" ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) {
        throw new Error(`Invalid array index ${last} in ${operation.path}`);
      }
      if (operation.op === "add") parent.splice(index, 0, structuredClone(operation.value));
      else if (index >= parent.length) throw new Error(`No element at ${operation.path}`);
      else if (operation.op === "replace") parent[index] = structuredClone(operation.value);
      else parent.splice(index, 1);
    } else if (typeof parent === "object" && parent !== null) {
      const target = parent as Record<string, unknown>;
      if (operation.op !== "add" && !(last in target)) throw new Error(`No member at ${operation.path}`);
      if (operation.op === "remove") delete target[last];
      else target[last] = structuredClone(operation.value);
    } else {
      throw new Error(`Parent of ${operation.path} is not a container`);
    }
  }
  return root as T;
}

function parsePointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new Error(`Invalid JSON Pointer ${path}`);
  return path.slice(1).split("/").map((token) => token.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function resolve(root: unknown, tokens: string[], path: string): unknown {
  let node = root;
  for (const token of tokens) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (typeof node === "object" && node !== null) node = (node as Record<string, unknown>)[token];
    else node = undefined;
    if (node === undefined) throw new Error(`Missing parent for ${path} at token ${token}`);
  }
  return node;
}

function expectEqual(actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`Expected ${String(expected)}, found ${String(actual)}`);
}

/** Builds a minimal actor pod with extra annotations and spec fields. */
export function actorPod(annotations: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "summarize-7d9f",
      namespace: "pipelines",
      annotations: { "asya.sh/actor": "summarize", "asya.sh/handler": "app.handlers.summarize", ...annotations },
    },
    spec: {
      containers: [{ name: "main", image: "python:3.11-slim", command: ["python", "serve.py"], args: ["--port", "80"] }],
      ...extra,
    },
  };
}
