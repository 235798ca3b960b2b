import { registerInChunks } from "../shared/batches.js";
import { parseEpochOrNull, parseJobRow, parseScheduleRow, type RawRow } from "../shared/rows.js";
import { codeJobClash, sameSchedule, spreadOf } from "../shared/schedules.js";
import type {
  JobRecord,
  PutScheduleOutcome,
  PutScheduleResult,
  PutScheduleReturning,
  ScheduleRecord,
  ScheduleWrite,
} from "../store.js";
import { MY_NOW, type MysqlDb, type MysqlQuery } from "./connection.js";
import { jobsWhere } from "./schedule-sql.js";

/**
 * `ScheduleRecords.putSchedules` on `MysqlStore`: per chunk of a few hundred writes one
 * transaction of multi-row statements (lock, insert, rewrite, read back), so that a million
 * schedules cost thousands of round trips, not millions.
 */

const DUPLICATE_KEY = 1062;

/** Columns `putSchedules` writes, in the order of the values built below. */
const WRITE_COLUMNS = [
  "job_id",
  "hash",
  "definition",
  "anchor",
  "overlap",
  "on_abandoned",
  "max_attempts",
  "max_runs",
  "task",
  "schedule_key",
  "data",
  "next_at",
  "spread",
  "watermark",
  "paused",
  "run_count",
  "version",
  "triggered_at",
  "created_at",
  "updated_at",
] as const;

/** How many of {@link WRITE_COLUMNS}, from the first, come from the write itself. */
const FROM_WRITE = 13;

/** The first {@link FROM_WRITE} columns' values: what the write itself sets. */
function writtenValues(write: ScheduleWrite): unknown[] {
  const w = write;
  return [
    ...[w.jobId, w.hash, w.definition, w.anchor, w.overlap, w.onAbandoned, w.maxAttempts],
    ...[w.maxRuns, w.task, w.key, w.data, w.nextAt, spreadOf(w.jobId)],
  ];
}

/** What a chunk found under a write's job id, locked. */
type Stored =
  | { readonly kind: "schedule"; readonly schedule: ScheduleRecord }
  /** A code-defined job under the same id: the write is refused (`DUPLICATE_JOB`). */
  | { readonly kind: "job"; readonly job: JobRecord };

/** How one write of a chunk is applied. */
type Step =
  | { readonly outcome: "unchanged" | "conflict"; readonly schedule: ScheduleRecord }
  | { readonly outcome: "created"; readonly insert: true }
  | { readonly outcome: "created" | "updated"; readonly rewrite: unknown[] };

/** Decides one write against the row stored under its id (`now`: store now, for rewrites). */
function planWrite(
  write: ScheduleWrite,
  stored: Stored | undefined,
  mode: "create" | "upsert",
  now: number,
): Step {
  if (!stored) return { outcome: "created", insert: true };
  if (stored.kind === "job") throw codeJobClash("MysqlStore", write.jobId);
  const old = stored.schedule;
  if (sameSchedule(old, write)) return { outcome: "unchanged", schedule: old };
  if (mode === "create") return { outcome: "conflict", schedule: old };
  const version = old.hash === write.hash ? old.version : old.version + 1;
  const kept = [old.watermark, old.paused ? 1 : 0, old.runCount, version, old.triggeredAt];
  return { outcome: "updated", rewrite: [...writtenValues(write), ...kept, old.createdAt, now] };
}

/** The placeholders of `count` rows of {@link WRITE_COLUMNS}; `fresh` rows are created now. */
function rowsSql(count: number, fresh: boolean): string {
  const row = fresh
    ? `(${new Array(FROM_WRITE).fill("?").join(", ")}, NULL, 0, 0, 1, NULL, ${MY_NOW}, ${MY_NOW})`
    : `(${new Array(WRITE_COLUMNS.length).fill("?").join(", ")})`;
  return new Array<string>(count).fill(row).join(", ");
}

/**
 * One chunk of `putSchedules` (each job id at most once) in one transaction: the stored rows
 * locked (`FOR UPDATE`, with store now), the new rows inserted in one statement, the replaced
 * ones rewritten in another (rows in job id order, the order locks are taken in), the written
 * rows read back (not for `outcomes`). Two replicas creating one key: the second insert fails
 * on the key once the first commits, and the retried transaction finds the row (`unchanged` or
 * `conflict`).
 */
async function putChunk(
  db: MysqlDb,
  writes: readonly ScheduleWrite[],
  mode: "create" | "upsert",
  returning: PutScheduleReturning,
): Promise<PutScheduleOutcome[]> {
  const { jobs } = db.tables;
  const byId = <T extends { readonly jobId: string }>(list: readonly T[]): T[] =>
    [...list].sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  const body = async (query: MysqlQuery): Promise<PutScheduleOutcome[]> => {
    const rows = await query(
      `SELECT *, ${MY_NOW} AS now_ms FROM ${jobs} WHERE job_id IN (?) ORDER BY job_id FOR UPDATE`,
      [writes.map((w) => w.jobId)],
    );
    const stored = new Map(rows.map((row) => [String(row.job_id), storedRow(db, row)]));
    // Store now, for the rows rewritten below (they exist, so a row carried it).
    const now = parseEpochOrNull(rows[0]?.now_ms, "now_ms", db.where) ?? 0;
    const steps = writes.map((w) => planWrite(w, stored.get(w.jobId), mode, now));
    const inserts = byId(writes.filter((_, i) => "insert" in steps[i]!));
    if (inserts.length > 0) {
      await query(
        `INSERT INTO ${jobs} (${WRITE_COLUMNS.join(", ")}) VALUES ${rowsSql(inserts.length, true)}`,
        inserts.flatMap(writtenValues),
      );
    }
    const rewrites = byId(
      steps.flatMap((step, i) =>
        "rewrite" in step ? [{ jobId: writes[i]!.jobId, values: step.rewrite }] : [],
      ),
    );
    if (rewrites.length > 0) {
      const replace = WRITE_COLUMNS.slice(1).map((column) => `${column} = VALUES(${column})`);
      await query(
        `INSERT INTO ${jobs} (${WRITE_COLUMNS.join(", ")}) VALUES ${rowsSql(rewrites.length, false)}
         ON DUPLICATE KEY UPDATE ${replace.join(", ")}`,
        rewrites.flatMap((r) => r.values),
      );
    }
    if (returning === "outcomes") return steps.map(({ outcome }) => ({ outcome }));
    const written = [...inserts, ...rewrites].map((w) => w.jobId);
    const fresh =
      written.length > 0 ? await readSchedules(db, query, written) : new Map<string, never>();
    return steps.map((step, i): PutScheduleResult => {
      if ("schedule" in step) return { outcome: step.outcome, schedule: step.schedule };
      return { outcome: step.outcome, schedule: fresh.get(writes[i]!.jobId) as ScheduleRecord };
    });
  };
  return db.transaction("putSchedules", body, [DUPLICATE_KEY]);
}

/** A locked jobs row: a schedule, or a code-defined job. @throws `CORRUPT_ROW`. */
function storedRow(db: MysqlDb, row: RawRow): Stored {
  if (row.task === null || row.task === undefined) {
    return { kind: "job", job: parseJobRow(row, jobsWhere(db)) };
  }
  return { kind: "schedule", schedule: parseScheduleRow(row, jobsWhere(db)) };
}

/** The schedules under `jobIds`, by job id. @throws `CORRUPT_ROW`. */
async function readSchedules(
  db: MysqlDb,
  query: MysqlQuery,
  jobIds: readonly string[],
): Promise<Map<string, ScheduleRecord>> {
  const rows = await query(`SELECT * FROM ${db.tables.jobs} WHERE job_id IN (?)`, [jobIds]);
  return new Map(rows.map((row) => [String(row.job_id), parseScheduleRow(row, jobsWhere(db))]));
}

/** `putSchedules`: chunk after chunk (a repeated key starts a new one); results in order. */
export function putSchedules(
  db: MysqlDb,
  writes: readonly ScheduleWrite[],
  mode: "create" | "upsert",
  returning: PutScheduleReturning,
): Promise<PutScheduleOutcome[]> {
  return registerInChunks(writes, (chunk) => putChunk(db, chunk, mode, returning));
}
