import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { Scheduler } from "../../src/index.js";
import { openStore, redact } from "../../src/stores/open.js";
import { importPeer } from "../../src/stores/shared/peer.js";
import { redactUrlsIn } from "../../src/stores/shared/url.js";
import { dropPrefix, MYSQL, POSTGRES, REDIS } from "../secrets/servers.js";

const tag = randomBytes(4).toString("hex");
const dir = mkdtempSync(join(tmpdir(), "belfry-open-"));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  // What the migrating opens created: `rw_<tag>` tables and keys, `open_<tag>` keys in db 3.
  await dropPrefix(`rw_${tag}_`);
  await dropPrefix(`rw_${tag}:`);
  await dropPrefix(`open_${tag}:`, [3]);
});

/** The store's init() error, or null when it connected. */
async function initError(url: string, options = {}): Promise<(Error & { code?: string }) | null> {
  const store = await openStore(url, options);
  try {
    await store.init();
    return null;
  } catch (error) {
    return error as Error & { code?: string };
  } finally {
    await store.close();
  }
}

/** `url` with `?prefix=` (or `&prefix=`) appended. */
const withPrefix = (url: string, prefix: string) =>
  `${url}${url.includes("?") ? "&" : "?"}prefix=${prefix}`;

describe("openStore", () => {
  it("rejects an unknown scheme with INVALID_STORE_URL naming the accepted ones", async () => {
    await expect(openStore("mongodb://u:secret@host/db")).rejects.toMatchObject({
      code: "INVALID_STORE_URL",
      message: expect.stringContaining("postgres://") as unknown as string,
    });
    await expect(openStore("mongodb://u:secret@host/db")).rejects.not.toMatchObject({
      message: expect.stringContaining("secret") as unknown as string,
    });
  });

  it("redacts passwords in URLs, with or without a user name, parsed or not", () => {
    expect(redact("postgres://app:hunter2@db:5432/x")).toBe("postgres://app:***@db:5432/x");
    expect(redact("redis://:S3cretPw@cache:6379/0")).toBe("redis://:***@cache:6379/0");
    expect(redact("postgres://app@db/x")).toBe("postgres://app@db/x");
    expect(redact("mysql://root:S3cret@Pw@db:notaport/x")).not.toContain("S3cret");
    expect(redactUrlsIn("failed: redis://u:S3cretPw@h:1/0 and mysql://:S3cretPw@h/x")).toBe(
      "failed: redis://u:***@h:1/0 and mysql://:***@h/x",
    );
  });

  it("never echoes a password in an error for an unsupported or malformed URL", async () => {
    for (const url of [
      "redis+sentinel://:S3cretPw@127.0.0.1:26379/mymaster",
      "mysql://root:S3cretPw@127.0.0.1:notaport/test",
      "postgres://u:S3cretPw@[bad/test",
    ]) {
      const error = await openStore(url).then(
        () => null,
        (e: unknown) => e as Error & { code: string },
      );
      expect(error?.code).toBe("INVALID_STORE_URL");
      expect(error?.message).not.toContain("S3cretPw");
    }
  });

  it("opens each backend by scheme and takes the prefix out of the URL", async () => {
    expect((await openStore("memory")).kind).toBe("memory");
    expect((await openStore("sqlite::memory:?prefix=app_")).kind).toBe("sqlite");
    expect((await openStore("postgres://127.0.0.1/test?prefix=app_")).kind).toBe("postgres");
    expect((await openStore("mariadb://root@127.0.0.1/test")).kind).toBe("mysql");
    expect((await openStore("redis://127.0.0.1:6379?prefix=app")).kind).toBe("redis");
    await expect(openStore("postgres://127.0.0.1/test?prefix=bad-prefix")).rejects.toMatchObject({
      code: "INVALID_PREFIX",
    });
  });

  it("a store URL that does not connect fails start() with STORE_CONNECT", async () => {
    const scheduler = new Scheduler({
      store: await openStore("postgres://postgres@127.0.0.1:1/test"),
    });
    await expect(scheduler.start()).rejects.toMatchObject({ code: "STORE_CONNECT" });
  });

  it("connects as the OS user when a PostgreSQL URL names none and USER is unset, as psql does", async () => {
    const saved = { USER: process.env.USER, PGUSER: process.env.PGUSER };
    delete process.env.USER;
    delete process.env.PGUSER;
    try {
      const error = await initError("postgres://127.0.0.1:5432/test", { autoMigrate: false });
      expect(error?.message ?? "").not.toContain("no PostgreSQL user name");
      // Connected as the OS user: either that role exists, or the server names it.
      if (error?.code === "STORE_CONNECT") expect(error.message).toContain(userInfo().username);
    } finally {
      Object.assign(process.env, saved);
    }
  });

  it("refuses malformed URLs and parameters with INVALID_STORE_URL, never the driver's own error", async () => {
    for (const url of [
      "mysql://root:S3cretPw@127.0.0.1:notaport/test",
      "redis://:S3cretPw@127.0.0.1:6379/notadb",
      "postgres://postgres:S3cretPw@127.0.0.1/test?ssl=bogus",
      "postgres://postgres:S3cretPw@127.0.0.1/test?sslmode=sometimes",
    ]) {
      const error = await openStore(url).then(
        () => null,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error, url).toMatchObject({ name: "BelfryError", code: "INVALID_STORE_URL" });
      expect(error?.message).not.toContain("S3cretPw");
    }
    const mysqlSsl = await initError(`${MYSQL}?ssl=bogus`);
    expect(mysqlSsl).toMatchObject({ name: "BelfryError", code: "INVALID_STORE_URL" });
  });

  it("a Redis database the server lacks (/99 of 16) is an error, not a silent database 0", async () => {
    const error = await initError(`${REDIS.replace(/\/\d*$/, "")}/99`);
    expect(error).toMatchObject({ code: "INVALID_STORE_URL" });
    expect(error?.message).toContain("no database 99");
    expect(await initError(`${REDIS.replace(/\/\d*$/, "")}/3?prefix=open_${tag}`)).toBeNull();
  });
});

describe("openStore(url, { autoMigrate: false }): checks the schema and writes nothing", () => {
  it("PostgreSQL: SCHEMA_MISSING on an empty prefix, and no table created", async () => {
    const prefix = `ro_${tag}_`;
    const error = await initError(withPrefix(POSTGRES, prefix), { autoMigrate: false });
    expect(error).toMatchObject({ code: "SCHEMA_MISSING" });
    expect(error?.message).toContain(`public.${prefix}*`);
    const admin = new pg.Pool({ connectionString: POSTGRES, max: 1 });
    const tables = await admin.query("SELECT 1 FROM pg_tables WHERE tablename LIKE $1", [
      `${prefix}%`,
    ]);
    await admin.end();
    expect(tables.rowCount).toBe(0);
  });

  it("MySQL: SCHEMA_MISSING on an empty prefix, and no table created", async () => {
    const prefix = `ro_${tag}_`;
    const error = await initError(withPrefix(MYSQL, prefix), { autoMigrate: false });
    expect(error).toMatchObject({ code: "SCHEMA_MISSING" });
    const admin = mysql.createPool({ uri: MYSQL, connectionLimit: 1 });
    const [rows] = await admin.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?",
      [`${prefix}%`],
    );
    await admin.end();
    expect(rows).toEqual([]);
  });

  it("Redis: SCHEMA_MISSING on an empty prefix, and no key created", async () => {
    const prefix = `ro_${tag}`;
    const error = await initError(withPrefix(REDIS, prefix), { autoMigrate: false });
    expect(error).toMatchObject({ code: "SCHEMA_MISSING" });
    const admin = new Redis(REDIS);
    const keys = await admin.keys(`${prefix}:*`);
    admin.disconnect();
    expect(keys).toEqual([]);
  });

  it("SQLite: SCHEMA_MISSING for a file that does not exist, which is not created", async () => {
    const path = join(dir, "absent.db");
    const error = await initError(`sqlite:${path}`, { autoMigrate: false });
    expect(error).toMatchObject({ code: "SCHEMA_MISSING" });
    expect(existsSync(path)).toBe(false);
  });

  it("opens a migrated store on every backend, and SQLite: a file of another prefix is refused", async () => {
    const path = join(dir, "migrated.db");
    for (const url of [
      withPrefix(POSTGRES, `rw_${tag}_`),
      withPrefix(MYSQL, `rw_${tag}_`),
      withPrefix(REDIS, `rw_${tag}`),
      `sqlite:${path}`,
    ]) {
      expect(await initError(url), url).toBeNull();
      expect(await initError(url, { autoMigrate: false }), url).toBeNull();
    }
    const other = await initError(`sqlite:${path}?prefix=other_`, { autoMigrate: false });
    expect(other).toMatchObject({ code: "SCHEMA_MISSING" });
  });

  it("names the driver to install when a backend's optional peer is missing", async () => {
    const missing = Object.assign(new Error("Cannot find package 'pg' imported from x.js"), {
      code: "ERR_MODULE_NOT_FOUND",
    });
    await expect(importPeer("pg", () => Promise.reject(missing))).rejects.toMatchObject({
      code: "MISSING_DEPENDENCY",
      message: expect.stringContaining("npm install pg") as unknown as string,
    });
    const other = new Error("boom");
    await expect(importPeer("pg", () => Promise.reject(other))).rejects.toBe(other);
  });
});
