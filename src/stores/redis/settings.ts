import { record, runGroups, type RedisClientLike } from "./connection.js";

/**
 * Checks the server settings exactly-once depends on: `maxmemory-policy` must be `noeviction`
 * (any other policy may evict watermarks, claims and leases under memory pressure) and
 * persistence must be on (without AOF or RDB a restart forgets every watermark). Managed Redis
 * often refuses `CONFIG`: that is reported as "could not check", not as an error.
 */
export async function checkRedisSettings(client: RedisClientLike): Promise<string[]> {
  const names = ["maxmemory-policy", "appendonly", "save"];
  const [settled = []] = await runGroups(client, [
    names.map((name) => ({ command: "config", args: ["get", name] })),
  ]);
  const failed = settled.find((s) => s.error !== null);
  if (failed?.error) {
    return [
      `Redis settings could not be checked (CONFIG GET failed: ${failed.error.message}); make sure maxmemory-policy is noeviction and persistence (appendonly yes, or RDB save points) is on, or a restart or eviction can lose watermarks and run records`,
    ];
  }
  const config: Record<string, string> = {};
  for (const s of settled) Object.assign(config, record(s.value));
  const warnings: string[] = [];
  const policy = config["maxmemory-policy"] ?? "?";
  if (policy !== "noeviction") {
    warnings.push(
      `Redis maxmemory-policy is ${JSON.stringify(policy)}; belfry needs "noeviction" (as BullMQ does): under memory pressure Redis may evict watermarks, claims and leases, and an occurrence can then run twice`,
    );
  }
  const aof = config["appendonly"] === "yes";
  const rdb = (config["save"] ?? "").trim() !== "";
  if (!aof && !rdb) {
    warnings.push(
      `Redis persistence is off (appendonly no, save ""): a Redis restart loses every watermark and run record, so occurrences can run again and history is gone; turn on AOF (appendonly yes)`,
    );
  } else if (!aof) {
    warnings.push(
      `Redis persists only RDB snapshots (save ${JSON.stringify(config["save"])}, appendonly no): a crash loses the claims since the last snapshot, which may then run again; prefer appendonly yes`,
    );
  }
  return warnings;
}
