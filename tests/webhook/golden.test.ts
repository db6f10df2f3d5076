/**
 * Golden tests over real workload manifests (the Linkerd injector inputs
 * in fixtures/linkerd, see fixtures/README.md) and our own edge cases. For
 * each object: annotate it as an actor, admit it, compare the patch with
 * the stored golden file, apply the patch, validate the result against the
 * Kubernetes schema, and admit the result again to get an empty patch.
 *
 * Set UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { Pod } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { createApp } from "../../webhook/app.ts";
import { createLogger } from "../../webhook/log.ts";
import { admit, applyPatch, patchOf, type PatchOp, reviewOf, TEST_CONFIG } from "./helpers.ts";

const here = dirname(fileURLToPath(import.meta.url));
const corpusDir = join(here, "fixtures", "linkerd");
const goldenDir = join(here, "golden");
const updateGolden = process.env.UPDATE_GOLDEN === "1";

const app = createApp({
  config: TEST_CONFIG,
  kubernetesVersion: { major: 1, minor: 30 },
  log: createLogger({ level: "error", print: () => {} }),
});

type KubeObject = Record<string, any>;

/** Splits multi-document files and flattens `kind: List`. */
function objectsOf(file: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
    // Some inputs are broken on purpose; the API server never sends YAML that does not parse.
    if (document.errors.length > 0) continue;
    const value = document.toJS() as KubeObject | null;
    if (value === null) continue;
    if (value.kind === "List") objects.push(...(value.items ?? []).filter((item: unknown) => item !== null));
    else objects.push(value);
  }
  return objects;
}

function actorAnnotations(name: string): Record<string, string> {
  const actor = name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40) || "actor";
  return { "asya.sh/actor": actor, "asya.sh/handler": "app.handlers.process" };
}

function podTemplateOf(object: KubeObject): KubeObject | undefined {
  if (object.kind === "CronJob") return object.spec?.jobTemplate?.spec?.template;
  if (object.kind === "Job" || object.kind === "Deployment" || object.kind === "StatefulSet") return object.spec?.template;
  return undefined;
}

function withTemplateAnnotations(object: KubeObject, annotations: Record<string, string>): KubeObject {
  const copy = structuredClone(object);
  const template = podTemplateOf(copy)!;
  template.metadata = { ...(template.metadata ?? {}), annotations: { ...(template.metadata?.annotations ?? {}), ...annotations } };
  return copy;
}

/** Builds the pod that the workload controller would create from the template. */
function podFromTemplate(owner: KubeObject, template: KubeObject): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { ...structuredClone(template.metadata ?? {}), generateName: `${owner.metadata?.name ?? "pod"}-`, namespace: owner.metadata?.namespace },
    spec: structuredClone(template.spec),
  };
}

function compareGolden(name: string, value: unknown): void {
  const file = join(goldenDir, `${name}.json`);
  const text = JSON.stringify(value, null, 2) + "\n";
  if (updateGolden || !existsSync(file)) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(file, text);
    if (!updateGolden) throw new Error(`Golden file ${name}.json was missing and has been written; review it and rerun`);
    return;
  }
  expect(text).toBe(readFileSync(file, "utf8"));
}

interface Outcome {
  kind: string;
  allowed: boolean;
  message?: string;
  warnings?: string[];
  patch: PatchOp[];
}

async function admitAndCheck(object: KubeObject, validate: (value: KubeObject) => void): Promise<Outcome> {
  const { status, body } = await admit(app, reviewOf(object));
  expect(status).toBe(200);
  const patch = patchOf(body);
  const outcome: Outcome = { kind: object.kind, allowed: body.response.allowed, patch };
  if (body.response.status?.message) outcome.message = body.response.status.message;
  if (body.response.warnings) outcome.warnings = body.response.warnings;
  if (!body.response.allowed) return outcome;

  // An input that breaks the schema (some corpus files do, on purpose) must
  // break it the same way after the patch: injection adds no new errors.
  const result = applyPatch(object, patch);
  const inputError = schemaError(validate, object);
  expect(schemaError(validate, result)).toBe(inputError);
  if (inputError === undefined) schemaValidated += 1;
  // Pods are admitted again as a new pod would be; workloads as an update.
  const again = object.kind === "Pod"
    ? await admit(app, reviewOf(result))
    : await admit(app, reviewOf(result, { operation: "UPDATE", oldObject: result }));
  expect(again.body.response.allowed).toBe(true);
  expect(patchOf(again.body)).toEqual([]);
  return outcome;
}

function schemaError(validate: (value: KubeObject) => void, value: KubeObject): string | undefined {
  try {
    validate(value);
    return undefined;
  } catch (error) {
    return String(error);
  }
}

let schemaValidated = 0;

const validators: Record<string, (value: KubeObject) => void> = {
  Pod: (value) => new Pod(value as any).validate(),
  Deployment: (value) => new Deployment(value as any).validate(),
  StatefulSet: (value) => new StatefulSet(value as any).validate(),
};

/** Admits an object annotated as an actor and, for workloads, the pod its template makes. */
async function runObject(object: KubeObject): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const name = object.metadata?.name ?? "pod";

  if (object.kind === "Pod") {
    const pod = structuredClone(object);
    pod.metadata = { ...(pod.metadata ?? {}), annotations: { ...(pod.metadata?.annotations ?? {}), ...actorAnnotations(name) } };
    outcomes.push(await admitAndCheck(pod, validators.Pod));
    return outcomes;
  }

  const template = podTemplateOf(object);
  if (template === undefined) {
    // Kinds the webhook does not handle pass unchanged.
    outcomes.push(await admitAndCheck(object, () => {}));
    return outcomes;
  }

  if (object.kind === "Deployment" || object.kind === "StatefulSet") {
    const workload = structuredClone(object);
    workload.metadata = { ...(workload.metadata ?? {}), annotations: { ...(workload.metadata?.annotations ?? {}), ...actorAnnotations(name) } };
    const outcome = await admitAndCheck(workload, validators[object.kind]);
    outcomes.push(outcome);
    if (!outcome.allowed) return outcomes;
    const patchedWorkload = applyPatch(workload, outcome.patch);
    outcomes.push(await admitAndCheck(podFromTemplate(patchedWorkload, podTemplateOf(patchedWorkload)!), validators.Pod));
    return outcomes;
  }

  // Jobs and CronJobs: the webhook handles their pods, annotated in the template.
  const annotated = withTemplateAnnotations(object, actorAnnotations(name));
  outcomes.push(await admitAndCheck(annotated, () => {}));
  expect(outcomes[0].patch).toEqual([]);
  outcomes.push(await admitAndCheck(podFromTemplate(annotated, podTemplateOf(annotated)!), validators.Pod));
  return outcomes;
}

const corpusFiles = readdirSync(corpusDir).filter((file) => file.endsWith(".yml")).sort();

describe("linkerd corpus", () => {
  it("has all 25 inputs", () => {
    expect(corpusFiles).toHaveLength(25);
  });

  it.each(corpusFiles)("%s", async (file) => {
    const outcomes: Outcome[] = [];
    for (const object of objectsOf(join(corpusDir, file))) outcomes.push(...await runObject(object));
    expect(outcomes.length).toBeGreaterThan(0);
    compareGolden(`linkerd-${file.replace(/\.input\.yml$/, "")}`, outcomes);
  });

  it("validated the patched objects against the schema", () => {
    // Runs after the corpus cases above: nearly every corpus object is schema-valid.
    expect(schemaValidated).toBeGreaterThan(40);
  });

  it("denies hostNetwork pods", async () => {
    const [object] = objectsOf(join(corpusDir, "inject_emojivoto_deployment_hostNetwork_true.input.yml"));
    const [outcome] = await runObject(object);
    expect(outcome.allowed).toBe(false);
    expect(outcome.message).toContain("hostNetwork");
  });
});

const job = {
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name: "backfill", namespace: "pipelines" },
  spec: {
    backoffLimit: 2,
    template: {
      spec: {
        restartPolicy: "Never",
        containers: [{ name: "backfill", image: "python:3.11-slim", command: ["python", "-m", "backfill"] }],
      },
    },
  },
};

const cronJob = {
  apiVersion: "batch/v1",
  kind: "CronJob",
  metadata: { name: "nightly", namespace: "pipelines" },
  spec: {
    schedule: "0 3 * * *",
    jobTemplate: {
      spec: {
        template: {
          metadata: { labels: { app: "nightly" } },
          spec: { restartPolicy: "OnFailure", containers: [{ name: "nightly", image: "python:3.11-slim" }] },
        },
      },
    },
  },
};

const generateNamePod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "", generateName: "embed-", namespace: "pipelines", annotations: {} },
  spec: { containers: [{ name: "embed", image: "python:3.11-slim" }] },
};

const noAnnotationsPod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "bare", namespace: "pipelines" },
  spec: { containers: [{ name: "bare", image: "python:3.11-slim" }] },
};

const noTemplateMetadataDeployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "bare", namespace: "pipelines" },
  spec: {
    selector: { matchLabels: { app: "bare" } },
    template: { spec: { containers: [{ name: "bare", image: "python:3.11-slim" }] } },
  },
};

const restrictedPod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "restricted", namespace: "pipelines", annotations: { "asya.sh/python": "/usr/local/bin/python3" } },
  spec: {
    securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
    containers: [{
      name: "model",
      image: "python:3.11-slim",
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      },
      resources: { requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "2Gi" } },
    }],
  },
};

const initContainersPod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "with-init", namespace: "pipelines", annotations: { "team.example.com/owner": "ml" } },
  spec: {
    initContainers: [
      { name: "fetch-model", image: "amazon/aws-cli", command: ["aws", "s3", "cp", "s3://models/m.bin", "/models/"] },
      { name: "proxy", image: "envoyproxy/envoy:v1.30", restartPolicy: "Always" },
    ],
    volumes: [{ name: "models", emptyDir: {} }],
    containers: [{ name: "worker", image: "python:3.11-slim", volumeMounts: [{ name: "models", mountPath: "/models" }] }],
  },
};

describe("own cases", () => {
  it.each([
    ["job", job],
    ["cronjob", cronJob],
    ["generatename-pod", generateNamePod],
    ["no-template-metadata-deployment", noTemplateMetadataDeployment],
    ["restricted-pod", restrictedPod],
    ["init-containers-pod", initContainersPod],
  ])("%s", async (name, object) => {
    const outcomes = await runObject(object);
    for (const outcome of outcomes) expect(outcome.allowed).toBe(true);
    const podOutcome = outcomes[outcomes.length - 1];
    expect(podOutcome.kind).toBe("Pod");
    expect(podOutcome.patch.length).toBeGreaterThan(0);
    compareGolden(`own-${name}`, outcomes);
  });

  it("keeps the restricted security context", async () => {
    const [outcome] = await runObject(restrictedPod);
    const pod = applyPatch(restrictedPod, outcome.patch) as any;
    expect(pod.spec.securityContext).toEqual(restrictedPod.spec.securityContext);
    expect(pod.spec.containers[0].securityContext).toEqual(restrictedPod.spec.containers[0].securityContext);
    expect(pod.spec.containers[0].resources).toEqual(restrictedPod.spec.containers[0].resources);
    expect(pod.spec.containers[0].command).toEqual(["/usr/local/bin/python3", "/opt/asya/asya_runtime.py"]);
    for (const container of pod.spec.initContainers.slice(2)) {
      expect(container.securityContext.runAsNonRoot).toBe(true);
      expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(container.securityContext.capabilities).toEqual({ drop: ["ALL"] });
      expect(container.securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
    }
  });

  it("allows a pod without an annotation map unchanged", async () => {
    const { body } = await admit(app, reviewOf(noAnnotationsPod));
    expect(body.response.allowed).toBe(true);
    expect(patchOf(body)).toEqual([]);
  });

  it("creates absent template metadata", async () => {
    const [outcome] = await runObject(noTemplateMetadataDeployment);
    expect(outcome.patch).toEqual([{
      op: "add",
      path: "/spec/template/metadata",
      value: { annotations: { "asya.sh/actor": "bare", "asya.sh/handler": "app.handlers.process" } },
    }]);
  });

  it("injects a generateName pod with an empty name", async () => {
    const [outcome] = await runObject(generateNamePod);
    const pod = applyPatch(generateNamePod, outcome.patch) as any;
    expect(pod.metadata.name).toBe("");
    expect(pod.metadata.generateName).toBe("embed-");
    expect(pod.spec.initContainers.map((c: any) => c.name)).toEqual(["asya-install-runtime", "asya-sidecar"]);
  });
});
