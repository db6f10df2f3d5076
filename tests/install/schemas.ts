// Validation of built manifests against the official schemas: Kubernetes
// objects through kubernetes-models (OpenAPI of Kubernetes 1.3x), KEDA
// objects through @kubernetes-models/keda, and cert-manager objects by
// hand because no schema package for them is installed.
//
// NOTE: these schemas check types, enums and required fields but accept
// unknown fields, so a misspelt optional field passes. The KEDA schema
// (@kubernetes-models/keda 0.4.2) also predates fields such as
// podIdentity.roleArn; checks of newer fields sit in the tests themselves.
import * as keda from "@kubernetes-models/keda/keda.sh/v1alpha1";
import * as admissionV1 from "kubernetes-models/admissionregistration.k8s.io/v1";
import * as appsV1 from "kubernetes-models/apps/v1";
import * as discoveryV1 from "kubernetes-models/discovery.k8s.io/v1";
import * as policyV1 from "kubernetes-models/policy/v1";
import * as rbacV1 from "kubernetes-models/rbac.authorization.k8s.io/v1";
import * as coreV1 from "kubernetes-models/v1";

/** A Kubernetes object as parsed from YAML. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // deno-lint-ignore no-explicit-any
  [field: string]: any;
}

type ModelClass = new (data: unknown) => { validate(): void };

const MODELS: Record<string, Record<string, unknown>> = {
  "v1": coreV1,
  "apps/v1": appsV1,
  "policy/v1": policyV1,
  "rbac.authorization.k8s.io/v1": rbacV1,
  "admissionregistration.k8s.io/v1": admissionV1,
  "discovery.k8s.io/v1": discoveryV1,
  "keda.sh/v1alpha1": keda,
};

/** Returns the schema problems of one object; an empty list means valid. */
export function validateObject(object: KubeObject): string[] {
  const where = `${object.kind}/${object.metadata?.name}`;
  if (object.apiVersion === "cert-manager.io/v1") return checkCertManagerObject(object).map((p) => `${where}: ${p}`);

  const group = MODELS[object.apiVersion];
  const model = group?.[object.kind] as ModelClass | undefined;
  if (model === undefined) return [`${where}: no schema for apiVersion ${object.apiVersion} kind ${object.kind}`];
  try {
    new model(structuredClone(object)).validate();
    return [];
  } catch (error) {
    return [`${where}: ${(error as Error).message}`];
  }
}

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const ISSUER_TYPES = ["selfSigned", "ca", "acme", "vault", "venafi"];
const KEY_ALGORITHMS = ["RSA", "ECDSA", "Ed25519"];
// Key usages accepted by cert-manager v1 (KeyUsage enum in its API types).
const KEY_USAGES = new Set([
  "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
  "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any",
  "server auth", "client auth", "code signing", "email protection", "s/mime", "ipsec end system",
  "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
]);

/**
 * Checks the required fields and value formats of cert-manager v1 Issuer,
 * ClusterIssuer and Certificate objects, as documented in the
 * cert-manager.io/v1 API reference.
 */
export function checkCertManagerObject(object: KubeObject): string[] {
  const problems: string[] = [];
  const spec = object.spec;
  if (typeof spec !== "object" || spec === null) return ["spec must be an object"];

  if (object.kind === "Issuer" || object.kind === "ClusterIssuer") {
    const types = ISSUER_TYPES.filter((type) => type in spec);
    if (types.length !== 1) problems.push(`spec must set exactly one of ${ISSUER_TYPES.join(", ")}, found ${types.length}`);
    if ("ca" in spec && typeof spec.ca?.secretName !== "string") problems.push("spec.ca.secretName must be a string");
    if ("selfSigned" in spec && (typeof spec.selfSigned !== "object" || spec.selfSigned === null)) {
      problems.push("spec.selfSigned must be an object");
    }
    return problems;
  }

  if (object.kind !== "Certificate") return [`unknown cert-manager kind ${object.kind}`];
  if (typeof spec.secretName !== "string" || spec.secretName === "") problems.push("spec.secretName is required");
  if (typeof spec.issuerRef?.name !== "string") problems.push("spec.issuerRef.name is required");
  if (spec.issuerRef?.kind !== undefined && !["Issuer", "ClusterIssuer"].includes(spec.issuerRef.kind)) {
    problems.push(`spec.issuerRef.kind must be Issuer or ClusterIssuer, found ${spec.issuerRef.kind}`);
  }
  const identities = ["commonName", "dnsNames", "ipAddresses", "uris", "emailAddresses", "literalSubject"];
  if (!identities.some((field) => field in spec)) problems.push(`spec must set one of ${identities.join(", ")}`);
  if (spec.dnsNames !== undefined && !(Array.isArray(spec.dnsNames) && spec.dnsNames.every((n: unknown) => typeof n === "string"))) {
    problems.push("spec.dnsNames must be a list of strings");
  }
  for (const field of ["duration", "renewBefore"]) {
    if (spec[field] !== undefined && !GO_DURATION.test(String(spec[field]))) {
      problems.push(`spec.${field} must be a Go duration such as 2160h, found ${spec[field]}`);
    }
  }
  if (spec.isCA !== undefined && typeof spec.isCA !== "boolean") problems.push("spec.isCA must be a boolean");
  const algorithm = spec.privateKey?.algorithm;
  if (algorithm !== undefined && !KEY_ALGORITHMS.includes(algorithm)) {
    problems.push(`spec.privateKey.algorithm must be one of ${KEY_ALGORITHMS.join(", ")}, found ${algorithm}`);
  }
  for (const usage of spec.usages ?? []) {
    if (!KEY_USAGES.has(usage)) problems.push(`spec.usages has unknown usage ${usage}`);
  }
  return problems;
}
