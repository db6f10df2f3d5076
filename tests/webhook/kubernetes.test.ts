import { describe, expect, it } from "vitest";
import { HttpKubernetesApi, KubernetesError } from "../../webhook/kubernetes.ts";

function apiWith(handler: (url: URL, init: RequestInit) => Response) {
  const calls: Array<{ url: URL; init: RequestInit }> = [];
  const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    calls.push({ url, init: init ?? {} });
    return handler(url, init ?? {});
  }) as typeof fetch;
  return { api: new HttpKubernetesApi({ baseUrl: "https://api.test", token: async () => "t", fetch: fetcher, pageSize: 2 }), calls };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

describe("HttpKubernetesApi", () => {
  it("follows continue tokens", async () => {
    const { api, calls } = apiWith((url) => {
      const token = url.searchParams.get("continue");
      if (token === null) return json(200, { items: [{ metadata: { name: "a" } }, { metadata: { name: "b" } }], metadata: { continue: "page2" } });
      return json(200, { items: [{ metadata: { name: "c" } }], metadata: { continue: "" } });
    });
    const workloads = await api.listWorkloads("StatefulSet");
    expect(workloads.map((workload) => workload.metadata?.name)).toEqual(["a", "b", "c"]);
    expect(workloads[0].kind).toBe("StatefulSet");
    expect(calls.map((call) => call.url.searchParams.get("limit"))).toEqual(["2", "2"]);
    expect(calls[1].url.searchParams.get("continue")).toBe("page2");
    expect(calls[0].url.pathname).toBe("/apis/apps/v1/statefulsets");
  });

  it("puts the Status message into errors", async () => {
    const { api } = apiWith(() => json(403, { kind: "Status", message: 'scaledobjects.keda.sh is forbidden: User "x" cannot patch' }));
    const failure = api.applyScaledObject({
      apiVersion: "keda.sh/v1alpha1",
      kind: "ScaledObject",
      metadata: { name: "a", namespace: "n", labels: {} },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "a" }, minReplicaCount: 0, maxReplicaCount: 1, pollingInterval: 1, cooldownPeriod: 0, triggers: [] },
    });
    await expect(failure).rejects.toBeInstanceOf(KubernetesError);
    await expect(failure).rejects.toThrow(
      'Kubernetes API PATCH /apis/keda.sh/v1alpha1/namespaces/n/scaledobjects/a failed with HTTP 403: scaledobjects.keda.sh is forbidden: User "x" cannot patch',
    );
  });

  it("rejects a version without numbers", async () => {
    const { api } = apiWith(() => json(200, { major: "", minor: "x" }));
    await expect(api.getVersion()).rejects.toThrow('Invalid /version response: expected numeric major and minor, found {"major":"","minor":"x"}');
  });

  it("sends the bearer token", async () => {
    const { api, calls } = apiWith(() => json(200, { metadata: { uid: "u-1" } }));
    expect(await api.getWorkloadUid("Deployment", "ns", "web")).toBe("u-1");
    expect((calls[0].init.headers as Record<string, string>).authorization).toBe("Bearer t");
    expect(calls[0].url.pathname).toBe("/apis/apps/v1/namespaces/ns/deployments/web");
  });
});
