import { createHash } from "node:crypto";
import type { PgTables } from "./connection.js";

/**
 * The `NOTIFY` side of `PostgresStore.onScheduleChange`: the channel of one schema and table
 * prefix, and the SQL that notifies it from inside a write statement (the notification is
 * delivered when that statement commits, never for a write that rolled back).
 */

/** PostgreSQL truncates identifiers (and refuses `pg_notify` channels) past 63 bytes. */
const MAX_CHANNEL = 63;

/**
 * The channel of the schedules in `tables`: `<schema>.<prefix>jobs:schedules`, or, when that
 * is longer than PostgreSQL allows, its first 50 characters and 12 hex digits of its SHA-256
 * (schema and prefix are plain ASCII identifiers, so characters are bytes).
 */
export function scheduleChannel(tables: PgTables): string {
  const name = `${tables.jobs}:schedules`;
  if (name.length <= MAX_CHANNEL) return name;
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 12);
  return `${name.slice(0, MAX_CHANNEL - 13)}_${digest}`;
}

/** `channel` as a quoted SQL identifier, for `LISTEN` (which takes no parameter). */
export function quoteChannel(channel: string): string {
  return `"${channel.replaceAll('"', '""')}"`;
}

/**
 * A select-list column that notifies `channel` (an SQL parameter such as `$3`) once when
 * `condition` holds. Evaluated once per statement (an uncorrelated subquery), and only when the
 * statement returns a row.
 */
export function notifyColumn(channel: string, condition: string): string {
  return `(SELECT pg_notify(${channel}, '') WHERE ${condition}) AS notified`;
}
