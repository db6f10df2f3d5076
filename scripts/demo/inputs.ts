/**
 * The demo's inputs: every `.txt` book of a folder plus one broken file,
 * turned into split envelopes. A payload too large for one SQS message is
 * stored in S3 first and sent as a claim check, as the sidecars do.
 */
import { basename, join } from "node:path";
import {
  createClaimCheck,
  DEFAULT_CLAIM_CHECK_THRESHOLD,
  defaultClaimCheckPrefix,
  shouldOffload,
} from "../../shared/claim-check.ts";
import type { Envelope } from "../../shared/envelope-types.ts";
import type { SentInput } from "./report.ts";

/** Actors in pipeline order; the router may add `summarize` before `analyze`. */
export const PIPELINE_ROUTE = ["split", "router", "analyze"];

export interface InputFile {
  path: string;
  name: string;
  kind: "book" | "broken";
  bytes: Uint8Array;
}

export interface PreparedInput {
  sent: SentInput;
  /** Message body: the envelope as JSON. */
  body: string;
  /** Object to store before sending, when the payload travels as a claim check. */
  claimCheck?: { key: string; body: Uint8Array };
}

/**
 * Reads the `.txt` files of `booksDir` (sorted by name) and the broken
 * input. Throws naming the folder or file when it is missing or when the
 * folder contains no `.txt` file.
 */
export async function readInputs(booksDir: string, brokenInput: string): Promise<InputFile[]> {
  let names: string[];
  try {
    names = [];
    for await (const entry of Deno.readDir(booksDir)) {
      if (entry.isFile && entry.name.endsWith(".txt")) names.push(entry.name);
    }
  } catch (error) {
    throw new Error(`Cannot read the books folder ${booksDir}: ${(error as Error).message}`);
  }
  if (names.length === 0) throw new Error(`No books found: expected .txt files in ${booksDir}, found none`);
  names.sort();

  const files: InputFile[] = [];
  for (const name of names) {
    const path = join(booksDir, name);
    files.push({ path, name: name.slice(0, -".txt".length), kind: "book", bytes: await Deno.readFile(path) });
  }
  try {
    files.push({
      path: brokenInput,
      name: basename(brokenInput),
      kind: "broken",
      bytes: await Deno.readFile(brokenInput),
    });
  } catch (error) {
    throw new Error(`Cannot read the broken input ${brokenInput}: ${(error as Error).message}`);
  }
  return files;
}

/**
 * Builds the envelope of one input for the split actor. Valid UTF-8 goes as
 * `{"book", "text"}`; anything else as `{"book", "data": base64}`, which
 * split rejects, so it ends in x-sump.
 */
export async function prepareInput(
  file: InputFile,
  options: { runId: string; index: number; namespace: string; bucket: string; nowIso: string },
): Promise<PreparedInput> {
  const id = `${options.runId}-${String(options.index + 1).padStart(2, "0")}-${slug(file.name)}`;
  const text = decodeUtf8(file.bytes);
  const payloadText = JSON.stringify(
    text === undefined ? { book: file.name, data: encodeBase64(file.bytes) } : { book: file.name, text },
  );
  const envelope: Envelope = {
    id,
    route: { prev: [], curr: PIPELINE_ROUTE[0], next: PIPELINE_ROUTE.slice(1) },
    headers: { "x-demo-input": file.name },
    status: { phase: "pending", created_at: options.nowIso },
  };
  const sent: SentInput = { id, name: file.name, file: file.path, kind: file.kind, bytes: file.bytes.length };

  const inline = JSON.stringify(envelope).slice(0, -1) + `,"payload":${payloadText}}`;
  if (!shouldOffload(inline, DEFAULT_CLAIM_CHECK_THRESHOLD)) return { sent, body: inline };

  const claim = await createClaimCheck(payloadText, options.bucket, defaultClaimCheckPrefix(options.namespace));
  sent.claimCheck = claim.ref;
  return {
    sent,
    body: JSON.stringify({ ...envelope, payload_ref: claim.ref }),
    claimCheck: { key: claim.key, body: claim.body },
  };
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let offset = 0; offset < bytes.length; offset += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  }
  return btoa(binary);
}

// Envelope ids become S3 keys and log fields, so keep them to a safe alphabet.
function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "input";
}
