// Shared setup for the local stack tests: a fresh data directory per
// stack, and SDK clients configured as the sidecar configures them.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type LocalStack, startLocalStack } from "../../local/mod.ts";

export const credentials = { accessKeyId: "test", secretAccessKey: "test" };

/** Creates an empty temporary directory; remove it with `removeDir`. */
export function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "asya-local-test-"));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

export function sqsClient(stack: LocalStack): SQSClient {
  return new SQSClient({
    region: "us-east-1",
    endpoint: stack.sqsEndpoint,
    credentials,
  });
}

export function s3Client(stack: LocalStack): S3Client {
  return new S3Client({
    region: "us-east-1",
    endpoint: stack.s3Endpoint,
    forcePathStyle: true,
    credentials,
  });
}

export { startLocalStack };

/** Runs `promise` and returns the error it rejects with; fails when it resolves. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { name: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { name: string };
  }
  throw new Error("Expected the call to fail, but it succeeded");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
