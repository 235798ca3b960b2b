import { BelfryError } from "../../errors.js";
import type { Migration } from "../sql/migrations.js";

/** What every store's options accept about its schema. */
export interface SchemaOptions {
  /**
   * Apply missing migrations in `init()` (default true). With `false`, `init()` writes
   * nothing: it connects, checks that the schema is at the version this release needs
   * (else `SCHEMA_MISSING`), and keeps server settings warnings in `settingsWarnings` only.
   * For teams that migrate in a deploy step (`belfry migrate --store <url>`); the read-only
   * CLI commands open stores this way.
   */
  readonly autoMigrate?: boolean;
}

/**
 * Checks a migration ledger read without writing: `applied` is null when there is no ledger.
 * @throws BelfryError `SCHEMA_MISSING` naming `target` and the missing migrations.
 */
export function assertMigrated(
  where: string,
  target: string,
  applied: ReadonlySet<number> | null,
  expected: readonly Migration[],
): void {
  if (applied === null) throw schemaMissing(where, target, "holds no belfry schema");
  const missing = expected.filter((migration) => !applied.has(migration.version));
  if (missing.length > 0) {
    const names = missing.map((migration) => migration.name).join(", ");
    throw schemaMissing(where, target, `lacks belfry migrations ${names}`);
  }
}

/** The `SCHEMA_MISSING` error for `target`, with how to migrate it. */
export function schemaMissing(where: string, target: string, what: string): BelfryError {
  return new BelfryError(
    "SCHEMA_MISSING",
    `${where}: ${target} ${what}; run \`belfry migrate --store <url>\`, or start a scheduler on it with autoMigrate left on`,
  );
}
