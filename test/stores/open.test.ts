import { describe, expect, it } from "vitest";
import { Scheduler } from "../../src/index.js";
import { openStore, redact } from "../../src/stores/open.js";

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

  it("redacts passwords in URLs", () => {
    expect(redact("postgres://app:hunter2@db:5432/x")).toBe("postgres://app:***@db:5432/x");
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
});
