import { inspect } from "node:util";
import { schemaMissing } from "../shared/schema.js";
import { inspectStore, redact } from "../shared/url.js";
import { registerInChunks, registerOne } from "../shared/batches.js";
import * as claims from "./claim.js";
import { list, RedisConnection, text, toStoreError, type RedisContext } from "./connection.js";
import { indexCodeJobs, listJobs, readJobs, registerJobs, setPaused } from "./jobs.js";
import { RedisKeys } from "./keys.js";
import { resolveOptions, type RedisStoreOptions } from "./options.js";
import * as records from "./records.js";
import { recoverExpiredRuns, type RecoveryContext } from "./recovery.js";
import * as runs from "./runs.js";
import { ScheduleChangeFeed } from "./schedule-changes.js";
import * as schedules from "./schedules.js";
import { checkRedisSettings } from "./settings.js";
import type {
  ClaimedRun,
  ClaimRequest,
  ClaimResult,
  DueQuery,
  DueSchedules,
  FinishResult,
  HistoryQuery,
  JobListing,
  JobRecord,
  JobRegistration,
  Recovered,
  RegisterResult,
  ReplicaInfo,
  ReplicaRecord,
  RunOutcome,
  StartRequest,
  FinishRequest,
  RunRecord,
  PutScheduleOutcome,
  PutScheduleResult,
  PutScheduleReturning,
  ScheduleAdvance,
  ScheduleCountFilter,
  SchedulePage,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleWrite,
  Store,
  WarningRecord,
} from "../store.js";

export type { RedisClientLike } from "./connection.js";
export type { RedisStoreOptions } from "./options.js";

/**
 * Version of the key layout, kept at `<prefix>:{<prefix>}:schema`. 2 added the code job list
 * (`:code-jobs`), filled from the job list by a migrating `init` on a store of layout 1 (or of
 * no layout key: an older release's).
 */
const SCHEMA_VERSION = 2;

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
  private readonly connection: RedisConnection;
  private readonly context: RedisContext;
  private readonly recovery: RecoveryContext;
  /** Listeners of `onScheduleChange` and their subscriber connection. */
  private readonly scheduleChanges: ScheduleChangeFeed;
  private initializing: Promise<void> | null = null;
  private readonly autoMigrate: boolean;
  /** `url (keys prefix:*)`, for messages and `inspect`; never the password. */
  private readonly target: string;

  constructor(options: RedisStoreOptions = {}) {
    const settings = resolveOptions(options);
    this.autoMigrate = settings.autoMigrate;
    const server = settings.client ? "the given client" : redact(settings.url);
    this.target = `${server} (keys ${settings.keyPrefix}:*)`;
    const name = `belfry:${settings.keyPrefix}`;
    this.connection = new RedisConnection({ ...settings, name });
    const keys = new RedisKeys(settings.keyPrefix);
    const { historyLimit, retentionMs } = settings;
    this.context = { client: this.connection.client, keys, historyLimit, retentionMs };
    this.recovery = { ...this.context, reconcileMs: settings.reconcileMs };
    this.scheduleChanges = new ScheduleChangeFeed(this.connection.client, keys.scheduleChanges);
  }

  async init(): Promise<void> {
    this.initializing ??= this.initOnce().catch((error: unknown) => {
      this.initializing = null;
      throw error;
    });
    return this.initializing;
  }

  /**
   * Connects, checks the server settings and brings the key layout to {@link SCHEMA_VERSION}
   * (from layout 1: fills the code job list); with `autoMigrate: false`, checks the layout
   * instead and writes nothing.
   * @throws BelfryError `STORE_CONNECT`, `INVALID_STORE_URL` (a database the server lacks),
   *   `SCHEMA_MISSING` (`autoMigrate: false`: no belfry keys, or an older layout).
   */
  private async initOnce(): Promise<void> {
    await this.connection.connect();
    const { client, keys } = this.context;
    const stored = await this.guard("init", () => client.call("get", keys.schema));
    // No layout key: an older release's store (layout 1), or no store yet.
    const layout = stored === null ? null : Number(text(stored));
    if (!this.autoMigrate) {
      await this.checkLayout(layout);
      const warnings = await this.guard("init", () => checkRedisSettings(client));
      this.settingsWarnings.splice(0, this.settingsWarnings.length, ...warnings);
      return;
    }
    if (layout === null || layout < SCHEMA_VERSION) {
      await this.guard("init", () => indexCodeJobs(this.context));
      await this.guard("init", () => client.call("set", keys.schema, SCHEMA_VERSION));
    }
    const warnings = await this.guard("init", () => checkRedisSettings(client));
    for (const message of warnings) {
      await this.addWarning({ replicaId: "store", kind: "store-settings", message });
    }
    this.settingsWarnings.splice(0, this.settingsWarnings.length, ...warnings);
  }

  /**
   * `autoMigrate: false`: the stored layout must be this release's (or a later one).
   * @throws BelfryError `SCHEMA_MISSING` naming what was found.
   */
  private async checkLayout(layout: number | null): Promise<void> {
    if (layout !== null && layout >= SCHEMA_VERSION) return;
    const { client, keys } = this.context;
    const jobs = await this.guard("init", () => client.call("exists", keys.jobs));
    if (layout === null && Number(jobs) === 0) {
      throw schemaMissing("RedisStore", this.target, "holds no belfry keys");
    }
    const found = layout ?? 1;
    throw schemaMissing(
      "RedisStore",
      this.target,
      `holds key layout ${found}, this release needs ${SCHEMA_VERSION} (the code job list)`,
    );
  }

  /** Shows the server and key prefix, never the password. */
  [inspect.custom](): string {
    return inspectStore("RedisStore", this.target);
  }

  /** Closes the subscriber connection of `onScheduleChange` too. */
  async close(): Promise<void> {
    await this.scheduleChanges.close();
    await this.connection.close();
  }

  async now(): Promise<number> {
    return this.guard("now", async () => {
      const reply = list(await this.context.client.call("time")).map((v) => Number(text(v)));
      const [seconds, micros] = reply;
      return (seconds ?? 0) * 1000 + Math.floor((micros ?? 0) / 1000);
    });
  }

  async registerJob(registration: JobRegistration): Promise<RegisterResult> {
    return registerOne(this, registration);
  }

  async registerJobs(registrations: readonly JobRegistration[]): Promise<RegisterResult[]> {
    return this.guard("registerJobs", () =>
      registerInChunks(registrations, (chunk) => registerJobs(this.context, chunk)),
    );
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    return this.guard("getJob", async () => (await readJobs(this.context, [jobId]))[0] ?? null);
  }

  async listJobs(): Promise<JobListing> {
    return this.guard("listJobs", () => listJobs(this.context));
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    return this.guard("setPaused", () => setPaused(this.context, jobId, paused));
  }

  async claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    return this.guard("claim", () => claims.claim(this.context, requests));
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    return this.guard("claimManual", () =>
      claims.claimManual(this.context, jobId, replicaId, leaseMs),
    );
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number[]> {
    return this.guard("recordMissed", () =>
      claims.recordMissed(this.context, jobId, hash, instants),
    );
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    return this.guard("startRun", () => runs.startRun(this.context, runId, token, attempt));
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return this.guard("heartbeat", () => runs.heartbeat(this.context, runId, token, leaseMs));
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    return this.guard("releaseRun", () => runs.releaseRun(this.context, runId, token));
  }

  async finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult> {
    return this.guard("finishRun", () =>
      runs.finishRun(this.context, runId, token, outcome, leaseMs),
    );
  }
  async startRuns(requests: readonly StartRequest[]): Promise<boolean[]> {
    return this.guard("startRuns", () => runs.startRuns(this.context, requests));
  }

  async finishRuns(requests: readonly FinishRequest[]): Promise<FinishResult[]> {
    return this.guard("finishRuns", () => runs.finishRuns(this.context, requests));
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    return this.guard("recoverExpired", () =>
      recoverExpiredRuns(this.recovery, replicaId, leaseMs, limit),
    );
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    return this.guard("history", () => records.readHistory(this.context, query));
  }

  async prune(before: number): Promise<number> {
    return this.guard("prune", () => records.pruneRuns(this.context, before));
  }

  async touchReplica(info: ReplicaInfo): Promise<void> {
    await this.guard("touchReplica", () => records.touchReplicaRow(this.context, info));
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    return this.guard("listReplicas", () => records.readReplicas(this.context, since));
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    await this.guard("addWarning", () => records.pushWarning(this.context, warning));
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    return this.guard("listWarnings", () => records.readWarnings(this.context, limit));
  }

  putSchedules(
    writes: readonly ScheduleWrite[],
    mode: "create" | "upsert",
    returning?: "rows",
  ): Promise<PutScheduleResult[]>;
  putSchedules(
    writes: readonly ScheduleWrite[],
    mode: "create" | "upsert",
    returning: "outcomes",
  ): Promise<PutScheduleOutcome[]>;
  async putSchedules(
    writes: readonly ScheduleWrite[],
    mode: "create" | "upsert",
    returning: PutScheduleReturning = "rows",
  ): Promise<PutScheduleOutcome[]> {
    return this.guard("putSchedules", () =>
      schedules.putSchedules(this.context, writes, mode, returning),
    );
  }

  async getSchedule(jobId: string): Promise<ScheduleRecord | null> {
    return this.guard("getSchedule", () => schedules.getSchedule(this.context, jobId));
  }

  async listSchedules(query?: ScheduleQuery): Promise<SchedulePage> {
    return this.guard("listSchedules", () => schedules.listSchedules(this.context, query));
  }

  async removeSchedules(jobIds: readonly string[]): Promise<boolean[]> {
    return this.guard("removeSchedules", () => schedules.removeSchedules(this.context, jobIds));
  }

  async dueSchedules(query: DueQuery): Promise<DueSchedules> {
    return this.guard("dueSchedules", () => schedules.dueSchedules(this.context, query));
  }

  async scheduleTasks(): Promise<string[]> {
    return this.guard("scheduleTasks", () => schedules.scheduleTasks(this.context));
  }

  async countSchedules(filter?: ScheduleCountFilter): Promise<number> {
    return this.guard("countSchedules", () => schedules.countSchedules(this.context, filter));
  }

  async advanceSchedules(items: readonly ScheduleAdvance[]): Promise<void> {
    await this.guard("advanceSchedules", () => schedules.advanceSchedules(this.context, items));
  }

  async triggerSchedule(jobId: string): Promise<boolean> {
    return this.guard("triggerSchedule", () => schedules.triggerSchedule(this.context, jobId));
  }

  async claimTriggered(
    jobId: string,
    replicaId: string,
    leaseMs: number,
  ): Promise<ClaimedRun | null> {
    return this.guard("claimTriggered", () =>
      schedules.claimTriggered(this.context, jobId, replicaId, leaseMs),
    );
  }

  async claimBackfill(
    jobId: string,
    instants: readonly number[],
    replicaId: string,
    leaseMs: number,
  ): Promise<ClaimedRun[] | null> {
    return this.guard("claimBackfill", () =>
      schedules.claimBackfill(this.context, jobId, instants, replicaId, leaseMs),
    );
  }

  /**
   * Redis pub/sub on the channel `<prefix>:schedule-changes`, heard on a connection of its own
   * (a `duplicate()` of the store's client, closed by `close()` or with the last listener).
   */
  async onScheduleChange(listener: () => void): Promise<() => Promise<void>> {
    return this.scheduleChanges.listen(listener);
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
