import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { renderScaledObjectsYaml, settingsFromEnv } from "../../scripts/render.ts";
import { DENO, REPO_ROOT } from "./deno-process.ts";

const settings = { awsRegion: "eu-west-1", authKind: "TriggerAuthentication" as const, authName: "aws-irsa" };

const input = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: summarize
  namespace: pipelines
  annotations:
    asya.sh/actor: summarize
    asya.sh/handler: app.summarize
    asya.sh/max-replicas: "4"
spec:
  template:
    spec:
      containers: [{name: main, image: python:3.11}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: embed}
    spec:
      template:
        metadata:
          annotations: {asya.sh/actor: embed, asya.sh/handler: app.embed}
        spec:
          containers: [{name: main, image: python:3.11}]
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: manual, annotations: {asya.sh/actor: manual, asya.sh/scaling: none}}
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
`;

describe("renderScaledObjectsYaml", () => {
  it("renders one ScaledObject per scaled actor", () => {
    const rendered = renderScaledObjectsYaml(input, settings);
    expect(rendered.ok).toBe(true);
    if (!rendered.ok) return;
    const documents = parseAllDocuments(rendered.value).map((document) => document.toJS());
    expect(documents.map((document) => `${document.metadata.namespace}/${document.metadata.name}`)).toEqual([
      "pipelines/summarize",
      "default/embed",
    ]);
    for (const document of documents) expect(() => new ScaledObject(document).validate()).not.toThrow();
    expect(documents[0].spec.maxReplicaCount).toBe(4);
    expect(documents[0].spec.triggers[0].metadata.queueURL).toBe("asya-pipelines-summarize");
    expect(documents[0].spec.triggers[0].authenticationRef).toEqual({ kind: "TriggerAuthentication", name: "aws-irsa" });
    expect(documents[1].spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "StatefulSet", name: "embed" });
    expect(documents[0].metadata.ownerReferences).toBeUndefined();
  });

  it("reports bad annotations with the object", () => {
    const bad = "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: x, annotations: {asya.sh/actor: x, asya.sh/min-replicas: lots}}\n";
    expect(renderScaledObjectsYaml(bad, settings)).toEqual({
      ok: false,
      error: ['Deployment default/x: Invalid annotation asya.sh/min-replicas: expected a whole number of at least 0, found "lots"'],
    });
  });

  it("reports invalid YAML", () => {
    const result = renderScaledObjectsYaml("kind: [", settings);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]).toMatch(/^Invalid YAML in document 1: /);
  });
});

describe("settingsFromEnv", () => {
  it("applies webhook defaults", () => {
    expect(settingsFromEnv({})).toEqual({
      ok: true,
      value: { awsRegion: "us-east-1", sqsEndpoint: undefined, authKind: "ClusterTriggerAuthentication", authName: "asya-aws" },
    });
  });

  it("rejects an unknown auth kind", () => {
    expect(settingsFromEnv({ ASYA_KEDA_AUTH_KIND: "Secret" })).toEqual({
      ok: false,
      error: 'Invalid environment variable ASYA_KEDA_AUTH_KIND: expected TriggerAuthentication or ClusterTriggerAuthentication, found "Secret"',
    });
  });
});

describe("render command", () => {
  it("reads stdin and writes YAML", () => {
    const result = spawnSync(DENO, ["run", "--allow-read", "--allow-env", "scripts/render.ts"], {
      cwd: REPO_ROOT,
      input,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, ASYA_AWS_REGION: "ap-south-1", ASYA_SQS_ENDPOINT: "http://127.0.0.1:4566" },
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const documents = parseAllDocuments(result.stdout).map((document) => document.toJS());
    expect(documents).toHaveLength(2);
    expect(documents[0].spec.triggers[0].metadata.awsRegion).toBe("ap-south-1");
    expect(documents[0].spec.triggers[0].metadata.awsEndpoint).toBe("http://127.0.0.1:4566");
  });

  it("exits 1 on bad annotations", () => {
    const result = spawnSync(DENO, ["run", "--allow-read", "--allow-env", "scripts/render.ts"], {
      cwd: REPO_ROOT,
      input: "kind: Deployment\nmetadata: {name: x, annotations: {asya.sh/actor: x, asya.sh/scaling: hpa}}\n",
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Invalid annotation asya.sh/scaling: expected keda or none");
  });
});
