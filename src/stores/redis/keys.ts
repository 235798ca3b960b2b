import { randomUUID } from "node:crypto";
import { TASK_KEY_SEPARATOR } from "../shared/schedules.js";

/**
 * Key layout of the Redis store. Every key starts with `<prefix>:` and holds one hash tag:
 *
 * - per job, tag `{<prefix>:<jobId>}`, base `<prefix>:{<prefix>:<jobId>}`: `:job` (hash),
 *   `:runs`, `:active`, `:queued`, `:done` (sorted sets), `:occ` (hash), `:run:<runId>` (hash);
 * - store-wide, tag `{<prefix>}`: `:jobs` (set of job ids), `:code-jobs` (set of the ids of the
 *   jobs defined in code, for `listJobs`), `:leases` (sorted set of the run ids
 *   of active and queued runs by when recovery should look at them), `:reconcile` (lock),
 *   `:replicas` (hash), `:warnings` (list), `:schema` (the key layout's version, set by `init`),
 *   and for runtime schedules `:schedules` (their job ids, all at score 0, for listing by
 *   ZRANGEBYLEX) and `:due:<task>` (one per task: the task's due index, see
 *   `scripts/schedules.ts`).
 *
 * A runtime schedule's row is its job's `:job` hash with the schedule fields added (`task`,
 * `schedule_key`, `data`, `next_at`, `triggered_at`, `due_at`, `spread`; absent = NULL). Its
 * writes touch the job's keys and the store-wide schedule keys in one script, so they need a
 * single Redis node (see `schedules.ts`). Wake-ups go over the pub/sub channel
 * {@link RedisKeys.scheduleChanges} (a channel, not a key).
 *
 * A run id is `<uuid>:<jobId>` ({@link newRunId}), so a call that carries only a run id finds
 * the run's job, and with it the run's keys, without a lookup. The prefix never contains
 * braces, so the tag of a job's keys is the same for all of them even when the job id contains
 * `{` or `}`.
 */
export class RedisKeys {
  readonly jobs: string;
  /** Set of the ids of jobs defined in code (`registerJobs`): `listJobs` reads no schedule. */
  readonly codeJobs: string;
  readonly leases: string;
  readonly reconcile: string;
  readonly replicas: string;
  readonly warnings: string;
  readonly schema: string;
  /** Lex-ordered sorted set of every runtime schedule's job id. */
  readonly schedules: string;
  /** Pub/sub channel announcing that a schedule became due earlier. */
  readonly scheduleChanges: string;

  constructor(readonly prefix: string) {
    const global = `${prefix}:{${prefix}}`;
    this.jobs = `${global}:jobs`;
    this.codeJobs = `${global}:code-jobs`;
    this.leases = `${global}:leases`;
    this.reconcile = `${global}:reconcile`;
    this.replicas = `${global}:replicas`;
    this.warnings = `${global}:warnings`;
    this.schema = `${global}:schema`;
    this.schedules = `${global}:schedules`;
    this.scheduleChanges = `${prefix}:schedule-changes`;
  }

  /** The due index of a task's schedules (see `scripts/schedules.ts`). */
  due(task: string): string {
    return `${this.prefix}:{${this.prefix}}:due:${task}`;
  }

  /**
   * The nine keys of a schedule script, in KEYS order: the job's six ({@link job}), then the
   * job list, the schedule list and the due index of the task the job id names (the part
   * before the first `:`, see `scheduleJobId`).
   */
  schedule(jobId: string): { readonly base: string; readonly keys: string[] } {
    const { base, keys } = this.job(jobId);
    const task = jobId.split(TASK_KEY_SEPARATOR, 1)[0] as string;
    return { base, keys: [...keys, this.jobs, this.schedules, this.due(task)] };
  }

  /** The key base of a job and the six keys every job script takes, in KEYS order. */
  job(jobId: string): { readonly base: string; readonly keys: string[] } {
    const base = this.base(jobId);
    const keys = ["job", "runs", "active", "queued", "done", "occ"].map((k) => `${base}:${k}`);
    return { base, keys };
  }

  /** A job's hash: the first of its {@link job} keys. */
  jobHash(jobId: string): string {
    return `${this.base(jobId)}:job`;
  }

  private base(jobId: string): string {
    return `${this.prefix}:{${this.prefix}:${jobId}}`;
  }
}

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:/;

/** A new run id of a job: `<uuid>:<jobId>`. */
export function newRunId(jobId: string): string {
  return `${randomUUID()}:${jobId}`;
}

/** The job of a run id made by {@link newRunId}; null for any other string. */
export function jobOfRun(runId: string): string | null {
  return RUN_ID.test(runId) ? runId.slice(37) : null;
}
