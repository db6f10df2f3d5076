import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { nothingRenderedMessage, renderScaledObjectsYaml, RENDER_USAGE, settingsFromEnv } from "../../scripts/render.ts";
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
    const documents = parseAllDocuments(rendered.value.yaml).map((document) => document.toJS());
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

  it("counts what it read and rendered", () => {
    const rendered = renderScaledObjectsYaml(input, settings);
    expect(rendered.ok && rendered.value).toMatchObject({ documentCount: 2, objectCount: 4, actorCount: 3, renderedCount: 2 });
  });

  it("counts an empty input as no documents", () => {
    for (const text of ["", "\n", "# only a comment\n", "---\n---\n"]) {
      expect(renderScaledObjectsYaml(text, settings)).toEqual({
        ok: true,
        value: { yaml: "", documentCount: 0, objectCount: 0, actorCount: 0, renderedCount: 0 },
      });
    }
  });

  it("rejects a document that is not an object", () => {
    expect(renderScaledObjectsYaml("kind: Service\n---\nhello\n", settings)).toEqual({
      ok: false,
      error: ["Invalid document 2: expected a Kubernetes object, found string"],
    });
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

describe("nothingRenderedMessage", () => {
  const counts = { yaml: "", documentCount: 1, objectCount: 1, actorCount: 0, renderedCount: 0 };

  it("fails on empty input", () => {
    expect(nothingRenderedMessage({ ...counts, documentCount: 0, objectCount: 0 })).toEqual({
      error: true,
      message: "render: stdin contains no YAML documents: expected Deployment or StatefulSet YAML, as in deno task render < deployment.yaml",
    });
  });

  it("notes input without actors", () => {
    expect(nothingRenderedMessage(counts)).toEqual({
      error: false,
      message: "render: read 1 object(s), none is a Deployment or StatefulSet with asya.sh/actor; nothing to render",
    });
  });

  it("notes actors without scaling", () => {
    expect(nothingRenderedMessage({ ...counts, objectCount: 3, actorCount: 2 })).toEqual({
      error: false,
      message: "render: read 3 object(s) with 2 actor(s), all with asya.sh/scaling: none; nothing to render",
    });
  });

  it("stays quiet when something was rendered", () => {
    expect(nothingRenderedMessage({ ...counts, actorCount: 1, renderedCount: 1 })).toBeUndefined();
  });
});

describe("settingsFromEnv", () => {
  it("applies webhook defaults", () => {
    expect(settingsFromEnv({})).toEqual({
      ok: true,
      value: { awsRegion: "us-east-1", sqsEndpoint: undefined, authKind: "ClusterTriggerAuthentication", authName: "asya-aws" },
    });
  });

  it("rejects a malformed AWS region", () => {
    expect(settingsFromEnv({ ASYA_AWS_REGION: "not a region" })).toEqual({
      ok: false,
      error: "Invalid environment variable ASYA_AWS_REGION: expected an AWS region of lowercase letters, digits and hyphens " +
        'such as us-east-1, eu-central-2 or us-gov-west-1, found "not a region"',
    });
    expect(settingsFromEnv({ ASYA_AWS_REGION: "us-gov-west-1" })).toMatchObject({ ok: true, value: { awsRegion: "us-gov-west-1" } });
  });

  it("rejects an unknown auth kind", () => {
    expect(settingsFromEnv({ ASYA_KEDA_AUTH_KIND: "Secret" })).toEqual({
      ok: false,
      error: 'Invalid environment variable ASYA_KEDA_AUTH_KIND: expected TriggerAuthentication or ClusterTriggerAuthentication, found "Secret"',
    });
  });
});

function runRender(args: string[], input: string, env: Record<string, string> = {}) {
  return spawnSync(DENO, ["run", "--allow-read", "--allow-env", "scripts/render.ts", ...args], {
    cwd: REPO_ROOT,
    input,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
}

describe("render command", () => {
  it("reads stdin and writes YAML", () => {
    const result = runRender([], input, { ASYA_AWS_REGION: "ap-south-1", ASYA_SQS_ENDPOINT: "http://127.0.0.1:4566" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const documents = parseAllDocuments(result.stdout).map((document) => document.toJS());
    expect(documents).toHaveLength(2);
    expect(documents[0].spec.triggers[0].metadata.awsRegion).toBe("ap-south-1");
    expect(documents[0].spec.triggers[0].metadata.awsEndpoint).toBe("http://127.0.0.1:4566");
  });

  it("exits 1 on bad annotations", () => {
    const result = runRender([], "kind: Deployment\nmetadata: {name: x, annotations: {asya.sh/actor: x, asya.sh/scaling: hpa}}\n");
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Invalid annotation asya.sh/scaling: expected keda or none");
  });

  it("prints usage for --help", () => {
    for (const args of [["--help"], ["-h"], ["--", "--help"]]) {
      const result = runRender(args, "");
      expect(result.status).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe(RENDER_USAGE);
    }
  });

  it("exits 1 on empty stdin", () => {
    const result = runRender([], "");
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "render: stdin contains no YAML documents: expected Deployment or StatefulSet YAML, as in deno task render < deployment.yaml\n",
    );
  });

  it("says so when there is no workload", () => {
    const result = runRender([], "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "render: read 1 object(s), none is a Deployment or StatefulSet with asya.sh/actor; nothing to render\n",
    );
  });

  it("says so when no workload is an actor", () => {
    const result = runRender([], "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, annotations: {team/owner: ml}}\n");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "render: read 1 object(s), none is a Deployment or StatefulSet with asya.sh/actor; nothing to render\n",
    );
  });

  it("exits 2 on a malformed AWS region", () => {
    const result = runRender([], input, { ASYA_AWS_REGION: "not a region" });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain('Invalid environment variable ASYA_AWS_REGION: expected an AWS region');
  });

  it("rejects an unknown argument", () => {
    const result = runRender(["deployment.yaml"], "");
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'render: unexpected argument "deployment.yaml": render reads YAML on stdin, as in deno task render < deployment.yaml (see --help)\n',
    );
  });
});
