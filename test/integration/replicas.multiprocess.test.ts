import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll } from "vitest";
import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import pg from "pg";
import { describeMultiProcess } from "./harness/multiprocess.js";

// All stores in one file so their replica processes never compete with each other for the
// machine's cores (vitest runs files in parallel, tests in a file one after another).
const POSTGRES = process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL = process.env.BELFRY_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const REDIS = process.env.BELFRY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const run = `mp${randomBytes(3).toString("hex")}`;
const withPrefix = (url: string, label: string) =>
  `${url}${url.includes("?") ? "&" : "?"}prefix=${run}_${label}_`;

const folder = mkdtempSync(join(tmpdir(), "belfry-mp-"));
describeMultiProcess("sqlite", (label) => `sqlite:${join(folder, `${label}.db`)}`);
describeMultiProcess("postgres", (label) => withPrefix(POSTGRES, label));
describeMultiProcess("mysql (MariaDB)", (label) => withPrefix(MYSQL, label));
describeMultiProcess("redis", (label) => withPrefix(REDIS, label));

afterAll(async () => {
  const client = new pg.Client({ connectionString: POSTGRES });
  await client.connect();
  const tables = await client.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1",
    [`${run}%`],
  );
  for (const { tablename } of tables.rows) await client.query(`DROP TABLE "${tablename}" CASCADE`);
  await client.end();
  const connection = await mysql.createConnection(MYSQL);
  const [rows] = await connection.query(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?",
    [`${run}%`],
  );
  for (const { name } of rows as { name: string }[])
    await connection.query(`DROP TABLE \`${name}\``);
  await connection.end();
  const redis = new Redis(REDIS);
  const keys = await redis.keys(`${run}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});
