/**
 * AdmissionReview decoding and response constructors for
 * `admission.k8s.io/v1`. Decoding turns any body into either a plain
 * request or a reason it was rejected; every constructor returns a
 * well-formed review.
 */
import { err, ok, type Result } from "../shared/result.ts";
import type { PatchOperation } from "./patch/json-patch.ts";

export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

/** The fields of an AdmissionRequest that the webhook reads. */
export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  namespace: string;
  name: string;
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  object: unknown;
  oldObject: unknown;
  dryRun: boolean;
}

/** The response part of an AdmissionReview. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: "JSONPatch";
  patch?: string;
  status?: { code: number; message: string; reason?: string };
  warnings?: string[];
}

/** A complete AdmissionReview response. */
export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: "AdmissionReview";
  response: AdmissionResponse;
}

/**
 * Reads an AdmissionReview body. Fails with a sentence naming what was
 * expected and what was found when the body is not JSON, not a v1
 * AdmissionReview, or has no `request.uid`.
 */
export function decodeAdmissionReview(body: string): Result<AdmissionRequest, string> {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch {
    return err("Invalid AdmissionReview: expected a JSON object, found text that is not JSON");
  }
  if (!isObject(review)) return err(`Invalid AdmissionReview: expected a JSON object, found ${typeName(review)}`);
  if (review.kind !== "AdmissionReview") {
    return err(`Invalid AdmissionReview: expected kind AdmissionReview, found ${JSON.stringify(review.kind ?? null)}`);
  }
  if (review.apiVersion !== ADMISSION_API_VERSION) {
    return err(
      `Unsupported AdmissionReview apiVersion: expected ${ADMISSION_API_VERSION}, found ${JSON.stringify(review.apiVersion ?? null)}`,
    );
  }

  const request = review.request;
  if (!isObject(request)) return err(`Invalid AdmissionReview: expected a request object, found ${typeName(request)}`);
  if (typeof request.uid !== "string" || request.uid === "") {
    return err(`Invalid AdmissionReview: expected request.uid to be a non-empty string, found ${typeName(request.uid)}`);
  }

  const kind = isObject(request.kind) ? request.kind : {};
  const operation = typeof request.operation === "string" ? request.operation : "";
  if (!["CREATE", "UPDATE", "DELETE", "CONNECT"].includes(operation)) {
    return err(
      `Invalid AdmissionReview: expected request.operation CREATE, UPDATE, DELETE or CONNECT, found ${
        JSON.stringify(request.operation ?? null)
      }`,
    );
  }
  const object = request.object;
  const namespace = typeof request.namespace === "string"
    ? request.namespace
    : isObject(object) && isObject(object.metadata) && typeof object.metadata.namespace === "string"
    ? object.metadata.namespace
    : "";

  return ok({
    uid: request.uid,
    kind: {
      group: typeof kind.group === "string" ? kind.group : "",
      version: typeof kind.version === "string" ? kind.version : "",
      kind: typeof kind.kind === "string" ? kind.kind : "",
    },
    namespace,
    name: typeof request.name === "string" ? request.name : "",
    operation: operation as AdmissionRequest["operation"],
    object,
    oldObject: request.oldObject,
    dryRun: request.dryRun === true,
  });
}

/** Allows the object unchanged. */
export function allowed(uid: string, warnings: string[] = []): AdmissionReviewResponse {
  return review({ uid, allowed: true, ...warningsField(warnings) });
}

/** Allows the object with a JSON Patch; an empty patch is left out. */
export function patched(uid: string, operations: PatchOperation[], warnings: string[] = []): AdmissionReviewResponse {
  if (operations.length === 0) return allowed(uid, warnings);
  return review({
    uid,
    allowed: true,
    patchType: "JSONPatch",
    patch: encodeBase64(JSON.stringify(operations)),
    ...warningsField(warnings),
  });
}

/** Denies the object; `kubectl` shows the message to the user. */
export function denied(uid: string, messages: string[]): AdmissionReviewResponse {
  return review({
    uid,
    allowed: false,
    status: { code: 403, reason: "Forbidden", message: messages.join("; ") },
  });
}

function review(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response };
}

function warningsField(warnings: string[]): { warnings?: string[] } {
  return warnings.length > 0 ? { warnings } : {};
}

// UTF-8 safe base64 without Node's Buffer, so the module runs on Deno and Node.
function encodeBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  const chunk = 0x8000;
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + chunk));
  }
  return btoa(binary);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value === undefined) return "nothing";
  return typeof value === "string" ? `string ${JSON.stringify(value)}` : typeof value;
}
