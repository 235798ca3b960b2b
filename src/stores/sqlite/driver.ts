import { createRequire } from "node:module";
import { BelfryError } from "../../errors.js";

/**
 * The SQLite driver behind {@link SqliteStore}: Node's built-in `node:sqlite` where the runtime
 * has it (Node ≥ 22.13, no native addon to build), else better-sqlite3 (Node 20). Why both:
 * better-sqlite3 12 — the last line that runs on Node 20 — aborts the process on Node 24 when a
 * garbage-collected statement is finalized (a `RemoveEnvironmentCleanupHook` assertion; the
 * upstream report was closed without a fix), and 13.x does not run on Node 20.
 *
 * Statements are cached per SQL text for the connection's life, so none is ever collected
 * while the connection is open.
 */

/** A prepared statement; parameters are numbers, strings, bigints or null. */
export interface SqliteStatement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number | bigint };
}

/** One open SQLite connection. */
export interface SqliteDriver {
  /** `node:sqlite` or `better-sqlite3`. */
  readonly name: string;
  exec(sql: string): void;
  /** A cached prepared statement for `sql`. */
  prepare(sql: string): SqliteStatement;
  /** Runs `fn` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws. */
  immediate<T>(fn: () => T): T;
  /** Runs `fn` inside `BEGIN … COMMIT` (a read snapshot), rolling back when it throws. */
  deferred<T>(fn: () => T): T;
  close(): void;
}

interface NodeSqliteModule {
  DatabaseSync: new (
    path: string,
    options?: { timeout?: number },
  ) => {
    exec(sql: string): void;
    prepare(sql: string): SqliteStatement;
    close(): void;
  };
}

interface BetterSqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  transaction<T>(fn: () => T): { immediate(): T; deferred(): T };
  close(): void;
}

type BetterSqliteConstructor = new (
  path: string,
  options?: { timeout?: number },
) => BetterSqliteDatabase;

/** `node:sqlite` when this runtime provides it without a flag, else null. */
function builtinSqlite(): NodeSqliteModule | null {
  try {
    return (process.getBuiltinModule?.("node:sqlite") as NodeSqliteModule | undefined) ?? null;
  } catch {
    return null;
  }
}

/**
 * Opens `path` with a (synchronous) busy timeout on the best driver this runtime has. Switching
 * to WAL needs a lock, so the store does it, retrying on busy (`connection.ts`); a file already
 * in WAL mode stays so. Throws whatever the driver throws (the store wraps it as `STORE_CONNECT`).
 */
export function openSqliteDriver(path: string, busyTimeoutMs: number): SqliteDriver {
  const timeout = Math.max(0, Math.floor(busyTimeoutMs));
  const builtin = builtinSqlite();
  const driver = builtin ? fromNodeSqlite(builtin, path, timeout) : fromBetterSqlite(path, timeout);
  try {
    driver.exec(`PRAGMA busy_timeout = ${timeout}`);
  } catch (error) {
    driver.close();
    throw error;
  }
  return driver;
}

function cached(prepare: (sql: string) => SqliteStatement): (sql: string) => SqliteStatement {
  const statements = new Map<string, SqliteStatement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = prepare(sql)));
    return statement;
  };
}

function fromNodeSqlite(module: NodeSqliteModule, path: string, timeout: number): SqliteDriver {
  const db = new module.DatabaseSync(path, { timeout });
  const inTransaction = <T>(begin: string, fn: () => T): T => {
    db.exec(begin);
    try {
      const result = fn();
      db.exec("COMMIT");
      return result;
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  };
  return {
    name: "node:sqlite",
    exec: (sql) => db.exec(sql),
    prepare: cached((sql) => db.prepare(sql)),
    immediate: (fn) => inTransaction("BEGIN IMMEDIATE", fn),
    deferred: (fn) => inTransaction("BEGIN", fn),
    close: () => db.close(),
  };
}

/** better-sqlite3, an optional peer dependency needed only where `node:sqlite` is missing. */
function loadBetterSqlite(): BetterSqliteConstructor {
  try {
    return createRequire(import.meta.url)("better-sqlite3") as BetterSqliteConstructor;
  } catch (cause) {
    throw new BelfryError(
      "MISSING_DEPENDENCY",
      `SqliteStore: Node ${process.versions.node} has no built-in node:sqlite (it needs Node ≥ 22.13), so the SQLite store needs the better-sqlite3 package: run \`npm install better-sqlite3@12\`, or upgrade Node`,
      { cause },
    );
  }
}

function fromBetterSqlite(path: string, timeout: number): SqliteDriver {
  const Database = loadBetterSqlite();
  const db = new Database(path, { timeout });
  return {
    name: "better-sqlite3",
    exec: (sql) => db.exec(sql),
    prepare: cached((sql) => db.prepare(sql)),
    immediate: (fn) => db.transaction(fn).immediate(),
    deferred: (fn) => db.transaction(fn).deferred(),
    close: () => db.close(),
  };
}
