// A path-style S3-compatible server over node:http: the bucket and object
// calls the sidecar and the demo make with @aws-sdk/client-s3, including
// the SDK's default aws-chunked uploads with a trailing CRC32 checksum.
// Any credentials are accepted and signatures are not checked.

import { Buffer } from "node:buffer";
import { createHash, randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  computeChecksum,
  decodeAwsChunked,
} from "./s3-body.ts";
import type { ObjectRecord, ObjectStore } from "./s3-store.ts";
import type { Logger } from "./log.ts";

// Objects are buffered in memory while uploading and downloading.
// NOTE: 512 MiB is a local-use limit well above claim-check payload sizes;
// S3 itself allows 5 GiB per PutObject.
const MAX_OBJECT_BYTES = 512 * 1024 * 1024;
const DEFAULT_MAX_KEYS = 1000;
const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
// Bucket naming rules for general purpose buckets, per the S3 user guide.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// Response headers kept from PutObject and returned by GetObject/HeadObject.
const STORED_HEADERS = [
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "expires",
];

class S3Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const noSuchBucket = (bucket: string) =>
  new S3Error("NoSuchBucket", 404, "The specified bucket does not exist", {
    BucketName: bucket,
  });
const noSuchKey = (key: string) =>
  new S3Error("NoSuchKey", 404, "The specified key does not exist.", {
    Key: key,
  });
const notImplemented = (what: string) =>
  new S3Error(
    "NotImplemented",
    501,
    `${what} is not implemented by the local S3 server`,
  );

/** Creates (but does not start listening) the S3 HTTP server over `store`. */
export function createS3Server(store: ObjectStore, log: Logger): Server {
  return createServer((request, response) => {
    handle(store, request, response).catch((error) => {
      if (error instanceof S3Error) {
        sendError(request, response, error);
        return;
      }
      log({
        event: "s3_internal_error",
        method: request.method,
        error: String(error),
      });
      if (!response.headersSent) {
        sendError(
          request,
          response,
          new S3Error(
            "InternalError",
            500,
            "Internal error in the local S3 server",
          ),
        );
      } else response.destroy();
    });
  });
}

async function handle(
  store: ObjectStore,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const path = url.pathname;
  const slash = path.indexOf("/", 1);
  const bucket = decodeURIComponent(
    slash < 0 ? path.slice(1) : path.slice(1, slash),
  );
  const key = slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1));
  const method = request.method ?? "GET";

  if (bucket === "") {
    await drain(request);
    if (method !== "GET") {
      throw new S3Error(
        "MethodNotAllowed",
        405,
        `${method} is not allowed on the service root`,
      );
    }
    return listBuckets(store, response);
  }
  if (!BUCKET_NAME.test(bucket) || bucket.includes("..")) {
    await drain(request);
    throw new S3Error(
      "InvalidBucketName",
      400,
      "The specified bucket is not valid.",
      { BucketName: bucket },
    );
  }

  if (key === "") {
    await drain(request);
    switch (method) {
      case "PUT":
        await store.createBucket(bucket);
        return send(response, 200, "", { location: `/${bucket}` });
      case "HEAD":
        if (store.bucketCreated(bucket) === undefined) {
          throw noSuchBucket(bucket);
        }
        return send(response, 200, "", { "x-amz-bucket-region": "us-east-1" });
      case "DELETE":
        if (store.bucketCreated(bucket) === undefined) {
          throw noSuchBucket(bucket);
        }
        if (!(await store.deleteBucket(bucket))) {
          throw new S3Error(
            "BucketNotEmpty",
            409,
            "The bucket you tried to delete is not empty",
            { BucketName: bucket },
          );
        }
        return send(response, 204, "");
      case "GET":
        if (store.bucketCreated(bucket) === undefined) {
          throw noSuchBucket(bucket);
        }
        if (url.searchParams.has("location")) {
          return sendXml(
            response,
            200,
            `<LocationConstraint xmlns="${XMLNS}"></LocationConstraint>`,
          );
        }
        if (url.searchParams.get("list-type") !== "2") {
          throw notImplemented("ListObjects (version 1)");
        }
        return listObjectsV2(store, bucket, url.searchParams, response);
      default:
        throw notImplemented(`${method} on a bucket`);
    }
  }

  if (url.searchParams.has("uploads") || url.searchParams.has("uploadId")) {
    await drain(request);
    throw notImplemented("Multipart upload");
  }
  switch (method) {
    case "PUT":
      if (request.headers["x-amz-copy-source"]) {
        await drain(request);
        throw notImplemented("CopyObject");
      }
      return putObject(store, bucket, key, request, response);
    case "GET":
    case "HEAD":
      await drain(request);
      return getObject(
        store,
        bucket,
        key,
        request,
        response,
        method === "HEAD",
      );
    case "DELETE":
      await drain(request);
      if (store.bucketCreated(bucket) === undefined) throw noSuchBucket(bucket);
      await store.delete(bucket, key);
      return send(response, 204, "");
    default:
      await drain(request);
      throw notImplemented(`${method} on an object`);
  }
}

async function putObject(
  store: ObjectStore,
  bucket: string,
  key: string,
  request: IncomingMessage,
  response: ServerResponse,
) {
  const raw = await readBody(request);
  const headers = request.headers;
  const contentSha256 = String(headers["x-amz-content-sha256"] ?? "");
  const chunked =
    String(headers["content-encoding"] ?? "").split(",").map((part) =>
      part.trim()
    ).includes("aws-chunked") ||
    contentSha256.startsWith("STREAMING-");

  let data = raw;
  let trailers: Record<string, string> = {};
  if (chunked) {
    const decoded = decodeAwsChunked(raw);
    if (typeof decoded === "string") {
      throw new S3Error("IncompleteBody", 400, decoded);
    }
    data = decoded.data;
    trailers = decoded.trailers;
    const declared = headers["x-amz-decoded-content-length"];
    if (declared !== undefined && Number(declared) !== data.length) {
      throw new S3Error(
        "IncompleteBody",
        400,
        `x-amz-decoded-content-length is ${declared} but the decoded body contains ${data.length} bytes`,
      );
    }
  } else if (/^[0-9a-f]{64}$/.test(contentSha256)) {
    const actual = createHash("sha256").update(data).digest("hex");
    if (actual !== contentSha256) {
      throw new S3Error(
        "XAmzContentSHA256Mismatch",
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
  }

  const contentMd5 = headers["content-md5"];
  if (
    typeof contentMd5 === "string" &&
    createHash("md5").update(data).digest("base64") !== contentMd5
  ) {
    throw new S3Error(
      "BadDigest",
      400,
      "The Content-MD5 you specified did not match what we received.",
    );
  }

  // The checksum arrives as a header for plain bodies, as a trailer for
  // aws-chunked ones; S3 rejects a value that does not match the bytes.
  let checksumAlgorithm: ChecksumAlgorithm | undefined;
  let checksumValue: string | undefined;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const name = `x-amz-checksum-${algorithm}`;
    const value = trailers[name] ??
      (typeof headers[name] === "string" ? String(headers[name]) : undefined);
    if (value === undefined) continue;
    const computed = computeChecksum(algorithm, data);
    if (computed !== undefined && computed !== value) {
      throw new S3Error(
        "BadDigest",
        400,
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    }
    checksumAlgorithm = algorithm;
    checksumValue = value;
  }

  if (headers["if-none-match"] === "*" && store.head(bucket, key)) {
    throw new S3Error(
      "PreconditionFailed",
      412,
      "At least one of the pre-conditions you specified did not hold",
      { Condition: "If-None-Match" },
    );
  }

  // Buckets are created on demand, so a pipeline can write before anyone
  // ran CreateBucket.
  await store.createBucket(bucket);
  const stored = await store.put({
    bucket,
    key,
    contentType: String(headers["content-type"] ?? "binary/octet-stream"),
    headers: storedHeaders(request),
    checksumAlgorithm,
    checksumValue,
  }, data);

  const responseHeaders: Record<string, string> = { etag: stored.etag };
  if (checksumAlgorithm && checksumValue) {
    responseHeaders[`x-amz-checksum-${checksumAlgorithm}`] = checksumValue;
  }
  send(response, 200, "", responseHeaders);
}

async function getObject(
  store: ObjectStore,
  bucket: string,
  key: string,
  request: IncomingMessage,
  response: ServerResponse,
  headOnly: boolean,
) {
  if (store.bucketCreated(bucket) === undefined) throw noSuchBucket(bucket);
  const record = store.head(bucket, key);
  if (!record) throw noSuchKey(key);

  const ifMatch = request.headers["if-match"];
  if (typeof ifMatch === "string" && !etagMatches(ifMatch, record.etag)) {
    throw new S3Error(
      "PreconditionFailed",
      412,
      "At least one of the pre-conditions you specified did not hold",
      { Condition: "If-Match" },
    );
  }
  const ifNoneMatch = request.headers["if-none-match"];
  if (
    typeof ifNoneMatch === "string" && etagMatches(ifNoneMatch, record.etag)
  ) {
    return send(response, 304, "", { etag: record.etag });
  }

  const headers: Record<string, string> = {
    "content-type": record.contentType,
    etag: record.etag,
    "last-modified": new Date(record.lastModifiedMs).toUTCString(),
    "accept-ranges": "bytes",
    ...record.headers,
  };

  const range = parseRange(request.headers.range, record.size);
  if (range === "invalid") {
    throw new S3Error(
      "InvalidRange",
      416,
      "The requested range is not satisfiable",
      {
        RangeRequested: String(request.headers.range),
        ActualObjectSize: String(record.size),
      },
    );
  }
  // A full-object checksum only describes the whole object, so it is
  // returned (when the client asks with x-amz-checksum-mode) only then.
  if (
    !range && record.checksumAlgorithm && record.checksumValue &&
    request.headers["x-amz-checksum-mode"] === "ENABLED"
  ) {
    headers[`x-amz-checksum-${record.checksumAlgorithm}`] =
      record.checksumValue;
    headers["x-amz-checksum-type"] = "FULL_OBJECT";
  }

  if (headOnly) {
    headers["content-length"] = String(
      range ? range.end - range.start + 1 : record.size,
    );
    if (range) {
      headers["content-range"] =
        `bytes ${range.start}-${range.end}/${record.size}`;
    }
    response.writeHead(range ? 206 : 200, headers);
    response.end();
    return;
  }

  const data = await store.read(record);
  if (range) {
    headers["content-range"] =
      `bytes ${range.start}-${range.end}/${record.size}`;
    send(response, 206, data.subarray(range.start, range.end + 1), headers);
  } else {
    send(response, 200, data, headers);
  }
}

function listBuckets(store: ObjectStore, response: ServerResponse): void {
  const buckets = store.buckets()
    .map((bucket) =>
      `<Bucket><Name>${xml(bucket.name)}</Name><CreationDate>${
        new Date(bucket.createdMs).toISOString()
      }</CreationDate></Bucket>`
    )
    .join("");
  sendXml(
    response,
    200,
    `<ListAllMyBucketsResult xmlns="${XMLNS}"><Owner><ID>local</ID><DisplayName>local</DisplayName></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`,
  );
}

function listObjectsV2(
  store: ObjectStore,
  bucket: string,
  params: URLSearchParams,
  response: ServerResponse,
): void {
  const prefix = params.get("prefix") ?? "";
  const delimiter = params.get("delimiter") ?? "";
  const rawMaxKeys = params.get("max-keys");
  const maxKeys = rawMaxKeys === null ? DEFAULT_MAX_KEYS : Number(rawMaxKeys);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) {
    throw new S3Error(
      "InvalidArgument",
      400,
      `max-keys must be a non-negative integer, found "${rawMaxKeys}"`,
    );
  }
  const token = params.get("continuation-token");
  const startAfter = params.get("start-after") ?? "";
  const urlEncode = params.get("encoding-type") === "url";
  let after = startAfter;
  if (token !== null) {
    const decoded = Buffer.from(token, "base64url").toString("utf8");
    if (!decoded.startsWith("k:")) {
      throw new S3Error(
        "InvalidArgument",
        400,
        "The continuation token provided is incorrect",
      );
    }
    after = decoded.slice(2);
  }

  // Walk keys in order; keys that share a segment up to the delimiter fold
  // into one CommonPrefixes entry, and each entry counts towards max-keys.
  const contents: ObjectRecord[] = [];
  const commonPrefixes: string[] = [];
  let truncated = false;
  let last = after;
  outer: while (maxKeys > 0) {
    const page = store.list(bucket, prefix, last, DEFAULT_MAX_KEYS);
    if (page.length === 0) break;
    for (const record of page) {
      if (contents.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break outer;
      }
      const rest = record.key.slice(prefix.length);
      const cut = delimiter === "" ? -1 : rest.indexOf(delimiter);
      if (cut >= 0) {
        const common = prefix + rest.slice(0, cut + delimiter.length);
        commonPrefixes.push(common);
        // Skip every key under this common prefix: the highest UTF-16
        // code unit sorts after any continuation of it.
        last = common + "\uffff";
        continue outer;
      }
      contents.push(record);
      last = record.key;
    }
  }

  const encode = (text: string) =>
    xml(urlEncode ? encodeURIComponent(text) : text);
  const parts = [
    `<ListBucketResult xmlns="${XMLNS}">`,
    `<Name>${xml(bucket)}</Name>`,
    `<Prefix>${encode(prefix)}</Prefix>`,
    `<KeyCount>${contents.length + commonPrefixes.length}</KeyCount>`,
    `<MaxKeys>${maxKeys}</MaxKeys>`,
    delimiter ? `<Delimiter>${encode(delimiter)}</Delimiter>` : "",
    `<IsTruncated>${truncated}</IsTruncated>`,
    token !== null
      ? `<ContinuationToken>${xml(token)}</ContinuationToken>`
      : "",
    truncated
      ? `<NextContinuationToken>${
        Buffer.from(`k:${last}`, "utf8").toString("base64url")
      }</NextContinuationToken>`
      : "",
    startAfter ? `<StartAfter>${encode(startAfter)}</StartAfter>` : "",
    urlEncode ? "<EncodingType>url</EncodingType>" : "",
    ...contents.map((record) =>
      `<Contents><Key>${encode(record.key)}</Key><LastModified>${
        new Date(record.lastModifiedMs).toISOString()
      }</LastModified>` +
      `<ETag>${
        xml(record.etag)
      }</ETag><Size>${record.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`
    ),
    ...commonPrefixes.map((common) =>
      `<CommonPrefixes><Prefix>${encode(common)}</Prefix></CommonPrefixes>`
    ),
    "</ListBucketResult>",
  ];
  sendXml(response, 200, parts.join(""));
}

/** Parses a single `bytes=` range; undefined means the whole object. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "invalid" | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // S3 serves the whole object for range forms it does not support.
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return "invalid";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return "invalid";
  return { start, end };
}

function etagMatches(condition: string, etag: string): boolean {
  return condition.split(",").map((part) => part.trim()).some((part) =>
    part === "*" || part === etag || `"${part}"` === etag
  );
}

function storedHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value !== "string") continue;
    if (name.startsWith("x-amz-meta-") || STORED_HEADERS.includes(name)) {
      headers[name] = value;
    }
  }
  // aws-chunked is a transfer framing, not a property of the object.
  if (headers["content-encoding"]) {
    const encodings = headers["content-encoding"].split(",").map((part) =>
      part.trim()
    ).filter((part) => part !== "aws-chunked");
    if (encodings.length === 0) delete headers["content-encoding"];
    else headers["content-encoding"] = encodings.join(", ");
  }
  return headers;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OBJECT_BYTES) {
        failed = true;
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => {
      if (failed) {
        reject(
          new S3Error(
            "EntityTooLarge",
            400,
            `Your proposed upload exceeds the maximum allowed size of ${MAX_OBJECT_BYTES} bytes for the local S3 server`,
          ),
        );
      } else {
        resolve(Buffer.concat(chunks));
      }
    });
    request.on("error", reject);
  });
}

async function drain(request: IncomingMessage): Promise<void> {
  for await (const _ of request) {
    // Discard: the body is not used, but must be read before replying.
  }
}

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function sendError(
  request: IncomingMessage,
  response: ServerResponse,
  error: S3Error,
): void {
  const requestId = randomUUID();
  // HEAD responses carry no body, so the SDK reads the status alone.
  if (request.method === "HEAD") {
    response.writeHead(error.status, { "x-amz-request-id": requestId });
    response.end();
    return;
  }
  const extra = Object.entries(error.extra).map(([name, value]) =>
    `<${name}>${xml(value)}</${name}>`
  ).join("");
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${
      xml(error.message)
    }</Message>` +
    `${extra}<Resource>${
      xml(request.url ?? "/")
    }</Resource><RequestId>${requestId}</RequestId></Error>`;
  response.writeHead(error.status, {
    "content-type": "application/xml",
    "content-length": Buffer.byteLength(body),
    "x-amz-request-id": requestId,
  });
  response.end(body);
}

function sendXml(response: ServerResponse, status: number, body: string): void {
  send(response, status, `<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    "content-type": "application/xml",
  });
}

function send(
  response: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    "x-amz-request-id": randomUUID(),
    ...headers,
    "content-length": String(
      typeof body === "string" ? Buffer.byteLength(body) : body.length,
    ),
  });
  response.end(body);
}
