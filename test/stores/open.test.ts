import { describe, expect, it } from "vitest";
import { Scheduler } from "../../src/index.js";
import { openStore, redact } from "../../src/stores/open.js";
import { redactUrlsIn } from "../../src/stores/url.js";

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
});
