import { createHash } from "node:crypto";
import { BelfryError, wrapError } from "../../errors.js";
import { MIGRATIONS } from "../sql/migrations.js";
import { PG_NOW, type PgDb } from "./connection.js";

/**
 * Applies the bundled `postgres` migrations that the ledger does not list, all in one
 * transaction under a transaction-level advisory lock keyed on schema and prefix, so that N
 * replicas starting at once migrate once and the others wait, then find nothing to do.
 */
export async function migrate(db: PgDb, schema: string, prefix: string): Promise<void> {
  const key = advisoryKey(`${schema}.${prefix}`);
  try {
    await db.transaction("init", async (query) => {
      await query("SELECT pg_advisory_xact_lock($1::bigint)", [key]);
      const found = await query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
      if (found.length === 0) await query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await query(
        `CREATE TABLE IF NOT EXISTS ${db.tables.migrations} (version INTEGER PRIMARY KEY, ` +
          "name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
      );
      const applied = new Set(
        (await query(`SELECT version FROM ${db.tables.migrations}`)).map((r) => Number(r.version)),
      );
      for (const migration of MIGRATIONS.postgres ?? []) {
        if (applied.has(migration.version)) continue;
        await query(
          migration.sql.replaceAll("{{schema}}", schema).replaceAll("{{prefix}}", prefix),
        );
        await query(
          `INSERT INTO ${db.tables.migrations} (version, name, applied_at) VALUES ($1, $2, ${PG_NOW})`,
          [migration.version, migration.name],
        );
      }
    });
  } catch (error) {
    const cause = error instanceof BelfryError && error.cause ? error.cause : error;
    throw wrapError("MIGRATION", `${db.where}.init: migrating ${schema}.${prefix}*`, cause);
  }
}

/**
 * The versions in the migration ledger, read without writing; null when there is no ledger
 * (nothing of belfry's at this schema and prefix).
 */
export async function appliedMigrations(
  db: PgDb,
  schema: string,
  prefix: string,
): Promise<Set<number> | null> {
  const ledger = `${schema}.${prefix}migrations`;
  const [row] = await db.rows("init", "SELECT to_regclass($1) IS NOT NULL AS found", [ledger]);
  if (row?.found !== true) return null;
  const rows = await db.rows("init", `SELECT version FROM ${db.tables.migrations}`);
  return new Set(rows.map((r) => Number(r.version)));
}

/** A stable signed 64-bit advisory-lock key (decimal string) for `name`. */
function advisoryKey(name: string): string {
  const digest = createHash("sha256").update(`belfry:migrate:${name}`).digest();
  return digest.readBigInt64BE(0).toString();
}
