// Builds kustomize overlays with `kubectl kustomize` and parses the output.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { writeWebhookCertificates } from "../../scripts/gen-certs.ts";
import type { KubeObject } from "./schemas.ts";

/** Repository root, from this file's location. */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `kubectl kustomize DIR` and returns the built objects. */
export function buildKustomization(dir: string): KubeObject[] {
  let output: string;
  try {
    output = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", timeout: 30_000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error("kubectl not found on PATH: the install tests need kubectl 1.27 or later, which bundles kustomize v5");
    }
    throw error;
  }
  return parseAllDocuments(output)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

/**
 * Copies manifests/ and kustomize/ into a fresh temporary directory and runs
 * gen-certs there, so the local overlay builds without touching the working
 * tree. Returns the copy's root and a cleanup function.
 */
export function prepareLocalOverlayCopy(): { root: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), "asya-install-"));
  cpSync(join(REPO_ROOT, "manifests"), join(root, "manifests"), { recursive: true });
  cpSync(join(REPO_ROOT, "kustomize"), join(root, "kustomize"), {
    recursive: true,
    // The working tree may hold a developer's own generated certificate.
    filter: (source) => !source.includes(join("overlays", "local", "generated", "")),
  });
  writeWebhookCertificates({
    outDir: join(root, "kustomize/overlays/local/generated"),
    namespace: "asya-system",
    service: "asya-webhook",
    days: 30,
    webhookConfig: join(root, "manifests/mutating-webhook.yaml"),
  });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Finds exactly one object of a kind and name; throws with the kinds present otherwise. */
export function findObject(objects: KubeObject[], kind: string, name: string): KubeObject {
  const matches = objects.filter((object) => object.kind === kind && object.metadata.name === name);
  if (matches.length !== 1) {
    const present = objects.map((object) => `${object.kind}/${object.metadata.name}`).join(", ");
    throw new Error(`Expected one ${kind}/${name}, found ${matches.length} among: ${present}`);
  }
  return matches[0];
}
