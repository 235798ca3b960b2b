// The test servers' URLs and a clean-up of what a test created under a prefix.
import mysql from "mysql2/promise";
import pg from "pg";
import { Redis } from "ioredis";

export const POSTGRES =
  process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL = process.env.BELFRY_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
export const REDIS = process.env.BELFRY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * Drops the PostgreSQL (schema `public`) and MySQL tables whose names start with `prefix`, and
 * the Redis keys starting with `prefix` in each of `redisDbs`.
 */
export async function dropPrefix(prefix: string, redisDbs: readonly number[] = [0]): Promise<void> {
  const pgAdmin = new pg.Pool({ connectionString: POSTGRES, max: 1 });
  const { rows } = await pgAdmin.query("SELECT tablename FROM pg_tables WHERE tablename LIKE $1", [
    `${prefix}%`,
  ]);
  for (const row of rows as { tablename: string }[]) {
    await pgAdmin.query(`DROP TABLE IF EXISTS public.${row.tablename} CASCADE`);
  }
  await pgAdmin.end();
  const myAdmin = mysql.createPool({ uri: MYSQL, connectionLimit: 1 });
  const [tables] = await myAdmin.query(
    "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?",
    [`${prefix}%`],
  );
  for (const row of tables as { t: string }[]) await myAdmin.query(`DROP TABLE \`${row.t}\``);
  await myAdmin.end();
  for (const db of redisDbs) {
    const redis = new Redis(REDIS, { db });
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}
