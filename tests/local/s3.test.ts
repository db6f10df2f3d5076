// Conformance of the local S3 server, driven only through
// @aws-sdk/client-s3 with its default checksum behaviour. Expected values
// come from the Amazon S3 API reference.

import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { type LocalStack } from "../../local/mod.ts";
import {
  makeTempDir,
  rejection,
  removeDir,
  s3Client,
  startLocalStack,
} from "./helpers.ts";

let dataDir: string;
let stack: LocalStack;
let s3: S3Client;

beforeAll(async () => {
  dataDir = await makeTempDir();
  stack = await startLocalStack({ dataDir });
  s3 = s3Client(stack);
  await s3.send(new CreateBucketCommand({ Bucket: "claims" }));
});

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
  await removeDir(dataDir);
});

async function getText(
  bucket: string,
  key: string,
  range?: string,
): Promise<string> {
  const output = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }),
  );
  return output.Body!.transformToString();
}

const md5 = (data: Uint8Array | string) =>
  createHash("md5").update(data).digest("hex");

describe("objects", () => {
  test("PutObject and GetObject round-trip a string body", async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: "claims",
        Key: "hello.txt",
        Body: "hello, world",
        ContentType: "text/plain",
      }),
    );
    // For a single-part upload the ETag is the quoted MD5 of the bytes.
    expect(put.ETag).toBe(`"${md5("hello, world")}"`);
    const got = await s3.send(
      new GetObjectCommand({ Bucket: "claims", Key: "hello.txt" }),
    );
    expect(await got.Body!.transformToString()).toBe("hello, world");
    expect(got.ContentType).toBe("text/plain");
    expect(got.ContentLength).toBe(12);
    expect(got.ETag).toBe(put.ETag);
  });

  test("PutObject decodes aws-chunked stream uploads with a trailing checksum", async () => {
    const data = randomBytes(1024 * 1024 + 17);
    const chunks = Array.from(
      { length: Math.ceil(data.length / 65536) },
      (_, i) => data.subarray(i * 65536, (i + 1) * 65536),
    );
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: "claims",
        Key: "stream.bin",
        Body: Readable.from(chunks),
        ContentLength: data.length,
      }),
    );
    expect(put.ETag).toBe(`"${md5(data)}"`);
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: "claims",
        Key: "stream.bin",
        ChecksumMode: "ENABLED",
      }),
    );
    const bytes = await got.Body!.transformToByteArray();
    expect(Buffer.from(bytes).equals(data)).toBe(true);
    // The SDK sends CRC32 by default and validates it on download.
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
  });

  test("PutObject verifies an explicit SHA-256 checksum", async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: "claims",
        Key: "sha.txt",
        Body: "checked",
        ChecksumAlgorithm: "SHA256",
      }),
    );
    expect(put.ChecksumSHA256).toBe(
      createHash("sha256").update("checked").digest("base64"),
    );
  });

  test("PutObject rejects a checksum that does not match", async () => {
    const error = await rejection(s3.send(
      new PutObjectCommand({
        Bucket: "claims",
        Key: "bad-checksum.txt",
        Body: "some bytes",
        ChecksumCRC32: "AAAAAA==",
      }),
    ));
    expect(error.name).toBe("BadDigest");
    expect(error.$metadata?.httpStatusCode).toBe(400);
    const missing = await rejection(
      s3.send(
        new HeadObjectCommand({ Bucket: "claims", Key: "bad-checksum.txt" }),
      ),
    );
    expect(missing.$metadata?.httpStatusCode).toBe(404);
  });

  test("PutObject with If-None-Match refuses to overwrite", async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: "claims",
        Key: "once",
        Body: "first",
        IfNoneMatch: "*",
      }),
    );
    const error = await rejection(
      s3.send(
        new PutObjectCommand({
          Bucket: "claims",
          Key: "once",
          Body: "second",
          IfNoneMatch: "*",
        }),
      ),
    );
    expect(error.name).toBe("PreconditionFailed");
    expect(error.$metadata?.httpStatusCode).toBe(412);
    expect(await getText("claims", "once")).toBe("first");
  });

  test("GetObject serves byte ranges", async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: "claims",
        Key: "digits",
        Body: "0123456789",
      }),
    );
    expect(await getText("claims", "digits", "bytes=2-4")).toBe("234");
    expect(await getText("claims", "digits", "bytes=7-")).toBe("789");
    expect(await getText("claims", "digits", "bytes=-3")).toBe("789");
    expect(await getText("claims", "digits", "bytes=8-100")).toBe("89");
    const ranged = await s3.send(
      new GetObjectCommand({
        Bucket: "claims",
        Key: "digits",
        Range: "bytes=2-4",
      }),
    );
    expect(ranged.ContentRange).toBe("bytes 2-4/10");
    expect(ranged.$metadata.httpStatusCode).toBe(206);
    const error = await rejection(
      s3.send(
        new GetObjectCommand({
          Bucket: "claims",
          Key: "digits",
          Range: "bytes=10-20",
        }),
      ),
    );
    expect(error.name).toBe("InvalidRange");
    expect(error.$metadata?.httpStatusCode).toBe(416);
  });

  test("HeadObject returns size, type and user metadata", async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: "claims",
        Key: "meta.json",
        Body: "{}",
        ContentType: "application/json",
        Metadata: { sha256: "abc", envelope: "e-1" },
      }),
    );
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: "claims", Key: "meta.json" }),
    );
    expect(head.ContentLength).toBe(2);
    expect(head.ContentType).toBe("application/json");
    expect(head.Metadata).toEqual({ sha256: "abc", envelope: "e-1" });
    expect(head.LastModified).toBeInstanceOf(Date);
  });

  test("missing objects and buckets return NoSuchKey and NoSuchBucket", async () => {
    const key = await rejection(
      s3.send(new GetObjectCommand({ Bucket: "claims", Key: "nothing-here" })),
    );
    expect(key).toBeInstanceOf(NoSuchKey);
    expect(key.$metadata?.httpStatusCode).toBe(404);
    const bucket = await rejection(
      s3.send(new GetObjectCommand({ Bucket: "no-such-bucket", Key: "k" })),
    );
    expect(bucket).toBeInstanceOf(NoSuchBucket);
    const head = await rejection(
      s3.send(new HeadObjectCommand({ Bucket: "claims", Key: "nothing-here" })),
    );
    expect(head.name).toBe("NotFound");
    const list = await rejection(
      s3.send(new ListObjectsV2Command({ Bucket: "no-such-bucket" })),
    );
    expect(list).toBeInstanceOf(NoSuchBucket);
  });

  test("DeleteObject removes an object and ignores a missing key", async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: "claims", Key: "doomed", Body: "x" }),
    );
    const deleted = await s3.send(
      new DeleteObjectCommand({ Bucket: "claims", Key: "doomed" }),
    );
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    expect(
      await rejection(
        s3.send(new GetObjectCommand({ Bucket: "claims", Key: "doomed" })),
      ),
    ).toBeInstanceOf(NoSuchKey);
    const again = await s3.send(
      new DeleteObjectCommand({ Bucket: "claims", Key: "doomed" }),
    );
    expect(again.$metadata.httpStatusCode).toBe(204);
  });

  test("keys with unicode, spaces and plus signs round-trip", async () => {
    const key = "données/ü 1+2=3?.txt";
    await s3.send(
      new PutObjectCommand({ Bucket: "claims", Key: key, Body: "ünïcode" }),
    );
    expect(await getText("claims", key)).toBe("ünïcode");
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: "claims", Prefix: "données/" }),
    );
    expect(listed.Contents?.map((item) => item.Key)).toEqual([key]);
  });
});

describe("listing", () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "listing" }));
    for (const key of ["a/1", "a/2", "a/3", "b/1", "b/2", "top"]) {
      await s3.send(
        new PutObjectCommand({ Bucket: "listing", Key: key, Body: key }),
      );
    }
  });

  test("ListObjectsV2 filters by prefix", async () => {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: "listing", Prefix: "a/" }),
    );
    expect(listed.Contents?.map((item) => item.Key)).toEqual([
      "a/1",
      "a/2",
      "a/3",
    ]);
    expect(listed.KeyCount).toBe(3);
    expect(listed.IsTruncated).toBe(false);
    expect(listed.Contents?.[0].Size).toBe(3);
  });

  test("ListObjectsV2 pages with continuation tokens", async () => {
    const keys: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const listed = await s3.send(
        new ListObjectsV2Command({
          Bucket: "listing",
          MaxKeys: 4,
          ContinuationToken: token,
        }),
      );
      keys.push(...(listed.Contents ?? []).map((item) => item.Key!));
      if (!listed.IsTruncated) break;
      expect(listed.NextContinuationToken).toBeDefined();
      token = listed.NextContinuationToken;
    }
    expect(keys).toEqual(["a/1", "a/2", "a/3", "b/1", "b/2", "top"]);
  });

  test("ListObjectsV2 groups common prefixes by delimiter", async () => {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: "listing", Delimiter: "/" }),
    );
    expect(listed.CommonPrefixes?.map((item) => item.Prefix)).toEqual([
      "a/",
      "b/",
    ]);
    expect(listed.Contents?.map((item) => item.Key)).toEqual(["top"]);
    expect(listed.KeyCount).toBe(3);
  });

  test("ListObjectsV2 starts after a key", async () => {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: "listing", StartAfter: "b/1" }),
    );
    expect(listed.Contents?.map((item) => item.Key)).toEqual(["b/2", "top"]);
  });
});

describe("buckets", () => {
  test("CreateBucket, HeadBucket, ListBuckets and DeleteBucket", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "made-here" }));
    const head = await s3.send(new HeadBucketCommand({ Bucket: "made-here" }));
    expect(head.$metadata.httpStatusCode).toBe(200);
    const { Buckets } = await s3.send(new ListBucketsCommand({}));
    expect(Buckets?.map((bucket) => bucket.Name)).toContain("made-here");
    await s3.send(new DeleteBucketCommand({ Bucket: "made-here" }));
    const missing = await rejection(
      s3.send(new HeadBucketCommand({ Bucket: "made-here" })),
    );
    expect(missing.$metadata?.httpStatusCode).toBe(404);
  });

  test("DeleteBucket refuses a bucket that holds objects", async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: "full-bucket", Key: "k", Body: "x" }),
    );
    const error = await rejection(
      s3.send(new DeleteBucketCommand({ Bucket: "full-bucket" })),
    );
    expect(error.name).toBe("BucketNotEmpty");
    expect(error.$metadata?.httpStatusCode).toBe(409);
  });

  test("PutObject creates a missing bucket on demand", async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: "on-demand", Key: "first", Body: "x" }),
    );
    const head = await s3.send(new HeadBucketCommand({ Bucket: "on-demand" }));
    expect(head.$metadata.httpStatusCode).toBe(200);
  });
});
