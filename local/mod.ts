// The embedded local stack: an SQS-compatible endpoint (AWS JSON 1.0) and
// a path-style S3-compatible server, both stored under one data directory.
// Runs in-process on Node 20 (tests) and on Deno (`deno task local`).

import { constants } from "node:fs";
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { join, resolve } from "node:path";
import process from "node:process";
import { acquireDataLock, LOCK_FILE } from "./data-lock.ts";
import { type Logger, silentLogger } from "./log.ts";
import { QueueStore } from "./queue-store.ts";
import { ObjectStore } from "./s3-store.ts";
import { createS3Server } from "./s3-server.ts";
import { type Database, openDatabase } from "./sqlite.ts";
import { createSqsServer } from "./sqs-server.ts";

export { jsonLogger, type Logger, silentLogger } from "./log.ts";

/** Options for {@link startLocalStack}. */
export interface LocalStackOptions {
  /** SQS port; 0 (the default) picks a free one. */
  sqsPort?: number;
  /** S3 port; 0 (the default) picks a free one. */
  s3Port?: number;
  /** Directory for `sqs.sqlite`, `s3.sqlite` and `s3/objects/`; created if missing. */
  dataDir: string;
  /** Loopback address to bind; default `127.0.0.1`. Other addresses are rejected. */
  host?: string;
  /** Structured log sink; default discards. */
  log?: Logger;
}

/** A running local stack. */
export interface LocalStack {
  /** e.g. `http://127.0.0.1:4566`; queue URLs are `{sqsEndpoint}/000000000000/{name}`. */
  sqsEndpoint: string;
  /** e.g. `http://127.0.0.1:4569`; use with `forcePathStyle: true`. */
  s3Endpoint: string;
  /** Stops both servers, ends pending long polls and closes the databases. */
  stop(): Promise<void>;
}

/** A startup failure with a one-line message naming the flag, port or path. */
export class LocalStackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LocalStackError";
  }
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * Starts the SQS endpoint and the S3 server and resolves once both accept
 * connections. Throws LocalStackError when the data directory is not
 * writable or is used by another running stack, a port is in use, or
 * `host` is not a loopback address.
 */
export async function startLocalStack(
  options: LocalStackOptions,
): Promise<LocalStack> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new LocalStackError(
      `Host must be a loopback address (127.0.0.1, ::1 or localhost), found "${host}"`,
    );
  }
  const log = options.log ?? silentLogger;
  const dataDir = resolve(options.dataDir);
  await ensureWritableDirectory(dataDir);
  const lock = await acquireDataLock(dataDir);
  if ("heldBy" in lock) {
    throw new LocalStackError(
      `Data directory ${dataDir} is in use by process ${lock.heldBy}; stop it or remove ${
        join(dataDir, LOCK_FILE)
      }`,
    );
  }

  const databases: Database[] = [];
  const servers: Server[] = [];
  let stopSqs = () => {};
  const release = async () => {
    await shutdown(servers, databases, stopSqs);
    await lock.release();
  };
  try {
    const sqsDb = await openDatabase(join(dataDir, "sqs.sqlite"));
    databases.push(sqsDb);
    const s3Db = await openDatabase(join(dataDir, "s3.sqlite"));
    databases.push(s3Db);

    const sqs = createSqsServer(new QueueStore(sqsDb), log);
    stopSqs = sqs.stop;
    servers.push(sqs.server);
    const sqsPort = await listen(sqs.server, options.sqsPort ?? 0, host, "SQS");
    const sqsEndpoint = `http://${urlHost(host)}:${sqsPort}`;
    sqs.setEndpoint(sqsEndpoint);

    const objectsDir = join(dataDir, "s3", "objects");
    await mkdir(objectsDir, { recursive: true });
    const s3 = createS3Server(new ObjectStore(s3Db, objectsDir), log);
    servers.push(s3);
    const s3Port = await listen(s3, options.s3Port ?? 0, host, "S3");
    const s3Endpoint = `http://${urlHost(host)}:${s3Port}`;

    log({
      event: "local_stack_started",
      sqs_endpoint: sqsEndpoint,
      s3_endpoint: s3Endpoint,
      data_dir: dataDir,
      sqlite: sqsDb.driver,
    });
    let stopping: Promise<void> | undefined;
    return {
      sqsEndpoint,
      s3Endpoint,
      stop: () => {
        stopping ??= release().then(() =>
          log({ event: "local_stack_stopped" })
        );
        return stopping;
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

async function ensureWritableDirectory(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.W_OK);
    // access() trusts permission bits; a real write also catches
    // read-only mounts.
    const probe = join(dataDir, `.write-probe-${process.pid}`);
    await writeFile(probe, "");
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new LocalStackError(
      `Data directory ${dataDir} is not writable (${code})`,
    );
  }
}

function listen(
  server: Server,
  port: number,
  host: string,
  name: string,
): Promise<number> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return Promise.reject(
      new LocalStackError(
        `${name} port must be an integer from 0 to 65535, found ${port}`,
      ),
    );
  }
  return new Promise((resolvePort, reject) => {
    const onError = (error: Error & { code?: string }) => {
      server.off("listening", onListening);
      const reason = error.code === "EADDRINUSE"
        ? "is already in use"
        : `cannot be opened (${error.code ?? error.message})`;
      reject(new LocalStackError(`${name} port ${port} on ${host} ${reason}`));
    };
    const onListening = () => {
      server.off("error", onError);
      const address = server.address();
      resolvePort(typeof address === "object" && address ? address.port : port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

function urlHost(host: string): string {
  return host === "::1" ? "[::1]" : host;
}

async function shutdown(
  servers: Server[],
  databases: Database[],
  stopSqs: () => void,
): Promise<void> {
  stopSqs();
  await Promise.all(servers.map((server) =>
    new Promise<void>((done) => {
      if (!server.listening) return done();
      server.close(() => done());
      // Keep-alive connections would hold close() open until they idle out.
      (server as Server & { closeAllConnections?: () => void })
        .closeAllConnections?.();
    })
  ));
  for (const db of databases) {
    try {
      db.close();
    } catch {
      // Already closed: stop() is idempotent.
    }
  }
}
