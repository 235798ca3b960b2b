import { list, runGroups, settledValue, text } from "./connection.js";
import type { RedisClientLike, RedisContext } from "./connection.js";

/** Keys one SCAN call looks at: each call is short, however large the key space. */
const SCAN_COUNT = 1_000;

/** The two per-job sorted sets whose runs the lease index must hold. */
const LIVE_SETS = ["active", "queued"] as const;

/**
 * The ids of the jobs that hold an active or queued run, for the reconcile pass: Redis deletes
 * an empty sorted set, so a job's `:active` or `:queued` key exists only while it has such a run.
 * A SCAN of the key space (on every master of a Cluster) in steps of {@link SCAN_COUNT} finds
 * them without a command per job, where reading the job list and asking each job cost one
 * script per registered job (100,000 idle jobs: 100,000 scripts per reconcile interval).
 */
export async function jobsWithLiveRuns(context: RedisContext): Promise<string[]> {
  const { client, keys } = context;
  const head = `${keys.prefix}:{${keys.prefix}:`;
  // `[aq][cu][te][iu][ve][ed]` matches `active` and `queued` (the prefix has no glob
  // characters: RedisStore accepts letters, digits, `_`, `-` and `:`); jobIdOf checks the rest.
  const pattern = `${head}*}:[aq][cu][te][iu][ve][ed]`;
  const nodes = client.isCluster && client.nodes ? client.nodes("master") : [client];
  const ids = new Set<string>();
  for (const node of nodes) {
    for await (const key of scan(node, pattern)) {
      const jobId = jobIdOf(context, head, key);
      if (jobId !== null) ids.add(jobId);
    }
  }
  return await registered(context, [...ids]);
}

/**
 * The ids among `ids` that are registered jobs. A store-level job id may hold `}` (the Scheduler
 * refuses it), and then a run key of one job can read as the live key of another id.
 */
async function registered(context: RedisContext, ids: readonly string[]): Promise<string[]> {
  const groups = ids.map((id) => [{ command: "sismember", args: [context.keys.jobs, id] }]);
  const settled = await runGroups(context.client, groups);
  return ids.filter((_, i) => Number(settledValue(settled[i]?.[0])) === 1);
}

/** Every key matching `pattern` on one node, a SCAN page at a time. */
async function* scan(node: RedisClientLike, pattern: string): AsyncGenerator<string> {
  let cursor = "0";
  do {
    const [next, page] = list(
      await node.call("scan", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT),
    );
    cursor = text(next);
    yield* list(page).map(text);
  } while (cursor !== "0");
}

/**
 * The job whose `:active` or `:queued` key `key` would be, or null for a key that the layout
 * does not make so (a run key of a job whose id ends like one).
 */
function jobIdOf(context: RedisContext, head: string, key: string): string | null {
  for (const [index, name] of LIVE_SETS.entries()) {
    const tail = `}:${name}`;
    if (!key.startsWith(head) || !key.endsWith(tail)) continue;
    const jobId = key.slice(head.length, -tail.length);
    // keys.job(id).keys: job, runs, active, queued, done, occ.
    if (context.keys.job(jobId).keys[2 + index] === key) return jobId;
  }
  return null;
}
