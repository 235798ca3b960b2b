import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { Scheduler } from "../../src/index.js";
import { RedisStore } from "../../src/stores/redis/index.js";

const REDIS = process.env.BELFRY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `warn${randomBytes(3).toString("hex")}`;

afterAll(async () => {
  const redis = new Redis(REDIS);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe("Scheduler and risky store settings", () => {
  it("reports the store's settings warnings as store:warning events at start", async () => {
    // The test server runs without persistence: the Redis store must say claims can be lost.
    const store = new RedisStore({ url: REDIS, keyPrefix: prefix });
    const scheduler = new Scheduler({ store });
    const warnings: string[] = [];
    scheduler.on("store:warning", (event) => warnings.push(event.message));
    await scheduler.start();
    await scheduler.stop();
    await store.close();
    expect(warnings.some((message) => /persist/i.test(message))).toBe(true);
  });
});
