// Request bodies as the current @aws-sdk/client-s3 sends them: plain, or
// `aws-chunked` (hex-sized chunks, optional chunk signatures, then trailer
// headers such as `x-amz-checksum-crc32`), plus the checksums S3 verifies.

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

/** A decoded request body with the trailer headers that followed it. */
export interface DecodedBody {
  data: Buffer;
  trailers: Record<string, string>;
}

/**
 * Decodes an aws-chunked body: `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n`
 * repeated, a zero-size chunk, then `name:value\r\n` trailer lines and a
 * blank line. Chunk signatures are not checked, because any credentials
 * are accepted. Returns an error message when the framing is broken.
 */
export function decodeAwsChunked(raw: Buffer): DecodedBody | string {
  const chunks: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let position = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", position);
    if (lineEnd < 0) {
      return "aws-chunked body ends before the final zero-size chunk";
    }
    const header = raw.subarray(position, lineEnd).toString("latin1");
    const size = parseInt(header.split(";")[0], 16);
    if (!Number.isFinite(size) || size < 0) {
      return `invalid aws-chunked chunk header "${header.slice(0, 80)}"`;
    }
    position = lineEnd + 2;
    if (size === 0) break;
    if (position + size + 2 > raw.length) {
      return "aws-chunked chunk is shorter than its declared size";
    }
    chunks.push(raw.subarray(position, position + size));
    position += size;
    if (raw[position] !== 0x0d || raw[position + 1] !== 0x0a) {
      return "aws-chunked chunk is not followed by CRLF";
    }
    position += 2;
  }

  // Trailer lines until a blank line or the end of the body.
  while (position < raw.length) {
    const lineEnd = raw.indexOf("\r\n", position);
    const line = raw.subarray(position, lineEnd < 0 ? raw.length : lineEnd)
      .toString("utf8");
    position = lineEnd < 0 ? raw.length : lineEnd + 2;
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon > 0) {
      trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(
        colon + 1,
      ).trim();
    }
  }
  return { data: Buffer.concat(chunks), trailers };
}

/** Checksum algorithms the SDK may send; the value is the header suffix. */
export const CHECKSUM_ALGORITHMS = [
  "crc32",
  "crc32c",
  "crc64nvme",
  "sha1",
  "sha256",
] as const;
export type ChecksumAlgorithm = typeof CHECKSUM_ALGORITHMS[number];

function crcTable(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

// Reflected polynomials: CRC-32 (ISO-HDLC) and CRC-32C (Castagnoli).
const CRC32_TABLE = crcTable(0xedb88320);
const CRC32C_TABLE = crcTable(0x82f63b78);

function crc(table: Uint32Array, data: Uint8Array): Buffer {
  let value = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    value = table[(value ^ data[i]) & 0xff] ^ (value >>> 8);
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((value ^ 0xffffffff) >>> 0);
  return out;
}

/**
 * Returns the base64 checksum of `data` as S3 encodes it, or undefined for
 * an algorithm this server stores but does not compute (CRC64NVME).
 */
export function computeChecksum(
  algorithm: ChecksumAlgorithm,
  data: Uint8Array,
): string | undefined {
  switch (algorithm) {
    case "crc32":
      return crc(CRC32_TABLE, data).toString("base64");
    case "crc32c":
      return crc(CRC32C_TABLE, data).toString("base64");
    case "sha1":
      return createHash("sha1").update(data).digest("base64");
    case "sha256":
      return createHash("sha256").update(data).digest("base64");
    case "crc64nvme":
      // NOTE: CRC64NVME values are stored and returned but not verified.
      return undefined;
  }
}
