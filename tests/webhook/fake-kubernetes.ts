/**
 * A fake Kubernetes API server on 127.0.0.1 that records every request and
 * keeps ScaledObjects, Deployments and StatefulSets in memory. It serves
 * only the calls the webhook makes.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  authorization: string | undefined;
  body: any;
}

export interface FakeKubernetes {
  url: string;
  requests: RecordedRequest[];
  scaledObjects: Map<string, any>;
  workloads: Map<string, any>;
  /** HTTP status returned for every ScaledObject apply, for failure tests; 0 means normal. */
  failApplyWith: number;
  version: { major: string; minor: string; gitVersion: string };
  stop(): Promise<void>;
}

let uidCounter = 0;

export async function startFakeKubernetes(): Promise<FakeKubernetes> {
  const fake: Omit<FakeKubernetes, "url" | "stop"> = {
    requests: [],
    scaledObjects: new Map(),
    workloads: new Map(),
    failApplyWith: 0,
    version: { major: "1", minor: "30+", gitVersion: "v1.30.2-eks-1234" },
  };

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const text = await readBody(request);
    const recorded: RecordedRequest = {
      method: request.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: request.headers["content-type"],
      authorization: request.headers.authorization,
      body: text === "" ? undefined : JSON.parse(text),
    };
    fake.requests.push(recorded);
    const [status, body] = route(fake, recorded);
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** Adds a workload to the fake store with a uid, as the API server would. */
export function storeWorkload(fake: FakeKubernetes, workload: any): any {
  const stored = structuredClone(workload);
  stored.metadata.uid ??= `uid-${++uidCounter}`;
  fake.workloads.set(`${stored.kind}/${stored.metadata.namespace}/${stored.metadata.name}`, stored);
  return stored;
}

function route(fake: Omit<FakeKubernetes, "url" | "stop">, request: RecordedRequest): [number, unknown] {
  const { method, path } = request;
  if (method === "GET" && path === "/version") return [200, fake.version];

  const scaled = path.match(/^\/apis\/keda\.sh\/v1alpha1\/namespaces\/([^/]+)\/scaledobjects\/([^/]+)$/);
  if (scaled) {
    const key = `${scaled[1]}/${scaled[2]}`;
    if (method === "PATCH") {
      if (fake.failApplyWith !== 0) return [fake.failApplyWith, { kind: "Status", message: "injected failure" }];
      const existing = fake.scaledObjects.get(key);
      const stored = structuredClone(request.body);
      stored.metadata.uid = existing?.metadata.uid ?? `so-uid-${++uidCounter}`;
      fake.scaledObjects.set(key, stored);
      return [200, stored];
    }
    const existing = fake.scaledObjects.get(key);
    if (existing === undefined) return [404, { kind: "Status", message: `scaledobjects "${scaled[2]}" not found` }];
    if (method === "GET") return [200, existing];
    if (method === "DELETE") {
      if (request.body?.preconditions?.uid !== undefined && request.body.preconditions.uid !== existing.metadata.uid) {
        return [409, { kind: "Status", message: "uid precondition failed" }];
      }
      fake.scaledObjects.delete(key);
      return [200, { kind: "Status", status: "Success" }];
    }
  }

  if (method === "GET" && path === "/apis/keda.sh/v1alpha1/scaledobjects") {
    const [labelKey, labelValue] = (request.query.labelSelector ?? "").split("=");
    const items = [...fake.scaledObjects.values()].filter((item) => !labelKey || item.metadata.labels?.[labelKey] === labelValue);
    return [200, { kind: "ScaledObjectList", metadata: {}, items }];
  }

  const list = path.match(/^\/apis\/apps\/v1\/(deployments|statefulsets)$/);
  if (method === "GET" && list) {
    const kind = list[1] === "deployments" ? "Deployment" : "StatefulSet";
    const items = [...fake.workloads.values()].filter((item) => item.kind === kind);
    return [200, { kind: `${kind}List`, metadata: {}, items }];
  }

  const single = path.match(/^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)$/);
  if (method === "GET" && single) {
    const kind = single[2] === "deployments" ? "Deployment" : "StatefulSet";
    const stored = fake.workloads.get(`${kind}/${single[1]}/${single[3]}`);
    return stored === undefined ? [404, { kind: "Status", message: "not found" }] : [200, stored];
  }
  return [404, { kind: "Status", message: `fake API server does not serve ${method} ${path}` }];
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}
