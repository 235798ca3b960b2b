import { describe, expect, it } from "vitest";
import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";

describe("openSqliteDriver", () => {
  it("uses node:sqlite where the runtime has it, better-sqlite3 otherwise", () => {
    const hasBuiltin = Boolean(process.getBuiltinModule?.("node:sqlite"));
    const driver = openSqliteDriver(":memory:", 100);
    expect(driver.name).toBe(hasBuiltin ? "node:sqlite" : "better-sqlite3");
    driver.close();
  });

  it("caches statements per SQL text and rolls an immediate transaction back on throw", () => {
    const driver = openSqliteDriver(":memory:", 100);
    driver.exec("CREATE TABLE t (a INTEGER PRIMARY KEY)");
    expect(driver.prepare("SELECT COUNT(*) AS n FROM t")).toBe(
      driver.prepare("SELECT COUNT(*) AS n FROM t"),
    );
    expect(() =>
      driver.immediate(() => {
        driver.prepare("INSERT INTO t (a) VALUES (?)").run(1);
        throw new Error("abort");
      }),
    ).toThrow("abort");
    driver.immediate(() => driver.prepare("INSERT INTO t (a) VALUES (?)").run(2));
    expect(driver.prepare("SELECT a FROM t").all()).toEqual([expect.objectContaining({ a: 2 })]);
    driver.close();
  });
});
