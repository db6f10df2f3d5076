// Bucket and object storage for the local S3 server. Object bytes are
// files under `<dataDir>/s3/objects/<bucket>/`, named by the SHA-256 of the
// key so any key is a safe file name; the index (key, size, ETag, headers)
// is a SQLite table, which keeps listing sorted and cheap.

import { Buffer } from "node:buffer";
import { createHash, randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Database } from "./sqlite.ts";

/** One stored object's index row. */
export interface ObjectRecord {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  contentType: string;
  /** Stored response headers: `x-amz-meta-*`, Content-Encoding and similar. */
  headers: Record<string, string>;
  checksumAlgorithm?: string;
  checksumValue?: string;
  lastModifiedMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS buckets (
  name TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  content_type TEXT NOT NULL,
  headers TEXT NOT NULL,
  checksum_algorithm TEXT,
  checksum_value TEXT,
  last_modified_ms INTEGER NOT NULL,
  PRIMARY KEY (bucket, key)
);
`;

/** Buckets and objects on disk. */
export class ObjectStore {
  #db: Database;
  #root: string;

  constructor(db: Database, root: string) {
    this.#db = db;
    this.#root = root;
    db.exec(SCHEMA);
  }

  /** Returns the bucket's creation time, or undefined when it does not exist. */
  bucketCreated(name: string): number | undefined {
    const row = this.#db.prepare(
      "SELECT created_ms FROM buckets WHERE name = ?",
    ).get(name);
    return row ? Number(row.created_ms) : undefined;
  }

  /** Lists buckets sorted by name. */
  buckets(): { name: string; createdMs: number }[] {
    return this.#db.prepare(
      "SELECT name, created_ms FROM buckets ORDER BY name",
    ).all()
      .map((row) => ({
        name: String(row.name),
        createdMs: Number(row.created_ms),
      }));
  }

  /** Creates the bucket if missing; returns true when it was created. */
  async createBucket(name: string): Promise<boolean> {
    await mkdir(this.#bucketDir(name), { recursive: true });
    const result = this.#db.prepare(
      "INSERT OR IGNORE INTO buckets (name, created_ms) VALUES (?, ?)",
    ).run(name, Date.now());
    return Number(result.changes) > 0;
  }

  /** Deletes an empty bucket; returns false when it still contains objects. */
  async deleteBucket(name: string): Promise<boolean> {
    const row = this.#db.prepare(
      "SELECT 1 AS x FROM objects WHERE bucket = ? LIMIT 1",
    ).get(name);
    if (row) return false;
    this.#db.prepare("DELETE FROM buckets WHERE name = ?").run(name);
    await rm(this.#bucketDir(name), { recursive: true, force: true });
    return true;
  }

  /** Returns the object's index row, or undefined. */
  head(bucket: string, key: string): ObjectRecord | undefined {
    const row = this.#db.prepare(
      "SELECT * FROM objects WHERE bucket = ? AND key = ?",
    ).get(bucket, key);
    return row ? rowToRecord(row) : undefined;
  }

  /** Reads the object's bytes. */
  read(record: ObjectRecord): Promise<Buffer> {
    return readFile(this.#objectPath(record.bucket, record.key));
  }

  /**
   * Writes the bytes to a temporary file, flushes it to disk, renames it
   * over the object's file, then records the index row, so a reader sees
   * either the old or the new object, never a partial one.
   */
  async put(
    record: Omit<ObjectRecord, "size" | "etag" | "lastModifiedMs">,
    data: Buffer,
  ): Promise<ObjectRecord> {
    const path = this.#objectPath(record.bucket, record.key);
    const temporary = `${path}.${randomUUID()}.tmp`;
    const file = await open(temporary, "w");
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);

    const stored: ObjectRecord = {
      ...record,
      size: data.length,
      etag: `"${createHash("md5").update(data).digest("hex")}"`,
      lastModifiedMs: Date.now(),
    };
    this.#db.prepare(
      "INSERT OR REPLACE INTO objects (bucket, key, size, etag, content_type, headers, checksum_algorithm, checksum_value, last_modified_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      stored.bucket,
      stored.key,
      stored.size,
      stored.etag,
      stored.contentType,
      JSON.stringify(stored.headers),
      stored.checksumAlgorithm ?? null,
      stored.checksumValue ?? null,
      stored.lastModifiedMs,
    );
    return stored;
  }

  /** Deletes the object if present. */
  async delete(bucket: string, key: string): Promise<void> {
    this.#db.prepare("DELETE FROM objects WHERE bucket = ? AND key = ?").run(
      bucket,
      key,
    );
    await rm(this.#objectPath(bucket, key), { force: true });
  }

  /** Returns up to `limit` index rows with keys after `after` that start with `prefix`, sorted by UTF-8 bytes. */
  list(
    bucket: string,
    prefix: string,
    after: string,
    limit: number,
  ): ObjectRecord[] {
    // SQLite compares TEXT with memcmp on UTF-8, the order S3 lists keys
    // in, and keys sharing a prefix sort together right from the prefix.
    const records = this.#db
      .prepare(
        "SELECT * FROM objects WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key LIMIT ?",
      )
      .all(bucket, after, prefix, limit)
      .map(rowToRecord);
    const end = records.findIndex((record) => !record.key.startsWith(prefix));
    return end < 0 ? records : records.slice(0, end);
  }

  #bucketDir(bucket: string): string {
    return join(this.#root, bucket);
  }

  #objectPath(bucket: string, key: string): string {
    return join(
      this.#bucketDir(bucket),
      createHash("sha256").update(key, "utf8").digest("hex"),
    );
  }
}

function rowToRecord(row: Record<string, unknown>): ObjectRecord {
  return {
    bucket: String(row.bucket),
    key: String(row.key),
    size: Number(row.size),
    etag: String(row.etag),
    contentType: String(row.content_type),
    headers: JSON.parse(String(row.headers)),
    checksumAlgorithm: row.checksum_algorithm === null
      ? undefined
      : String(row.checksum_algorithm),
    checksumValue: row.checksum_value === null
      ? undefined
      : String(row.checksum_value),
    lastModifiedMs: Number(row.last_modified_ms),
  };
}
