/**
 * S3 access for claim checks and end-actor results, behind a small
 * interface so the processing logic can be tested without a network.
 * The AWS SDK retries throttling and network errors (standard retry mode).
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";

export interface ObjectStore {
  /** Reads a whole object; throws ObjectNotFoundError when the key does not exist. */
  get(bucket: string, key: string): Promise<Uint8Array>;
  put(
    bucket: string,
    key: string,
    bytes: Uint8Array,
    contentType: string,
  ): Promise<void>;
  /** True when the object exists. */
  exists(bucket: string, key: string): Promise<boolean>;
}

export class ObjectNotFoundError extends Error {
  override name = "ObjectNotFoundError";
  constructor(readonly bucket: string, readonly key: string) {
    super(`object s3://${bucket}/${key} not found`);
  }
}

export interface S3Options {
  region: string;
  /** Endpoint override; path-style addressing is used with it, as S3-compatible servers expect. */
  endpoint?: string;
}

export function createS3ObjectStore(options: S3Options): ObjectStore {
  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.endpoint !== undefined,
    maxAttempts: 5,
    retryMode: "standard",
  });

  return {
    async get(bucket, key) {
      try {
        const answer = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key }),
        );
        if (answer.Body === undefined) return new Uint8Array();
        return await answer.Body.transformToByteArray();
      } catch (error) {
        if (isNotFound(error)) throw new ObjectNotFoundError(bucket, key);
        throw error;
      }
    },

    async put(bucket, key, bytes, contentType) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentType: contentType,
        }),
      );
    },

    async exists(bucket, key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
  };
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } })
    ?.$metadata?.httpStatusCode;
  return name === "NoSuchKey" || name === "NotFound" || status === 404;
}
