import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/index.js";
import { MysqlStore } from "../../src/stores/mysql/index.js";
import { PostgresStore } from "../../src/stores/postgres/index.js";
import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { runProgram } from "./child.js";

/**
 * Runs the three programs of docs/guarantees.md "Exactly-once effects in the same database" as
 * written (imports pointed at the sources, tables isolated per run) and checks that every
 * succeeded run has exactly one invoice row and every invoice row a succeeded run.
 */

const DOC = fileURLToPath(new URL("../../docs/guarantees.md", import.meta.url));
const SRC = pathToFileURL(fileURLToPath(new URL("../../src/", import.meta.url))).href;
const pgUrl = process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const myUri = process.env.BELFRY_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const tag = randomBytes(4).toString("hex");
const schema = `belfry_txdoc_${tag}`;
const myPrefix = `d_${tag}_`;
const pgAdmin = new pg.Pool({ connectionString: pgUrl, max: 1 });
const myAdmin = mysql.createPool({ uri: myUri, connectionLimit: 1 });

afterAll(async () => {
  await pgAdmin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pgAdmin.end();
  for (const table of ["jobs", "runs", "replicas", "warnings", "migrations", "invoices"]) {
    await myAdmin.query(`DROP TABLE IF EXISTS ${myPrefix}${table}`);
  }
  await myAdmin.end();
});

/** The `ts` code blocks of the section, in order (PostgreSQL, MySQL, SQLite). */
function examples(): string[] {
  const doc = readFileSync(DOC, "utf8");
  const start = doc.indexOf("## Exactly-once effects in the same database");
  const section = doc.slice(start, doc.indexOf("\n## ", start + 1));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

/** The program with imports pointed at the sources and `edits` applied (each must match). */
function program(source: string, edits: [string, string][]): string {
  let out = source
    .replace('from "belfry";', `from "${SRC}index.js";`)
    .replace(
      /from "belfry\/(\w+)";/,
      (_m, store: string) => `from "${SRC}stores/${store}/index.js";`,
    );
  for (const [from, to] of edits) {
    expect(out).toContain(from);
    out = out.replaceAll(from, to);
  }
  return out;
}

/** Runs `source` until it billed twice, stops it with SIGTERM, returns the store's runs. */
async function runUntilBilledTwice(
  source: string,
  cwd: string,
  env: Record<string, string>,
  store: Store,
): Promise<Set<string>> {
  const file = join(cwd, "example.mts");
  writeFileSync(file, source);
  const child = runProgram(file, cwd, env);
  await child.waitFor((lines) => lines.filter((l) => l.startsWith("billed ")).length >= 2);
  child.kill("SIGTERM");
  expect(await child.exited, child.stderr()).toEqual({ code: null, signal: "SIGTERM" });
  await store.init();
  try {
    const rows = await store.history({ jobId: "bill", states: ["succeeded"] });
    return new Set(rows.map((r) => `bill@${new Date(r.scheduledAt).toISOString()}`));
  } finally {
    await store.close();
  }
}

describe("docs: exactly-once effects in the same database", () => {
  it("has one example per SQL store", () => {
    expect(examples()).toHaveLength(3);
  });

  it("the PostgreSQL example runs as written", async () => {
    const [source = ""] = examples();
    await pgAdmin.query(`CREATE SCHEMA ${schema}`);
    await pgAdmin.query(
      `CREATE TABLE ${schema}.invoices (idempotency_key text PRIMARY KEY, amount_cents int NOT NULL)`,
    );
    const code = program(source, [
      ["process.env.DATABASE_URL", `process.env.DATABASE_URL, schema: "${schema}"`],
      ["INTO invoices", `INTO ${schema}.invoices`],
    ]);
    const cwd = mkdtempSync(join(tmpdir(), "belfry-txdoc-"));
    const store = new PostgresStore({ connectionString: pgUrl, schema });
    const runs = await runUntilBilledTwice(code, cwd, { DATABASE_URL: pgUrl }, store);
    const { rows } = await pgAdmin.query(`SELECT idempotency_key AS k FROM ${schema}.invoices`);
    const keys = rows.map((row: { k: string }) => row.k);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(new Set(keys)).toEqual(runs);
  });

  it("the MySQL example runs as written", async () => {
    const [, source = ""] = examples();
    await myAdmin.query(
      `CREATE TABLE ${myPrefix}invoices (idempotency_key VARCHAR(100) PRIMARY KEY, amount_cents INT NOT NULL)`,
    );
    const code = program(source, [
      ["process.env.DATABASE_URL", `process.env.DATABASE_URL, tablePrefix: "${myPrefix}"`],
      ["INTO invoices", `INTO ${myPrefix}invoices`],
    ]);
    const cwd = mkdtempSync(join(tmpdir(), "belfry-txdoc-"));
    const store = new MysqlStore({ uri: myUri, tablePrefix: myPrefix });
    const runs = await runUntilBilledTwice(code, cwd, { DATABASE_URL: myUri }, store);
    const [rows] = await myAdmin.query(`SELECT idempotency_key AS k FROM ${myPrefix}invoices`);
    const keys = (rows as { k: string }[]).map((row) => row.k);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(new Set(keys)).toEqual(runs);
  });

  it("the SQLite example runs as written", async () => {
    const [, , source = ""] = examples();
    const cwd = mkdtempSync(join(tmpdir(), "belfry-txdoc-"));
    const path = join(cwd, "app.db");
    const db = openSqliteDriver(path, 1_000);
    db.exec(
      "CREATE TABLE invoices (idempotency_key TEXT PRIMARY KEY, amount_cents INTEGER NOT NULL)",
    );
    db.close();
    const runs = await runUntilBilledTwice(program(source, []), cwd, {}, new SqliteStore({ path }));
    const read = openSqliteDriver(path, 1_000);
    const rows = read.prepare("SELECT idempotency_key AS k FROM invoices").all() as { k: string }[];
    read.close();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(new Set(rows.map((row) => row.k))).toEqual(runs);
  });
});
