// A small SQLite adapter that runs on Deno and on Node 20. Deno ships
// `node:sqlite` (DatabaseSync); Node 20 does not, so there the installed
// `better-sqlite3` package opens the same file format.

/** Value types that bind to `?` placeholders. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** A prepared statement with positional parameters. */
export interface Statement {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): Record<string, unknown> | undefined;
  all(...params: SqlValue[]): Record<string, unknown>[];
}

/** The few database calls the local stack uses. */
export interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
  /** Name of the driver that opened the file: `node:sqlite` or `better-sqlite3`. */
  readonly driver: string;
}

type DatabaseConstructor = new (path: string) => {
  exec(sql: string): unknown;
  prepare(sql: string): Statement;
  close(): void;
};

let cachedDriver: { name: string; open: DatabaseConstructor } | undefined;

async function loadDriver(): Promise<
  { name: string; open: DatabaseConstructor }
> {
  if (cachedDriver) return cachedDriver;
  try {
    const builtin = await import("node:sqlite");
    cachedDriver = {
      name: "node:sqlite",
      open: builtin.DatabaseSync as unknown as DatabaseConstructor,
    };
  } catch {
    // Node 20 has no node:sqlite: fall back to the native addon.
    const specifier = "better-sqlite3";
    const addon = await import(specifier);
    cachedDriver = {
      name: "better-sqlite3",
      open: (addon.default ?? addon) as DatabaseConstructor,
    };
  }
  return cachedDriver;
}

/**
 * Opens (or creates) the SQLite database at `path` in WAL mode with
 * `synchronous = FULL`, so a committed transaction survives a crash of the
 * process and of the machine. Throws when the file cannot be opened.
 */
export async function openDatabase(path: string): Promise<Database> {
  const driver = await loadDriver();
  const db = new driver.open(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA busy_timeout = 5000");
  return {
    driver: driver.name,
    exec: (sql) => void db.exec(sql),
    prepare: (sql) => db.prepare(sql),
    close: () => db.close(),
  };
}

/**
 * Runs `work` inside `BEGIN IMMEDIATE … COMMIT`, rolling back on a throw.
 * A durable transaction (the default) is on disk when this returns. A
 * relaxed one skips the fsync: it survives a crash of the process, and a
 * power loss can undo it until the next durable commit flushes the WAL.
 */
export function transaction<T>(
  db: Database,
  work: () => T,
  durability: "durable" | "relaxed" = "durable",
): T {
  if (durability === "relaxed") db.exec("PRAGMA synchronous = NORMAL");
  try {
    db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      db.exec("COMMIT");
      return result;
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  } finally {
    if (durability === "relaxed") db.exec("PRAGMA synchronous = FULL");
  }
}
