import { Redis as Redis5 } from "ioredis5";
import { afterAll } from "vitest";
import { RedisStore } from "../../src/stores/redis/index.js";
import { describeStore } from "../conformance/describe-store.js";

// Most BullMQ users have ioredis 5: the peer range is `^5 || ^6`, so the whole conformance suite
// also runs on clients made by ioredis 5 (installed under the alias `ioredis5`).
const url = process.env.BELFRY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const clients: Redis5[] = [];
const admin = new Redis5(url);

/** Deletes every key of `prefix` (all of the store's keys start with `<prefix>:`). */
async function dropPrefix(prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    if (keys.length > 0) await admin.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
}

afterAll(async () => {
  await Promise.all(clients.map((client) => client.quit()));
  await admin.quit();
});

describeStore(
  "redis (ioredis 5 client)",
  async ({ prefix }) => {
    const client = new Redis5(url, { maxRetriesPerRequest: 3 });
    clients.push(client);
    return new RedisStore({ client, keyPrefix: prefix });
  },
  {
    corrupt: async (_store, prefix, jobId) => {
      await admin.hset(`${prefix}:{${prefix}:${jobId}}:job`, "overlap", "bogus");
      return { column: "overlap", value: "bogus" };
    },
    cleanup: dropPrefix,
  },
);
