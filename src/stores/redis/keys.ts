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
