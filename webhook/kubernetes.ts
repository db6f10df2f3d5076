/**
 * The small slice of the Kubernetes API that the webhook uses, behind an
 * interface so tests run against a fake API server on 127.0.0.1. The
 * implementation is plain `fetch` with a bearer token, which runs on Deno
 * and Node alike.
 */
import type { ScaledObject } from "../shared/scaled-object.ts";
import type { WorkloadLike } from "./patch/workload.ts";

/** Field manager name for server-side apply. */
export const FIELD_MANAGER = "asya-webhook";

/** Kubernetes version as `GET /version` returns it. */
export interface KubernetesVersion {
  major: number;
  minor: number;
  gitVersion: string;
}

/** A workload with its kind, as listed for resync. */
export interface ListedWorkload extends WorkloadLike {
  apiVersion: string;
  kind: "Deployment" | "StatefulSet";
}

/** Metadata of a ScaledObject as read back from the API server. */
export interface ScaledObjectInfo {
  name: string;
  namespace: string;
  uid: string;
  labels: Record<string, string>;
}

/** Kubernetes operations the webhook performs. */
export interface KubernetesApi {
  getVersion(): Promise<KubernetesVersion>;
  /** Creates or updates the ScaledObject by server-side apply. */
  applyScaledObject(scaledObject: ScaledObject): Promise<void>;
  /** Returns the ScaledObject's metadata, or undefined when it does not exist. */
  getScaledObject(namespace: string, name: string): Promise<ScaledObjectInfo | undefined>;
  /** Deletes the ScaledObject with that uid; a missing object is not an error. */
  deleteScaledObject(namespace: string, name: string, uid: string): Promise<void>;
  /** Lists ScaledObjects in all namespaces that match a label selector. */
  listScaledObjects(labelSelector: string): Promise<ScaledObjectInfo[]>;
  /** Lists Deployments or StatefulSets in all namespaces. */
  listWorkloads(kind: "Deployment" | "StatefulSet"): Promise<ListedWorkload[]>;
  /** Returns the uid of a Deployment or StatefulSet, or undefined when it does not exist. */
  getWorkloadUid(kind: "Deployment" | "StatefulSet", namespace: string, name: string): Promise<string | undefined>;
}

/** Error from the API server, with the HTTP status and the Status message. */
export class KubernetesError extends Error {
  constructor(readonly status: number, readonly method: string, readonly path: string, detail: string) {
    super(`Kubernetes API ${method} ${path} failed with HTTP ${status}: ${detail}`);
    this.name = "KubernetesError";
  }
}

/** Options of `HttpKubernetesApi`. */
export interface HttpKubernetesOptions {
  /** API server URL, for example `https://kubernetes.default.svc`. */
  baseUrl: string;
  /** Returns the bearer token; called per request because projected tokens rotate. */
  token: () => Promise<string | undefined>;
  /** Fetch function, for example one bound to a client that trusts the cluster CA. */
  fetch?: typeof fetch;
  /** Per-request timeout in milliseconds, default 10000. */
  timeoutMs?: number;
  /** Page size of list requests, default 500. */
  pageSize?: number;
}

const SCALED_OBJECTS = "/apis/keda.sh/v1alpha1";

// Bounds a list to this many pages, so a misbehaving server cannot make it loop forever.
const MAX_LIST_PAGES = 1_000;

/** `KubernetesApi` over HTTP with `fetch`. */
export class HttpKubernetesApi implements KubernetesApi {
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly pageSize: number;

  constructor(private readonly options: HttpKubernetesOptions) {
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.pageSize = options.pageSize ?? 500;
  }

  async getVersion(): Promise<KubernetesVersion> {
    const body = await this.request("GET", "/version") as { major?: string; minor?: string; gitVersion?: string };
    // Managed clusters report minors like "29+", so only the leading digits count.
    const major = Number.parseInt(body.major ?? "", 10);
    const minor = Number.parseInt(body.minor ?? "", 10);
    if (!Number.isFinite(major) || !Number.isFinite(minor)) {
      throw new Error(`Invalid /version response: expected numeric major and minor, found ${JSON.stringify(body)}`);
    }
    return { major, minor, gitVersion: body.gitVersion ?? `v${major}.${minor}` };
  }

  async applyScaledObject(scaledObject: ScaledObject): Promise<void> {
    const { namespace, name } = scaledObject.metadata;
    const path = `${scaledObjectPath(namespace, name)}?fieldManager=${FIELD_MANAGER}&force=true`;
    // JSON is valid YAML, so the apply patch body can be plain JSON.
    await this.request("PATCH", path, scaledObject, "application/apply-patch+yaml");
  }

  async getScaledObject(namespace: string, name: string): Promise<ScaledObjectInfo | undefined> {
    try {
      const body = await this.request("GET", scaledObjectPath(namespace, name));
      return toScaledObjectInfo(body);
    } catch (error) {
      if (error instanceof KubernetesError && error.status === 404) return undefined;
      throw error;
    }
  }

  async deleteScaledObject(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.request("DELETE", scaledObjectPath(namespace, name), {
        apiVersion: "v1",
        kind: "DeleteOptions",
        preconditions: { uid },
      });
    } catch (error) {
      if (error instanceof KubernetesError && error.status === 404) return;
      throw error;
    }
  }

  async listScaledObjects(labelSelector: string): Promise<ScaledObjectInfo[]> {
    const items = await this.list(`${SCALED_OBJECTS}/scaledobjects`, labelSelector);
    return items.map(toScaledObjectInfo);
  }

  async listWorkloads(kind: "Deployment" | "StatefulSet"): Promise<ListedWorkload[]> {
    const resource = kind === "Deployment" ? "deployments" : "statefulsets";
    const items = await this.list(`/apis/apps/v1/${resource}`);
    return items.map((item) => ({ ...(item as WorkloadLike), apiVersion: "apps/v1", kind }));
  }

  async getWorkloadUid(kind: "Deployment" | "StatefulSet", namespace: string, name: string): Promise<string | undefined> {
    const resource = kind === "Deployment" ? "deployments" : "statefulsets";
    const path = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${resource}/${encodeURIComponent(name)}`;
    try {
      const body = await this.request("GET", path) as { metadata?: { uid?: string } };
      return body.metadata?.uid;
    } catch (error) {
      if (error instanceof KubernetesError && error.status === 404) return undefined;
      throw error;
    }
  }

  private async list(path: string, labelSelector?: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let continueToken: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const query = new URLSearchParams({ limit: String(this.pageSize) });
      if (labelSelector !== undefined) query.set("labelSelector", labelSelector);
      if (continueToken !== undefined) query.set("continue", continueToken);
      const body = await this.request("GET", `${path}?${query}`) as {
        items?: unknown[];
        metadata?: { continue?: string };
      };
      items.push(...(body.items ?? []));
      continueToken = body.metadata?.continue || undefined;
      if (continueToken === undefined) return items;
    }
    throw new Error(`Listing ${path} did not finish within ${MAX_LIST_PAGES} pages`);
  }

  private async request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<unknown> {
    const headers: Record<string, string> = { accept: "application/json" };
    const token = await this.options.token();
    if (token !== undefined && token !== "") headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = contentType;

    const response = await this.fetch(`${this.options.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new KubernetesError(response.status, method, path.split("?")[0], statusMessage(text));
    }
    return text === "" ? {} : JSON.parse(text);
  }
}

function scaledObjectPath(namespace: string, name: string): string {
  return `${SCALED_OBJECTS}/namespaces/${encodeURIComponent(namespace)}/scaledobjects/${encodeURIComponent(name)}`;
}

function toScaledObjectInfo(item: unknown): ScaledObjectInfo {
  const metadata = (item as { metadata?: Record<string, unknown> }).metadata ?? {};
  return {
    name: String(metadata.name ?? ""),
    namespace: String(metadata.namespace ?? ""),
    uid: String(metadata.uid ?? ""),
    labels: (metadata.labels as Record<string, string> | undefined) ?? {},
  };
}

// The API server returns errors as a Status object, whose message is the useful part.
function statusMessage(text: string): string {
  try {
    const status = JSON.parse(text) as { message?: unknown };
    if (typeof status.message === "string") return status.message;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return text.slice(0, 200) || "empty response";
}
