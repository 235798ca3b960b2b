import { wrapError } from "../../errors.js";
import { MIGRATIONS, type Migration } from "../sql/migrations.js";
import { ledgerDdl, renderSql } from "../sql/shared.js";
import type { BusyLane } from "./busy.js";
import type { SqliteDriver } from "./driver.js";

/** The two lanes of one connection: reads never queue behind writes waiting for the lock. */
export interface SqliteLanes {
  readonly reads: BusyLane;
  readonly writes: BusyLane;
}

/**
 * Applies the bundled SQLite migrations not yet in the ledger. The ledger is read first without
 * the write lock, so a process starting while another holds the lock has nothing to wait for
 * once the file is migrated. Each missing migration runs inside `BEGIN IMMEDIATE` together with
 * its ledger row (checked again under the lock), so N processes starting at once migrate exactly
 * once; a busy file is retried asynchronously (`busy.ts`).
 * @throws BelfryError `MIGRATION` naming the migration that failed.
 */
export async function migrateSqlite(
  db: SqliteDriver,
  lanes: SqliteLanes,
  prefix: string,
  now: () => number,
  where: string,
): Promise<void> {
  const ledger = `${prefix}migrations`;
  let step = `reading ${ledger}`;
  try {
    const applied = await lanes.reads.run(() => appliedVersions(db, ledger));
    for (const migration of MIGRATIONS.sqlite ?? []) {
      if (applied.has(migration.version)) continue;
      step = `migration ${migration.name}`;
      const apply = () => applyOnce(db, migration, prefix, where, now());
      await lanes.writes.run(() => db.immediate(apply));
    }
  } catch (error) {
    throw wrapError("MIGRATION", `${where}: ${step}`, error);
  }
}

/** Applies `migration` with its ledger row unless the ledger has it (inside `BEGIN IMMEDIATE`). */
function applyOnce(
  db: SqliteDriver,
  migration: Migration,
  prefix: string,
  where: string,
  now: number,
): void {
  const ledger = `${prefix}migrations`;
  db.exec(ledgerDdl(prefix, where));
  if (db.prepare(`SELECT 1 FROM ${ledger} WHERE version = ?`).get(migration.version)) return;
  db.exec(renderSql(migration.sql, prefix, where));
  db.prepare(`INSERT INTO ${ledger} (version, name, applied_at) VALUES (?, ?, ?)`).run(
    migration.version,
    migration.name,
    now,
  );
}

/** Versions recorded in the ledger; none when the ledger table does not exist yet. */
function appliedVersions(db: SqliteDriver, ledger: string): Set<number> {
  return readLedger(db, ledger) ?? new Set();
}

/** Versions recorded in the ledger, read without writing; null when there is no ledger. */
export function readLedger(db: SqliteDriver, ledger: string): Set<number> | null {
  const table = `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`;
  if (db.prepare(table).get(ledger) === undefined) return null;
  const rows = db.prepare(`SELECT version FROM ${ledger}`).all() as { version: unknown }[];
  return new Set(rows.map((row) => Number(row.version)));
}
