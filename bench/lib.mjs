// Shared helpers of the benchmarks: server URLs, run-unique names, percentiles, clean-up.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";

/** The local servers (never anything but 127.0.0.1). */
export const URLS = {
  postgres: process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  mysql: process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test",
  redis: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
};

/** A short id unique to this run, used in every table, schema, key and queue name. */
export function runTag() {
  return `b${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
}

/** The value at quantile `q` (0…1) of `values`, nearest rank; NaN when empty. */
export function percentile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** `x` rounded to `digits` decimals (a number, for JSON). */
export function round(x, digits = 2) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const pending = new Set();
let listening = false;

/**
 * Registers a clean-up (drop a schema, delete keys, stop child processes) to run if the bench is
 * interrupted by SIGINT or SIGTERM; returns the function to call on the normal path instead,
 * which runs it once and unregisters it.
 */
export function cleanupOnSignal(cleanup) {
  const entry = { cleanup };
  pending.add(entry);
  if (!listening) {
    listening = true;
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  return async () => {
    if (!pending.delete(entry)) return;
    await cleanup();
  };
}

async function onSignal(signal) {
  process.stderr.write(`[bench] ${signal}: cleaning up ${pending.size} item(s)\n`);
  const all = [...pending];
  pending.clear();
  await Promise.allSettled(all.map((e) => e.cleanup()));
  process.exit(130);
}

/** Drops a PostgreSQL schema and everything in it. */
export async function dropPgSchema(schema) {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: URLS.postgres });
  await client.connect();
  try {
    // A schema with thousands of tables (pg-boss: a partition per queue) cannot be dropped in
    // one transaction (max_locks_per_transaction): drop its tables a few hundred at a time.
    for (;;) {
      const { rows } = await client.query(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
         ORDER BY c.relispartition DESC LIMIT 200`,
        [schema],
      );
      if (rows.length < 2) break;
      const list = rows.map((r) => `"${schema}"."${r.relname}"`).join(", ");
      await client.query(`DROP TABLE IF EXISTS ${list} CASCADE`);
    }
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Drops every MySQL table whose name starts with `prefix`. */
export async function dropMysqlTables(prefix) {
  const mysql = await import("mysql2/promise");
  const conn = await mysql.createConnection(URLS.mysql);
  try {
    const [rows] = await conn.query(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?",
      [`${prefix}%`],
    );
    for (const { t } of rows) await conn.query(`DROP TABLE IF EXISTS \`${t}\``);
  } finally {
    await conn.end();
  }
}

/** Deletes every Redis key that starts with `prefix` (SCAN + UNLINK: never the others' keys). */
export async function deleteRedisKeys(prefix) {
  const { Redis } = await import("ioredis");
  const redis = new Redis(URLS.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    let cursor = "0";
    let rounds = 0;
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== "0" && ++rounds < 1_000_000);
  } finally {
    redis.disconnect();
  }
}

/** Removes a temp folder. */
export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Server versions, for the record. */
export async function serverVersions() {
  const out = {};
  try {
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: URLS.postgres });
    await client.connect();
    out.postgres = (await client.query("SHOW server_version")).rows[0].server_version;
    await client.end();
  } catch (error) {
    out.postgres = `unreachable (${error.message})`;
  }
  try {
    const mysql = await import("mysql2/promise");
    const conn = await mysql.createConnection(URLS.mysql);
    const [rows] = await conn.query("SELECT VERSION() AS v");
    out.mysql = rows[0].v;
    await conn.end();
  } catch (error) {
    out.mysql = `unreachable (${error.message})`;
  }
  try {
    const { Redis } = await import("ioredis");
    const redis = new Redis(URLS.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    const info = await redis.info("server");
    out.redis = /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
    redis.disconnect();
  } catch (error) {
    out.redis = `unreachable (${error.message})`;
  }
  return out;
}
