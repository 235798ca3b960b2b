import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, writeSync } from "node:fs";
import mysql from "mysql2/promise";
import pg from "pg";
import { openSqliteDriver } from "../src/stores/sqlite/driver.js";
import type { MysqlTransaction } from "../src/stores/mysql/transaction.js";
import type { PgTransaction } from "../src/stores/postgres/transaction.js";
import type { SqliteTransaction } from "../src/stores/sqlite/transaction.js";
import type { StoreKind } from "./servers.js";

/**
 * One execution of a handler's side effect, as the handler recorded it. `startedAt` and
 * `finishedAt` are the child's real wall clock (never its skewed scheduler clock): handler start,
 * and the synchronous ledger append that follows `run.assertLease()` with no await between.
 */
export interface Execution {
  readonly job: string;
  readonly scheduledAt: number;
  readonly attempt: number;
  readonly token: number;
  readonly replica: string;
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** Occurrence key: `(jobId, scheduledAt)`. */
export const occurrenceKey = (job: string, scheduledAt: number): string => `${job}@${scheduledAt}`;

/** A replica's append-only ledger file: one JSON line per execution, each written and fsync'd. */
export class FileLedger {
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, "a");
  }

  /** Appends one line and waits for the disk (synchronous: no event-loop turn in between). */
  append(execution: Execution): void {
    writeSync(this.fd, `${JSON.stringify(execution)}\n`);
    fdatasyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Every complete line of a ledger file (a line cut by kill -9 is not an execution). */
export function readFileLedger(path: string): Execution[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.endsWith("}"))
    .map((line) => JSON.parse(line) as Execution);
}

/** The ledger table's columns, in insert order. */
const COLUMNS = "job_id, scheduled_at, attempt, token, replica, started_at, finished_at";

function values(e: Execution): unknown[] {
  return [e.job, e.scheduledAt, e.attempt, e.token, e.replica, e.startedAt, e.finishedAt];
}

/**
 * Writes `execution` to the ledger table through `run.transaction`'s handle, so it commits with
 * the run's `succeeded` outcome or not at all. Synchronous on SQLite, as the store requires.
 */
export function insertExecution(
  kind: StoreKind,
  tx: unknown,
  table: string,
  execution: Execution,
): unknown {
  const params = values(execution);
  switch (kind) {
    case "postgres":
      return (tx as PgTransaction).query(
        `INSERT INTO ${table} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        params,
      );
    case "mysql":
      return (tx as MysqlTransaction).query(
        `INSERT INTO ${table} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        params,
      );
    case "sqlite":
      return (tx as SqliteTransaction).run(
        `INSERT INTO ${table} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ...params,
      );
    case "redis":
      throw new Error("Redis has no run.transaction: its ledger is the file only");
  }
}

/** DDL of the ledger table: no unique key on the occurrence, so a duplicate effect shows. */
function ledgerDdl(kind: StoreKind, table: string): string {
  const id =
    kind === "postgres"
      ? "id bigserial PRIMARY KEY"
      : kind === "mysql"
        ? "id BIGINT AUTO_INCREMENT PRIMARY KEY"
        : "id INTEGER PRIMARY KEY AUTOINCREMENT";
  const text = kind === "mysql" ? "VARCHAR(200)" : "TEXT";
  return `CREATE TABLE ${table} (${id}, job_id ${text} NOT NULL, scheduled_at BIGINT NOT NULL,
    attempt INT NOT NULL, token INT NOT NULL, replica ${text} NOT NULL,
    started_at BIGINT NOT NULL, finished_at BIGINT NOT NULL)`;
}

interface LedgerRow {
  job_id: string;
  scheduled_at: string | number;
  attempt: number;
  token: number;
  replica: string;
  started_at: string | number;
  finished_at: string | number;
}

function toExecution(row: LedgerRow): Execution {
  return {
    job: row.job_id,
    scheduledAt: Number(row.scheduled_at),
    attempt: Number(row.attempt),
    token: Number(row.token),
    replica: row.replica,
    startedAt: Number(row.started_at),
    finishedAt: Number(row.finished_at),
  };
}

/** Runs `ddl` (when given) and reads the ledger table, on a connection of its own. */
async function onDatabase(
  kind: StoreKind,
  url: string,
  table: string,
  ddl: string | null,
): Promise<Execution[]> {
  const select = `SELECT ${COLUMNS} FROM ${table}`;
  if (kind === "postgres") {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      if (ddl) await client.query(ddl);
      return (await client.query<LedgerRow>(select)).rows.map(toExecution);
    } finally {
      await client.end();
    }
  }
  if (kind === "mysql") {
    const connection = await mysql.createConnection(url.replace(/^mariadb:/i, "mysql:"));
    try {
      if (ddl) await connection.query(ddl);
      const [rows] = await connection.query(select);
      return (rows as LedgerRow[]).map(toExecution);
    } finally {
      await connection.end();
    }
  }
  const driver = openSqliteDriver(url.replace(/^sqlite:(\/\/)?/i, ""), 10_000);
  try {
    if (ddl) driver.exec(ddl);
    return (driver.prepare(select).all() as LedgerRow[]).map(toExecution);
  } finally {
    driver.close();
  }
}

/** Creates the ledger table (a table the scheduler does not own) in the store's database. */
export async function createLedgerTable(
  kind: StoreKind,
  url: string,
  table: string,
): Promise<void> {
  if (kind !== "redis") await onDatabase(kind, url, table, ledgerDdl(kind, table));
}

/** Every row of the ledger table; none on Redis. */
export async function readLedgerTable(
  kind: StoreKind,
  url: string,
  table: string,
): Promise<Execution[]> {
  return kind === "redis" ? [] : onDatabase(kind, url, table, null);
}
