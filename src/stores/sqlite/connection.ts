import type { Clock } from "../../clock.js";
import { BelfryError, wrapError } from "../../errors.js";
import { parseJobRow, parseRunRow, type RawRow } from "../rows.js";
import * as writes from "../../protocol/transitions.js";
import { decideOrRefuse } from "../../protocol/claim.js";
import { newRunId, runUpdateValues, runValues } from "../sql/shared.js";
import {
  migrateSqlite,
  openSqlite,
  prepareStatements,
  type SqliteDatabase,
  type SqliteStatements,
} from "./setup.js";
import type { ClaimedRun, ClaimRequest, ClaimResult, JobRecord, RunRecord } from "../store.js";

/** What {@link SqliteConnection.open} needs. */
export interface SqliteConnectionOptions {
  readonly path: string;
  readonly prefix: string;
  readonly busyTimeoutMs: number;
  readonly clock: Clock;
  /** Names the store in every error, e.g. `SqliteStore("/var/lib/app.db")`. */
  readonly where: string;
}

/**
 * One open, migrated SQLite connection of {@link SqliteStore}: transactions, typed row reads and
 * fenced run writes. Everything here is synchronous (node:sqlite or better-sqlite3), so one transaction never
 * interleaves with another in this process, and `BEGIN IMMEDIATE` serialises it with other
 * processes.
 */
export class SqliteConnection {
  private constructor(
    private readonly db: SqliteDatabase,
    /** The prepared statements. */
    readonly sql: SqliteStatements,
    private readonly options: SqliteConnectionOptions,
  ) {}

  /**
   * Opens the file (WAL, busy timeout), applies migrations and prepares statements.
   * @throws BelfryError `STORE_CONNECT` or `MIGRATION`.
   */
  static open(options: SqliteConnectionOptions): SqliteConnection {
    const db = openSqlite(options.path, options.busyTimeoutMs, options.where);
    try {
      migrateSqlite(db, options.prefix, () => options.clock.now(), options.where);
      return new SqliteConnection(db, prepareStatements(db, options.prefix), options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Closes the database handle. */
  close(): void {
    this.db.close();
  }

  /**
   * Runs `fn` inside `BEGIN IMMEDIATE … COMMIT`, with store now read once the write lock is held.
   * @throws BelfryError `STORE_ERROR` (or the `BelfryError` `fn` threw, e.g. `CORRUPT_ROW`).
   */
  write<T>(operation: string, fn: (now: number) => T): T {
    try {
      return this.db.immediate(() => fn(this.options.clock.now()));
    } catch (error) {
      throw wrapError("STORE_ERROR", `${this.options.where}.${operation}`, error);
    }
  }

  /** Runs reads in one deferred transaction (a consistent snapshot). */
  read<T>(operation: string, fn: () => T): T {
    try {
      return this.db.deferred(fn);
    } catch (error) {
      throw wrapError("STORE_ERROR", `${this.options.where}.${operation}`, error);
    }
  }

  /** Runs an ad-hoc query (history filters) and returns its rows. */
  all(text: string, params: readonly unknown[]): RawRow[] {
    return this.db.prepare(text).all(...params) as RawRow[];
  }

  /** Names a table for error messages: `SqliteStore("…") table belfry_jobs`. */
  table(name: string): string {
    return `${this.options.where} table ${this.options.prefix}${name}`;
  }

  /** The job row, or null. @throws `CORRUPT_ROW`. */
  readJob(jobId: string): JobRecord | null {
    const row = this.sql.jobGet.get(jobId) as RawRow | undefined;
    return row ? parseJobRow(row, this.table("jobs")) : null;
  }

  /** The run row, or null. @throws `CORRUPT_ROW`. */
  readRun(runId: string): RunRecord | null {
    const row = this.sql.runGet.get(runId) as RawRow | undefined;
    return row ? this.parseRun(row) : null;
  }

  /** Parses a runs row. @throws `CORRUPT_ROW`. */
  parseRun(row: RawRow): RunRecord {
    return parseRunRow(row, this.table("runs"));
  }

  /** True when the job has a `claimed`/`running` run whose lease has not expired at `now`. */
  hasActiveRun(jobId: string, now: number): boolean {
    return this.sql.runHasActive.get(jobId, now) !== undefined;
  }

  /** The job's oldest `queued` run, or null. */
  firstQueued(jobId: string): RunRecord | null {
    const row = this.sql.runFirstQueued.get(jobId) as RawRow | undefined;
    return row ? this.parseRun(row) : null;
  }

  /**
   * One claim inside the batch's transaction: read, decide (`protocol/claim.ts`), write. A corrupt
   * row of the request's job is read before anything is written, so it refuses only this
   * request (its `error` result).
   */
  claimOne(request: ClaimRequest, now: number): ClaimResult {
    const decision = decideOrRefuse(request, () => ({
      job: this.readJob(request.jobId),
      now,
      hasActiveRun: this.hasActiveRun(request.jobId, now),
      hasQueuedRun: this.firstQueued(request.jobId) !== null,
    }));
    if (decision.kind === "refuse") return decision.result;
    const { rows, result } = writes.claimRows(request, decision.write, now, newRunId);
    rows.forEach((row, i) => {
      const insert = i < rows.length - 1 ? this.sql.runInsertIgnore : this.sql.runInsert;
      insert.run(...runValues(row));
    });
    const counts = decision.write.countsAsRun ? 1 : 0;
    this.sql.jobAdvance.run(request.scheduledAt, counts, request.jobId);
    return result;
  }

  /** Writes the whole row `after`, fenced by the token read before (inside a transaction). */
  saveRun(after: RunRecord, tokenBefore: number): void {
    const changed = this.sql.runUpdate.run(...runUpdateValues(after, tokenBefore)).changes;
    if (changed !== 1) {
      const where = this.table("runs");
      throw new BelfryError("STORE_ERROR", `${where}: run ${after.runId} changed under the lock`);
    }
  }

  /** Hands `run` to `replicaId` with a new token and lease (inside a transaction). */
  takeOver(
    run: RunRecord,
    replicaId: string,
    leaseMs: number,
    now: number,
    nextAttempt: boolean,
  ): ClaimedRun {
    const after = writes.takenOverRow(run, replicaId, leaseMs, now, nextAttempt);
    this.saveRun(after, run.token);
    return writes.toClaimedRun(after);
  }
}
