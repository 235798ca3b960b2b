import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { BelfryError } from "../errors.js";
import { missedToRecord } from "./claim-rules.js";
import { parseJobRow } from "./rows.js";
import { list, record, runGroups, text, type RedisClientLike, type Step } from "./redis-connection.js";
import {
  listJobIds,
  pruneRuns,
  pushWarning,
  readHistory,
  readJobs,
  readReplicas,
  readWarnings,
  runSteps,
  settledValue,
  touchReplicaRow,
  type RedisContext,
} from "./redis-records.js";
import { recoverExpiredRuns } from "./redis-recovery.js";
import { FENCED_WRITE, FINISH } from "./redis-run-scripts.js";
import { CLAIM, CLAIM_MANUAL, RECORD_MISSED, REGISTER, SET_PAUSED } from "./redis-scripts.js";
import {
  checkRedisSettings,
  integerOption,
  parseClaimedTuple,
  parseClaimReply,
  redisAddress,
  RedisKeys,
  toStoreError,
} from "./redis-support.js";
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
} from "./store.js";

export type { RedisClientLike } from "./redis-connection.js";

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
const WARNINGS_KEPT = 1000;
const RUN_CACHE_SIZE = 10_000;

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
  private readonly keys: RedisKeys;
  private readonly address: string;
  private readonly historyLimit: number;
  private readonly retentionMs: number;
  private readonly reconcileMs: number;
  private readonly runJobs = new Map<string, string>();
  private lastError: Error | null = null;
  private initialized = false;

  constructor(options: RedisStoreOptions = {}) {
    const prefix = options.keyPrefix ?? "belfry";
    if (!KEY_PREFIX_PATTERN.test(prefix)) {
      throw new BelfryError(
        "INVALID_PREFIX",
        `RedisStore: keyPrefix ${JSON.stringify(prefix)} is not allowed; use 1-64 letters, digits, "_", "-" or ":"`,
      );
    }
    this.keys = new RedisKeys(prefix);
    this.historyLimit = positiveInteger("historyLimit", options.historyLimit ?? 10_000);
    this.retentionMs = positiveInteger("historyRetentionMs", options.historyRetentionMs ?? 0, true);
    this.reconcileMs = positiveInteger(
      "reconcileIntervalMs",
      options.reconcileIntervalMs ?? 300_000,
      true,
    );
    if (options.client) {
      if (options.url !== undefined) {
        throw new BelfryError("INVALID_OPTION", "RedisStore: pass either url or client, not both");
      }
      this.client = options.client;
      this.owned = null;
      this.address = "the given client";
      return;
    }
    const url = options.url ?? "redis://127.0.0.1:6379";
    this.address = redisAddress(url);
    const own = new Redis(url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      maxRetriesPerRequest: 1,
    });
    own.on("error", (error: Error) => (this.lastError = error));
    this.owned = own;
    this.client = own;
  }

  async init(): Promise<void> {
    if (this.initialized) return;
    try {
      if (this.owned && ["wait", "end", "close"].includes(this.owned.status)) {
        await this.owned.connect();
      }
      await this.client.call("ping");
    } catch (error) {
      this.owned?.disconnect();
      const detail = this.lastError?.message ?? (error instanceof Error ? error.message : error);
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
    this.initialized = true;
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

  async registerJob(reg: JobRegistration): Promise<RegisterResult> {
    return this.guard("registerJob", async () => {
      const { base, keys } = this.keys.job(reg.jobId);
      const args = [base, reg.jobId, reg.hash, reg.definition, reg.anchor, reg.overlap];
      args.push(reg.onAbandoned, reg.maxAttempts, reg.maxRuns ?? "");
      const reply = await this.steps([
        { command: "sadd", args: [this.keys.jobs, reg.jobId] },
        { script: REGISTER, keys, args },
      ]);
      const [outcome, previous, row] = list(reply[1]);
      const status = text(outcome);
      if (status !== "created" && status !== "unchanged" && status !== "updated") {
        throw new Error(`unexpected registration outcome ${status}`);
      }
      const job = parseJobRow(record(row), `RedisStore key ${keys[0]}`);
      return { job, outcome: status, previousHash: status === "created" ? null : text(previous) };
    });
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    return this.guard("getJob", async () => (await this.readJobs([jobId]))[0] ?? null);
  }

  async listJobs(): Promise<JobRecord[]> {
    return this.guard("listJobs", async () => this.readJobs((await this.jobIds()).sort()));
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    return this.guard("setPaused", async () => {
      const { base, keys } = this.keys.job(jobId);
      const args = [base, jobId, paused ? "1" : "0"];
      return Number(text((await this.steps([{ script: SET_PAUSED, keys, args }]))[0])) === 1;
    });
  }

  async claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    return this.guard("claim", async () => {
      const runIds = requests.map(() => randomUUID());
      const groups = requests.map((request, i) => this.claimSteps(request, runIds[i] as string));
      const settled = await runGroups(
        this.client,
        groups,
        requests.map((r) => r.jobId),
      );
      return settled.map((group, i) => {
        const request = requests[i] as ClaimRequest;
        const result = parseClaimReply(list(this.value(group[1])), request);
        if (result.status === "won" || result.status === "queued") {
          this.remember(runIds[i] as string, request.jobId);
        }
        return result;
      });
    });
  }

  private claimSteps(request: ClaimRequest, runId: string): Step[] {
    const { base, keys } = this.keys.job(request.jobId);
    const tolerance = request.toleranceMs ?? 0;
    const missed = missedToRecord(request, null).flatMap((at) => [at, randomUUID()]);
    const args = [base, request.jobId, request.scheduledAt, request.hash, request.replicaId];
    args.push(request.leaseMs, tolerance, runId, this.historyLimit, this.retentionMs, ...missed);
    const indexAt = request.scheduledAt - tolerance + request.leaseMs;
    return [
      { command: "hset", args: [this.keys.runJobs, runId, request.jobId] },
      { script: CLAIM, keys, args },
      {
        command: "zadd",
        args: [this.keys.leases, indexAt, this.keys.member(request.jobId, runId)],
      },
    ];
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    return this.guard("claimManual", async () => {
      const { base, keys } = this.keys.job(jobId);
      const runId = randomUUID();
      const reply = await this.steps([
        { command: "hset", args: [this.keys.runJobs, runId, jobId] },
        { script: CLAIM_MANUAL, keys, args: [base, jobId, replicaId, leaseMs, runId] },
        { command: "zadd", args: [this.keys.leases, 0, this.keys.member(jobId, runId)] },
      ]);
      const tuple = list(reply[1]).map(text);
      if (tuple.length === 0) return null;
      this.remember(runId, jobId);
      const [id, at, lease] = tuple;
      return parseClaimedTuple(jobId, [id, at, "manual", "1", "1", lease]);
    });
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number> {
    return this.guard("recordMissed", async () => {
      const { base, keys } = this.keys.job(jobId);
      const pairs = [...new Set(instants)]
        .sort((a, b) => a - b)
        .flatMap((at) => [at, randomUUID()]);
      const args = [base, jobId, hash, this.historyLimit, this.retentionMs, ...pairs];
      return Number(text((await this.steps([{ script: RECORD_MISSED, keys, args }]))[0]));
    });
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    return this.fenced("startRun", runId, token, "start", attempt);
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return this.fenced("heartbeat", runId, token, "heartbeat", leaseMs);
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    return this.fenced("releaseRun", runId, token, "release", 0);
  }

  private async fenced(
    op: string,
    runId: string,
    token: number,
    mode: string,
    value: number,
  ): Promise<boolean> {
    return this.guard(op, async () => {
      const jobId = await this.jobOf(runId);
      if (jobId === null) return false;
      const { base, keys } = this.keys.job(jobId);
      const steps: Step[] = [
        { script: FENCED_WRITE, keys, args: [base, jobId, runId, token, mode, value] },
      ];
      // A released run must be found by the next sweep, not when its old lease would expire.
      if (mode === "release") {
        steps.push({
          command: "zadd",
          args: [this.keys.leases, 0, this.keys.member(jobId, runId)],
        });
      }
      return Number(text((await this.steps(steps))[0])) === 1;
    });
  }

  async finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult> {
    return this.guard("finishRun", async () => {
      const jobId = await this.jobOf(runId);
      if (jobId === null) return { ok: false, next: null };
      const { base, keys } = this.keys.job(jobId);
      const error = outcome.error ?? null;
      const args = [
        base,
        jobId,
        runId,
        token,
        outcome.state,
        error === null ? "0" : "1",
        error ?? "",
      ];
      args.push(leaseMs, this.historyLimit, this.retentionMs);
      const [ok, next] = list((await this.steps([{ script: FINISH, keys, args }]))[0]);
      if (Number(text(ok)) !== 1) return { ok: false, next: null };
      const tuple = list(next).map(text);
      if (tuple.length === 0) return { ok: true, next: null };
      const run = parseClaimedTuple(jobId, tuple);
      this.remember(run.runId, jobId);
      return { ok: true, next: run };
    });
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    return this.guard("recoverExpired", async () => {
      const context = {
        client: this.client,
        keys: this.keys,
        historyLimit: this.historyLimit,
        retentionMs: this.retentionMs,
        reconcileMs: this.reconcileMs,
        jobIds: () => this.jobIds(),
        remember: (runId: string, jobId: string | null) => this.remember(runId, jobId),
      };
      return recoverExpiredRuns(context, replicaId, leaseMs, limit);
    });
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

  private steps(steps: Step[]): Promise<unknown[]> {
    return runSteps(this.client, steps);
  }

  /** The job of a run: from this instance's cache, else the store-wide run → job hash. */
  private async jobOf(runId: string): Promise<string | null> {
    const cached = this.runJobs.get(runId);
    if (cached !== undefined) return cached;
    const jobId = await this.client.call("hget", this.keys.runJobs, runId);
    return jobId === null || jobId === undefined ? null : text(jobId);
  }

  private remember(runId: string, jobId: string | null): void {
    this.runJobs.delete(runId);
    if (jobId === null) return;
    this.runJobs.set(runId, jobId);
    if (this.runJobs.size > RUN_CACHE_SIZE) {
      const oldest = this.runJobs.keys().next();
      if (!oldest.done) this.runJobs.delete(oldest.value);
    }
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
