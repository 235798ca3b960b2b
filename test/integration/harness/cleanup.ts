import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import pg from "pg";

/** Where a multi-process test file's stores live; a store it did not use is left out. */
export interface TestServers {
  readonly postgres?: string;
  readonly mysql?: string;
  readonly redis?: string;
}

/** Drops the tables and keys whose names start with `prefix` (one test file's run). */
export async function dropPrefixed(servers: TestServers, prefix: string): Promise<void> {
  if (servers.postgres) {
    const client = new pg.Client({ connectionString: servers.postgres });
    await client.connect();
    const tables = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1",
      [`${prefix}%`],
    );
    for (const { tablename } of tables.rows)
      await client.query(`DROP TABLE "${tablename}" CASCADE`);
    await client.end();
  }
  if (servers.mysql) {
    const connection = await mysql.createConnection(servers.mysql);
    const [rows] = await connection.query(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?",
      [`${prefix}%`],
    );
    for (const { name } of rows as { name: string }[])
      await connection.query(`DROP TABLE \`${name}\``);
    await connection.end();
  }
  if (servers.redis) {
    const redis = new Redis(servers.redis);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}
