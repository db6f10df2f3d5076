// RBAC of the webhook must cover exactly the Kubernetes API calls the
// webhook makes. A missing verb fails at run time in a cluster, and an
// extra one is privilege that no call uses. The test finds which KubernetesApi
// methods webhook/ calls, runs each against a recording fetch to see the
// HTTP requests it sends, turns those into RBAC permissions, and compares
// them with the ClusterRole.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { HttpKubernetesApi, type KubernetesApi } from "../../webhook/kubernetes.ts";
import { buildKustomization, findObject, REPO_ROOT } from "./kustomize-build.ts";

/** One HTTP request to the API server. */
interface ApiRequest {
  method: string;
  path: string;
  contentType?: string;
}

/**
 * Returns the RBAC permissions (`group/resource:verb`) an API request needs,
 * following the request attributes the API server derives from a URL, or
 * `nonResource:PATH` for paths outside /api and /apis.
 */
export function requiredPermissions(request: ApiRequest): string[] {
  const url = new URL(request.path, "https://kubernetes.invalid");
  const parts = url.pathname.split("/").filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === "api") {
    group = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis") {
    group = parts[1];
    rest = parts.slice(3);
  } else {
    return [`nonResource:${url.pathname}`];
  }
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, subresource] = rest;
  const fullResource = subresource === undefined ? resource : `${resource}/${subresource}`;
  const named = name !== undefined;
  const watch = url.searchParams.get("watch") === "true";

  const verbs: Record<string, string[]> = {
    GET: [getVerb(named, watch)],
    POST: ["create"],
    PUT: ["update"],
    // Server-side apply creates a missing object, which is authorized as create too.
    PATCH: request.contentType === "application/apply-patch+yaml" ? ["patch", "create"] : ["patch"],
    DELETE: [named ? "delete" : "deletecollection"],
  };
  const verbList = verbs[request.method];
  if (verbList === undefined) throw new Error(`Unexpected HTTP method ${request.method} for ${request.path}`);
  return verbList.map((verb) => `${group}/${fullResource}:${verb}`);
}

function getVerb(named: boolean, watch: boolean): string {
  if (named) return "get";
  return watch ? "watch" : "list";
}

// How to call each KubernetesApi method once with plausible arguments. A
// method missing here fails the test, so a new API call cannot skip RBAC.
const CALLS: Record<string, (api: KubernetesApi) => Promise<unknown>[]> = {
  getVersion: (api) => [api.getVersion()],
  applyScaledObject: (api) => [
    // deno-lint-ignore no-explicit-any
    api.applyScaledObject({ metadata: { name: "n", namespace: "ns", labels: {} } } as any),
  ],
  getScaledObject: (api) => [api.getScaledObject("ns", "n")],
  deleteScaledObject: (api) => [api.deleteScaledObject("ns", "n", "uid-1")],
  listScaledObjects: (api) => [api.listScaledObjects("app.kubernetes.io/managed-by=asya-webhook")],
  listWorkloads: (api) => [api.listWorkloads("Deployment"), api.listWorkloads("StatefulSet")],
  getWorkloadUid: (api) => [
    api.getWorkloadUid("Deployment", "ns", "n"),
    api.getWorkloadUid("StatefulSet", "ns", "n"),
  ],
};

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

function interfaceMethods(source: string): string[] {
  const body = source.match(/export interface KubernetesApi \{([\s\S]*?)\n\}/)?.[1];
  if (body === undefined) throw new Error("Missing interface KubernetesApi in webhook/kubernetes.ts");
  return [...body.matchAll(/^\s+(\w+)\(/gm)].map((match) => match[1]);
}

async function recordRequests(methods: string[]): Promise<ApiRequest[]> {
  const requests: ApiRequest[] = [];
  const fakeFetch = (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    requests.push({
      method: init?.method ?? "GET",
      path: url.pathname + url.search,
      contentType: headers.get("content-type") ?? undefined,
    });
    const body = url.pathname === "/version"
      ? { major: "1", minor: "30", gitVersion: "v1.30.0" }
      : { metadata: { uid: "uid-1", name: "n", namespace: "ns" }, items: [] };
    return Promise.resolve(new Response(JSON.stringify(body), { status: 200 }));
  };
  const api = new HttpKubernetesApi({
    baseUrl: "https://kubernetes.invalid",
    token: () => Promise.resolve("token"),
    fetch: fakeFetch as typeof fetch,
  });
  for (const method of methods) {
    const call = CALLS[method];
    if (call === undefined) throw new Error(`No call recipe for KubernetesApi.${method}: add one to tests/install/rbac.test.ts`);
    await Promise.all(call(api));
  }
  return requests;
}

function grantedPermissions(rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>): string[] {
  return rules.flatMap((rule) =>
    rule.apiGroups.flatMap((group) =>
      rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource}:${verb}`))
    )
  );
}

describe("requiredPermissions", () => {
  const cases: Array<[string, ApiRequest, string[]]> = [
    ["named get", { method: "GET", path: "/apis/apps/v1/namespaces/a/deployments/d" }, ["apps/deployments:get"]],
    ["cluster-wide list", { method: "GET", path: "/apis/apps/v1/deployments?limit=500" }, ["apps/deployments:list"]],
    ["watch", { method: "GET", path: "/api/v1/namespaces/a/pods?watch=true" }, ["/pods:watch"]],
    ["core create", { method: "POST", path: "/api/v1/namespaces/a/events" }, ["/events:create"]],
    ["subresource", { method: "PATCH", path: "/apis/apps/v1/namespaces/a/deployments/d/scale" }, ["apps/deployments/scale:patch"]],
    [
      "server-side apply",
      { method: "PATCH", path: "/apis/keda.sh/v1alpha1/namespaces/a/scaledobjects/s", contentType: "application/apply-patch+yaml" },
      ["keda.sh/scaledobjects:patch", "keda.sh/scaledobjects:create"],
    ],
    ["delete", { method: "DELETE", path: "/apis/keda.sh/v1alpha1/namespaces/a/scaledobjects/s" }, ["keda.sh/scaledobjects:delete"]],
    ["non-resource", { method: "GET", path: "/version" }, ["nonResource:/version"]],
  ];
  it.each(cases)("maps %s", (_name, request, expected) => {
    expect(requiredPermissions(request)).toEqual(expected);
  });

  it("rejects an unknown method", () => {
    expect(() => requiredPermissions({ method: "TRACE", path: "/api/v1/pods" })).toThrow("Unexpected HTTP method TRACE");
  });
});

describe("webhook ClusterRole", () => {
  const webhookDir = join(REPO_ROOT, "webhook");
  const clientFile = join(webhookDir, "kubernetes.ts");
  const methods = interfaceMethods(readFileSync(clientFile, "utf8"));
  const otherSources = sourceFiles(webhookDir).filter((path) => path !== clientFile);
  const calledMethods = methods.filter((method) =>
    otherSources.some((path) => new RegExp(`\\.${method}\\(`).test(readFileSync(path, "utf8")))
  );

  it("keeps every API path in the client module", () => {
    const offenders = otherSources.filter((path) => /["'`]\/apis?\//.test(readFileSync(path, "utf8")));
    expect(offenders.map((path) => relative(REPO_ROOT, path))).toEqual([]);
  });

  it("finds the client calls of the webhook", () => {
    expect(calledMethods).toContain("applyScaledObject");
    expect(calledMethods).toContain("listWorkloads");
  });

  it("grants exactly the permissions those calls need", async () => {
    const requests = await recordRequests(calledMethods);
    const needed = new Set(requests.flatMap(requiredPermissions).filter((p) => !p.startsWith("nonResource:")));
    const role = findObject(buildKustomization(join(REPO_ROOT, "kustomize/base")), "ClusterRole", "asya-webhook");
    const granted = grantedPermissions(role.rules);
    expect(new Set(granted).size).toBe(granted.length);
    expect([...granted].sort()).toEqual([...needed].sort());
  });

  it("needs only public non-resource paths", async () => {
    const requests = await recordRequests(calledMethods);
    const nonResource = requests.flatMap(requiredPermissions).filter((p) => p.startsWith("nonResource:"));
    // system:public-info-viewer grants /version, /healthz, /livez and /readyz to every client.
    for (const permission of nonResource) {
      expect(["nonResource:/version", "nonResource:/healthz", "nonResource:/livez", "nonResource:/readyz"]).toContain(permission);
    }
  });

  it("grants nothing beyond workloads and ScaledObjects", () => {
    const role = findObject(buildKustomization(join(REPO_ROOT, "kustomize/base")), "ClusterRole", "asya-webhook");
    for (const rule of role.rules) {
      expect(rule.resources).not.toContain("*");
      expect(rule.verbs).not.toContain("*");
      expect(rule.resources).not.toContain("secrets");
      expect(rule.nonResourceURLs).toBeUndefined();
    }
  });
});
