import { BelfryError } from "../../errors.js";
import { record, runGroups, text, type RedisClientLike } from "./connection.js";
import type { ClaimedRun, ClaimRequest, ClaimResult, RunTrigger } from "../store.js";

/**
 * Key layout of the Redis store. Every key starts with `<prefix>:` and holds one hash tag:
 *
 * - per job, tag `{<prefix>:<jobId>}`, base `<prefix>:{<prefix>:<jobId>}`: `:job` (hash),
 *   `:runs`, `:active`, `:queued`, `:done` (sorted sets), `:occ` (hash), `:run:<runId>` (hash);
 * - store-wide, tag `{<prefix>}`: `:jobs` (set of job ids), `:leases` (sorted set of
 *   `jobId\nrunId` by when to check the run), `:runjob` (hash runId → jobId), `:reconcile`
 *   (lock), `:replicas` (hash), `:warnings` (list).
 *
 * The prefix never contains braces, so the tag of a job's keys is the same for all of them even
 * when the job id contains `{` or `}`.
 */
export class RedisKeys {
  readonly jobs: string;
  readonly leases: string;
  readonly runJobs: string;
  readonly reconcile: string;
  readonly replicas: string;
  readonly warnings: string;

  constructor(readonly prefix: string) {
    const global = `${prefix}:{${prefix}}`;
    this.jobs = `${global}:jobs`;
    this.leases = `${global}:leases`;
    this.runJobs = `${global}:runjob`;
    this.reconcile = `${global}:reconcile`;
    this.replicas = `${global}:replicas`;
    this.warnings = `${global}:warnings`;
  }

  /** The key base of a job and the six keys every job script takes, in KEYS order. */
  job(jobId: string): { readonly base: string; readonly keys: string[] } {
    const base = `${this.prefix}:{${this.prefix}:${jobId}}`;
    const keys = ["job", "runs", "active", "queued", "done", "occ"].map((k) => `${base}:${k}`);
    return { base, keys };
  }

  /** A lease-index member. */
  member(jobId: string, runId: string): string {
    return `${jobId}\n${runId}`;
  }

  /** Splits a lease-index member (run ids never contain a newline; job ids may). */
  parseMember(member: string): { readonly jobId: string; readonly runId: string } {
    const cut = member.lastIndexOf("\n");
    return { jobId: member.slice(0, cut), runId: member.slice(cut + 1) };
  }
}

/** Turns a claim script reply into a {@link ClaimResult}. */
export function parseClaimReply(reply: unknown[], request: ClaimRequest): ClaimResult {
  const [status, a, b] = reply.map(text);
  switch (status) {
    case "won":
      return {
        status,
        run: parseClaimedTuple(request.jobId, [
          a,
          String(request.scheduledAt),
          "schedule",
          "1",
          "1",
          b,
        ]),
      };
    case "lost":
    case "stale":
      return { status, watermark: Number(a) };
    case "notDue":
      return { status, retryAfterMs: Number(a) };
    case "skipped":
    case "queued":
      return { status, runId: String(a) };
    case "definitionChanged":
      return { status, hash: String(a) };
    case "paused":
    case "exhausted":
    case "unknownJob":
      return { status };
    default:
      throw new Error(`unexpected claim reply ${JSON.stringify(reply)}`);
  }
}

/** Turns `{runId, scheduledAt, trigger, attempt, token, leaseExpiresAt}` into a run. */
export function parseClaimedTuple(
  jobId: string,
  tuple: readonly (string | undefined)[],
): ClaimedRun {
  const [runId, scheduledAt, trigger, attempt, token, lease] = tuple;
  if (runId === undefined || (trigger !== "schedule" && trigger !== "manual")) {
    throw new Error(`unexpected run reply ${JSON.stringify(tuple)}`);
  }
  return {
    runId,
    jobId,
    scheduledAt: Number(scheduledAt),
    trigger: trigger satisfies RunTrigger,
    attempt: Number(attempt),
    token: Number(token),
    leaseExpiresAt: Number(lease),
  };
}

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

/**
 * Turns a driver or script error into a `BelfryError`: `CORRUPT_ROW` for a value a script
 * refused to read, `STORE_ERROR` (with the original as `cause`) for anything else.
 */
export function toStoreError(op: string, error: unknown): BelfryError {
  if (error instanceof BelfryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const corrupt = /BELFRY_CORRUPT\|([^|]*)\|([^|]*)\|(.*)\|/s.exec(message);
  if (corrupt) {
    return new BelfryError(
      "CORRUPT_ROW",
      `RedisStore key ${corrupt[1]}: column ${corrupt[2]} has invalid value ${JSON.stringify(corrupt[3])}`,
      { cause: error },
    );
  }
  return new BelfryError("STORE_ERROR", `RedisStore.${op}: ${message}`, { cause: error });
}

/**
 * The `error` result of one claim whose script failed because of its own job's data: a value the
 * script refused to read (`CORRUPT_ROW`), a job key holding the wrong kind of value
 * (`WRONGTYPE`, also `CORRUPT_ROW`) or a Lua runtime error on that data (`STORE_ERROR`). Null
 * for anything else (connection lost, OOM, loading, read-only replica…), which must reject the
 * whole call.
 */
export function scriptFailure(error: Error): ClaimResult | null {
  const message = error.message;
  const own =
    message.includes("BELFRY_CORRUPT|") ||
    /^(WRONGTYPE |ERR user_script:|ERR Error running script)/.test(message);
  if (!own) return null;
  const failure = message.startsWith("WRONGTYPE ")
    ? new BelfryError("CORRUPT_ROW", `RedisStore.claim: a key of the job ${message}`)
    : toStoreError("claim", error);
  return { status: "error", code: failure.code, message: failure.message };
}

/** Validates an integer option. */
export function integerOption(name: string, value: number, allowZero = false): number {
  if (Number.isSafeInteger(value) && (value > 0 || (allowZero && value === 0))) return value;
  throw new BelfryError(
    "INVALID_OPTION",
    `RedisStore: ${name} must be a ${allowZero ? "non-negative" : "positive"} integer, got ${String(value)}`,
  );
}

/**
 * `host:port` of a `redis://` or `rediss://` URL, for error messages (never the credentials).
 * @throws BelfryError `INVALID_STORE_URL` for anything else.
 */
export function redisAddress(url: string): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (!parsed || (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")) {
    const shown = parsed ? `a ${parsed.protocol} URL` : "not a URL";
    throw new BelfryError(
      "INVALID_STORE_URL",
      `RedisStore: url must look like redis://host:6379 or rediss://host:6380, got ${shown}`,
    );
  }
  return `${parsed.hostname || "127.0.0.1"}:${parsed.port || "6379"}`;
}
