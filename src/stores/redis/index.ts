import { Redis } from "ioredis";
import { BelfryError } from "../../errors.js";
import {
  claimManualRun,
  claimRuns,
  fencedWrite,
  finishRunRow,
  recordMissedRuns,
  registerJobRow,
  RunJobCache,
  setJobPaused,
} from "./claim.js";
import { list, text, type RedisClientLike } from "./connection.js";
import {
  listJobIds,
  pruneRuns,
  pushWarning,
  readHistory,
  readJobs,
  readReplicas,
  readWarnings,
  touchReplicaRow,
  type RedisContext,
} from "./records.js";
import { recoverExpiredRuns } from "./recovery.js";
import {
  checkRedisSettings,
  integerOption,
  redisAddress,
  RedisKeys,
  toStoreError,
} from "./keys.js";
import type {
  ClaimedRun,
  ClaimRequest,
  ClaimResult,
  FinishResult,
  HistoryQuery,
  JobRecord,
  JobRegistration,
  Recovered,
  RegisterResult,
  ReplicaInfo,
  ReplicaRecord,
  RunOutcome,
  RunRecord,
  Store,
  WarningRecord,
} from "../store.js";

export type { RedisClientLike } from "./connection.js";

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (default `redis://127.0.0.1:6379`). */
  readonly url?: string;
  /** An existing ioredis client (`Redis` or `Cluster`); the store never closes it. */
  readonly client?: RedisClientLike;
  /** Prefix of every key: letters, digits, `_`, `-`, `:` (default `belfry`). */
  readonly keyPrefix?: string;
  /** Terminal runs kept per job; older ones are deleted as new ones finish (default 10 000). */
  readonly historyLimit?: number;
  /** Also delete terminal runs scheduled longer ago than this (default: keep by count only). */
  readonly historyRetentionMs?: number;
  /** How long `init` waits for a connection (default 2 000 ms; own client only). */
  readonly connectTimeoutMs?: number;
  /** How often one replica re-indexes every job's active runs (default 300 000 ms; 0: never). */
  readonly reconcileIntervalMs?: number;
}

const KEY_PREFIX_PATTERN = /^[A-Za-z0-9_:-]{1,64}$/;

/**
 * A {@link Store} on Redis (≥ 6.2; ioredis ≥ 6 as a peer dependency). Every decision is one Lua
 * script on one job's keys, which share a hash tag, so it works on Redis Cluster; time is Redis
 * `TIME`. See `docs/stores.md#redis` for the key layout, recovery and the settings it needs
 * (`maxmemory-policy noeviction`, persistence on).
 *
 * @example
 * ```ts
 * const store = new RedisStore({ url: "redis://127.0.0.1:6379", keyPrefix: "billing" });
 * await store.init();
 * for (const warning of store.settingsWarnings) console.warn(warning);
 * ```
 */
export class RedisStore implements Store {
  readonly kind = "redis";
  /** Risky server settings found by `init` (also persisted with `addWarning`, replica "store"). */
  readonly settingsWarnings: string[] = [];
  private readonly client: RedisClientLike;
  private readonly owned: Redis | null;
  private readonly context: RedisContext;
  private readonly keys: RedisKeys;
  private readonly address: string;
  private readonly reconcileMs: number;
  private readonly runJobs: RunJobCache;
  private lastError: Error | null = null;
  private initializing: Promise<void> | null = null;

  constructor(options: RedisStoreOptions = {}) {
    const prefix = options.keyPrefix ?? "belfry";
    if (!KEY_PREFIX_PATTERN.test(prefix)) {
      throw new BelfryError(
        "INVALID_PREFIX",
        `RedisStore: keyPrefix ${JSON.stringify(prefix)} is not allowed; use 1-64 letters, digits, "_", "-" or ":"`,
      );
    }
    this.keys = new RedisKeys(prefix);
    const historyLimit = integerOption("historyLimit", options.historyLimit ?? 10_000);
    const retentionMs = integerOption("historyRetentionMs", options.historyRetentionMs ?? 0, true);
    this.reconcileMs = integerOption(
      "reconcileIntervalMs",
      options.reconcileIntervalMs ?? 300_000,
      true,
    );
    if (options.client && options.url !== undefined) {
      throw new BelfryError("INVALID_OPTION", "RedisStore: pass either url or client, not both");
    }
    const url = options.url ?? "redis://127.0.0.1:6379";
    this.address = options.client ? "the given client" : redisAddress(url);
    this.owned = options.client
      ? null
      : this.connectionFor(url, prefix, options.connectTimeoutMs ?? 2000);
    this.client = options.client ?? (this.owned as Redis);
    this.context = { client: this.client, keys: this.keys, historyLimit, retentionMs };
    this.runJobs = new RunJobCache(this.context);
  }

  /**
   * The store's own client: connects in `init`, fails a command after one reconnect attempt
   * (so a call errors instead of hanging while Redis is away) and reconnects by itself; its
   * `error` events are kept for the next connect error message, never left unhandled. It is
   * named `belfry:<keyPrefix>` in `CLIENT LIST`.
   */
  private connectionFor(url: string, prefix: string, connectTimeout: number): Redis {
    const connectionName = `belfry:${prefix}`;
    const options = { lazyConnect: true, connectTimeout, maxRetriesPerRequest: 1, connectionName };
    const own = new Redis(url, options);
    own.on("error", (error: Error) => (this.lastError = error));
    return own;
  }

  async init(): Promise<void> {
    this.initializing ??= this.initOnce().catch((error: unknown) => {
      this.initializing = null;
      throw error;
    });
    return this.initializing;
  }

  private async initOnce(): Promise<void> {
    this.lastError = null;
    try {
      if (this.owned && ["wait", "end", "close"].includes(this.owned.status)) {
        await this.owned.connect();
      }
      await this.client.call("ping");
    } catch (error) {
      this.owned?.disconnect();
      // The socket error (ECONNREFUSED …) arrives as an 'error' event, not as the rejection.
      const event = this.lastError as Error | null;
      const detail = event?.message ?? (error instanceof Error ? error.message : error);
      throw new BelfryError(
        "STORE_CONNECT",
        `RedisStore: cannot connect to Redis at ${this.address}: ${String(detail)}`,
        { cause: error },
      );
    }
    const warnings = await this.guard("init", () => checkRedisSettings(this.client));
    for (const message of warnings) {
      await this.addWarning({ replicaId: "store", kind: "store-settings", message });
    }
    this.settingsWarnings.splice(0, this.settingsWarnings.length, ...warnings);
  }

  async close(): Promise<void> {
    const own = this.owned;
    if (!own) return;
    if (own.status === "ready") await own.quit().catch(() => own.disconnect());
    else own.disconnect();
  }

  async now(): Promise<number> {
    return this.guard("now", async () => {
      const [seconds, micros] = list(await this.client.call("time")).map((v) => Number(text(v)));
      return (seconds ?? 0) * 1000 + Math.floor((micros ?? 0) / 1000);
    });
  }

  async registerJob(registration: JobRegistration): Promise<RegisterResult> {
    return this.guard("registerJob", () => registerJobRow(this.context, registration));
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    return this.guard("getJob", async () => (await readJobs(this.context, [jobId]))[0] ?? null);
  }

  async listJobs(): Promise<JobRecord[]> {
    return this.guard("listJobs", async () =>
      readJobs(this.context, (await listJobIds(this.context)).sort()),
    );
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    return this.guard("setPaused", () => setJobPaused(this.context, jobId, paused));
  }

  async claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    return this.guard("claim", () => claimRuns(this.context, this.runJobs, requests));
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    return this.guard("claimManual", () =>
      claimManualRun(this.context, this.runJobs, jobId, replicaId, leaseMs),
    );
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number> {
    return this.guard("recordMissed", () => recordMissedRuns(this.context, jobId, hash, instants));
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    return this.guard("startRun", () =>
      fencedWrite(this.context, this.runJobs, runId, token, "start", attempt),
    );
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return this.guard("heartbeat", () =>
      fencedWrite(this.context, this.runJobs, runId, token, "heartbeat", leaseMs),
    );
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    return this.guard("releaseRun", () =>
      fencedWrite(this.context, this.runJobs, runId, token, "release", 0),
    );
  }

  async finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult> {
    return this.guard("finishRun", () =>
      finishRunRow(this.context, this.runJobs, runId, token, outcome, leaseMs),
    );
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    return this.guard("recoverExpired", () =>
      recoverExpiredRuns(
        { ...this.context, reconcileMs: this.reconcileMs, cache: this.runJobs },
        replicaId,
        leaseMs,
        limit,
      ),
    );
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    return this.guard("history", () => readHistory(this.context, query));
  }

  async prune(before: number): Promise<number> {
    return this.guard("prune", () => pruneRuns(this.context, before));
  }

  async touchReplica(info: ReplicaInfo): Promise<void> {
    await this.guard("touchReplica", () => touchReplicaRow(this.context, info));
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    return this.guard("listReplicas", () => readReplicas(this.context, since));
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    await this.guard("addWarning", () => pushWarning(this.context, warning));
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    return this.guard("listWarnings", () => readWarnings(this.context, limit));
  }

  /** Runs `body`, turning driver and script errors into `BelfryError`s. */
  private async guard<T>(op: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw toStoreError(op, error);
    }
  }
}
