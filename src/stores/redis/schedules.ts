import { BelfryError } from "../../errors.js";
import { chunksOf, REGISTER_CHUNK, registrationChunks } from "../shared/batches.js";
import { parseScheduleListing, parseScheduleRow, type RawRow } from "../shared/rows.js";
import {
  TASK_KEY_SEPARATOR,
  codeJobClash,
  replicaSpread,
  scheduleJobId,
  schedulePageSize,
  SPREAD_MODULUS,
  spreadOf,
  spreadRank,
} from "../shared/schedules.js";
import type {
  ClaimedRun,
  DueQuery,
  DueSchedules,
  PutScheduleOutcome,
  PutScheduleResult,
  PutScheduleReturning,
  ScheduleAdvance,
  ScheduleCountFilter,
  SchedulePage,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleWrite,
} from "../store.js";
import { manualRun, parseClaimedTuple } from "./claim.js";
import { list, record, runGroups, runSteps, settledValue, text } from "./connection.js";
import type { RedisArg, RedisContext, Step } from "./connection.js";
import { readJobHashes } from "./jobs.js";
import { newRunId } from "./keys.js";
import { indexRuns } from "./leases.js";
import type { LuaScript } from "./scripts/prelude.js";
import { publishScheduleChange } from "./schedule-changes.js";
import {
  ADVANCE_SCHEDULE,
  CLAIM_BACKFILL,
  CLAIM_TRIGGERED,
  DUE_SCHEDULES,
  FORGET_SCHEDULE,
  PUT_SCHEDULES,
  REMOVE_SCHEDULE,
  TRIGGER_SCHEDULE,
} from "./scripts/schedules.js";

/**
 * `ScheduleRecords` on Redis. A schedule is a job hash with the schedule fields, listed in
 * `<p>:{<p>}:schedules` and indexed by due instant in `<p>:{<p>}:due:<task>`
 * (`scripts/schedules.ts`); every write is one script over both, so the index never lags the
 * row. Those scripts span two hash tags, so schedule writes need a single Redis node: on a
 * Cluster they are refused with `UNSUPPORTED` (reads work, and find nothing).
 *
 * Reads are two steps: the indexes (one command or script on the store-wide keys), then the
 * job hashes they name (one pipeline). A row that changed in between is read as it is now.
 */

/**
 * Writes per `PUT_SCHEDULES` call. Redis runs a call whole, other clients waiting: 100 writes
 * take a few milliseconds, and cost a third of 100 calls of one.
 */
const PUT_BATCH = 100;

/**
 * `ScheduleRecords.putSchedules`: per 500 writes one pipeline of `PUT_SCHEDULES` calls of 100.
 * A repeated job id starts a new pipeline: a call sent again after NOSCRIPT runs after the
 * others of its pipeline, which must then write other ids.
 */
export async function putSchedules(
  context: RedisContext,
  writes: readonly ScheduleWrite[],
  mode: "create" | "upsert",
  returning: PutScheduleReturning,
): Promise<PutScheduleOutcome[]> {
  singleNode(context, "putSchedules");
  writes.forEach(checkWrite);
  const results: PutScheduleOutcome[] = [];
  let earlier = false;
  for (const chunk of registrationChunks(writes)) {
    const calls = chunksOf(chunk, PUT_BATCH).map((part) => [
      putStep(context, part, mode, returning),
    ]);
    for (const [call] of await runGroups(context.client, calls)) {
      const [sooner, ...replies] = list(settledValue(call));
      earlier ||= Number(text(sooner)) === 1;
      for (let i = 0; i + 1 < replies.length; i += 2) {
        // Calls come in order: this is the result of writes[results.length].
        const { jobId } = writes[results.length] as ScheduleWrite;
        const row = returning === "rows" ? replies[i + 1] : null;
        results.push(putResult(context, jobId, text(replies[i]), row));
      }
    }
  }
  if (earlier) await publishScheduleChange(context);
  return results;
}

/** One `PUT_SCHEDULES` call: the writes, their definitions (with their task) sent once. */
function putStep(
  context: RedisContext,
  writes: readonly ScheduleWrite[],
  mode: string,
  returning: PutScheduleReturning,
): Step {
  const groups: ScheduleWrite[] = [];
  const rows: string[] = [];
  const perWrite: RedisArg[] = [];
  for (const write of writes) {
    let group = groups.findIndex((other) => sameGroup(other, write));
    if (group < 0) group = groups.push(write) - 1;
    rows.push(context.keys.jobHash(write.jobId));
    const { jobId, key, data, nextAt } = write;
    perWrite.push(group + 1, jobId, key, data === null ? "0" : "1", data ?? "", nextAt ?? "");
    perWrite.push(spreadOf(jobId));
  }
  const keys = [context.keys.jobs, context.keys.schedules];
  const args: RedisArg[] = [mode, returning, groups.length];
  for (const g of groups) {
    keys.push(context.keys.due(g.task));
    args.push(g.task, g.hash, g.definition, g.anchor, g.overlap, g.onAbandoned, g.maxAttempts);
    args.push(g.maxRuns ?? "");
  }
  return { script: PUT_SCHEDULES, keys: [...keys, ...rows], args: [...args, ...perWrite] };
}

/** Whether two writes share what `PUT_SCHEDULES` sends once per group. */
function sameGroup(a: ScheduleWrite, b: ScheduleWrite): boolean {
  return (
    a.definition === b.definition &&
    a.task === b.task &&
    a.hash === b.hash &&
    a.anchor === b.anchor &&
    a.overlap === b.overlap &&
    a.onAbandoned === b.onAbandoned &&
    a.maxAttempts === b.maxAttempts &&
    a.maxRuns === b.maxRuns
  );
}

/** One write's result: its outcome, with its row parsed from `row` unless that is null. */
function putResult(
  context: RedisContext,
  jobId: string,
  outcome: string,
  row: unknown,
): PutScheduleOutcome | PutScheduleResult {
  if (outcome === "codeJob") throw codeJobClash("RedisStore", jobId);
  if (!["created", "unchanged", "updated", "conflict"].includes(outcome)) {
    throw new Error(`unexpected putSchedules outcome ${outcome}`);
  }
  const known = outcome as PutScheduleOutcome["outcome"];
  if (row === null) return { outcome: known };
  return { schedule: parseScheduleRow(record(row), where(context, jobId)), outcome: known };
}

/**
 * The write's job id must be its task and key (the due index is found from the job id), and
 * its instant one the due index can order.
 */
function checkWrite(write: ScheduleWrite): void {
  if (write.jobId !== scheduleJobId(write.task, write.key)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `RedisStore.putSchedules: job id ${JSON.stringify(write.jobId)} is not ${JSON.stringify(scheduleJobId(write.task, write.key))} (task and key)`,
    );
  }
  checkInstant("putSchedules", "nextAt", write.nextAt);
}

/** An instant the store writes must be a safe integer (or null). */
function checkInstant(op: string, name: string, value: number | null): void {
  if (value !== null && !Number.isSafeInteger(value)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `RedisStore.${op}: ${name} must be an integer epoch ms or null, got ${String(value)}`,
    );
  }
}

/** `ScheduleRecords.getSchedule`: null for no row and for a job row that is no schedule. */
export async function getSchedule(
  context: RedisContext,
  jobId: string,
): Promise<ScheduleRecord | null> {
  const [found] = await readJobHashes(context, [jobId]);
  if (!found || found.raw.task === undefined) return null;
  return parseScheduleRow(found.raw, `RedisStore key ${found.key}`);
}

/** Job ids read from the schedule list per round trip while a `paused` filter drops rows. */
const LIST_BATCH = 500;

/**
 * `ScheduleRecords.listSchedules`: ZRANGEBYLEX over the schedule list from the task and key
 * prefix (or after `after`), then the rows. With `paused` the list is read on, a batch at a
 * time, until the page is full (as a SQL store scans without an index on `paused`).
 */
/**
 * `scheduleTasks`: a skip scan of the lex-ordered schedule list (job ids `<task>:<key>`, and a
 * task name never holds `:` or `;`, so `[<task>;` is the first id of the next task), one
 * round trip per task, then which of them still have a due index (Redis drops empty ones).
 */
export async function scheduleTasks(context: RedisContext): Promise<string[]> {
  const tasks: string[] = [];
  for (let from = "-"; ;) {
    const [first] = list(
      await context.client.call("zrangebylex", context.keys.schedules, from, "+", "LIMIT", 0, 1),
    ).map(text);
    if (first === undefined) break;
    const task = first.split(TASK_KEY_SEPARATOR, 1)[0] as string;
    tasks.push(task);
    from = `[${task};`;
  }
  const pipeline = context.client.pipeline();
  for (const task of tasks) pipeline.call("exists", context.keys.due(task));
  const found = (await pipeline.exec()) ?? [];
  return tasks.filter((_, i) => Number(found[i]?.[1]) === 1).sort();
}

/**
 * `countSchedules`: ZCARD of the schedule list, or for a task ZLEXCOUNT of its range
 * `[<task>:` … `(<task>;` (its job ids, finished series included; the due index holds only the
 * rows still due), O(log n) either way.
 */
export async function countSchedules(
  context: RedisContext,
  filter: ScheduleCountFilter = {},
): Promise<number> {
  const key = context.keys.schedules;
  const reply =
    filter.task === undefined
      ? await context.client.call("zcard", key)
      : await context.client.call("zlexcount", key, `[${filter.task}:`, `(${filter.task};`);
  return Number(reply);
}

export async function listSchedules(
  context: RedisContext,
  query: ScheduleQuery = {},
): Promise<SchedulePage> {
  const limit = schedulePageSize(query.limit);
  const prefix = query.task === undefined ? "" : scheduleJobId(query.task, query.keyPrefix ?? "");
  const after = query.after;
  let from = prefix === "" ? "-" : `[${prefix}`;
  if (after !== undefined && (prefix === "" || byteOrder(after, prefix) >= 0)) from = `(${after}`;
  const page: RawRow[] = [];
  for (;;) {
    const size = query.paused === undefined ? limit + 1 - page.length : LIST_BATCH;
    const reply = await context.client.call(
      "zrangebylex",
      context.keys.schedules,
      from,
      "+",
      "LIMIT",
      0,
      size,
    );
    const ids = list(reply).map(text);
    const inRange = ids.filter((id) => id.startsWith(prefix));
    const rows = (await readJobHashes(context, inRange)).map(({ raw }) => raw);
    page.push(...rows.filter((raw) => wanted(raw, query.paused)));
    const done = ids.length < size || inRange.length < ids.length;
    if (page.length > limit || done) break;
    from = `(${ids[ids.length - 1] as string}`;
  }
  const rows = page.slice(0, limit);
  const listing = parseScheduleListing(rows, (raw) => where(context, String(raw.job_id)));
  const last = rows[rows.length - 1];
  return { ...listing, next: page.length > limit && last ? String(last.job_id) : null };
}

/** Whether a row passes the `paused` filter; one whose flag cannot be read is kept (unreadable). */
function wanted(raw: RawRow, paused: boolean | undefined): boolean {
  if (paused === undefined || (raw.paused !== "0" && raw.paused !== "1")) return true;
  return (raw.paused === "1") === paused;
}

/** Compares two strings as Redis orders them (bytes of UTF-8). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** `ScheduleRecords.removeSchedules`: one pipeline of one script per id. */
export async function removeSchedules(
  context: RedisContext,
  jobIds: readonly string[],
): Promise<boolean[]> {
  singleNode(context, "removeSchedules");
  const settled = await runGroups(
    context.client,
    jobIds.map((jobId) => [scheduleStep(context, REMOVE_SCHEDULE, jobId, [])]),
    jobIds,
  );
  return settled.map((group) => Number(text(settledValue(group[0]))) === 1);
}

/**
 * Drops from the job list the removed schedules among `jobIds` once they have no run left (a
 * prune found them so), each in one script that checks again. None on a Cluster, where no
 * schedule can have been written.
 */
export async function forgetRemovedSchedules(
  context: RedisContext,
  jobIds: readonly string[],
): Promise<void> {
  if (jobIds.length === 0 || context.client.isCluster) return;
  await runGroups(
    context.client,
    jobIds.map((jobId) => [scheduleStep(context, FORGET_SCHEDULE, jobId, [])]),
    jobIds,
  );
}

/**
 * `ScheduleRecords.dueSchedules`: one script reads each task's due index (at most `limit`
 * members in the replica's order, and the first due after `until`), the members of all tasks
 * are merged by due instant and `spreadRank`, and the first `limit` rows are read. The work is
 * O(tasks · limit · log n), whatever the number of rows or of rows due at one instant.
 */
export async function dueSchedules(context: RedisContext, query: DueQuery): Promise<DueSchedules> {
  const tasks = [...new Set(query.tasks)];
  if (tasks.length === 0) return { schedules: [], unreadable: [], nextDueAt: null };
  const offset = replicaSpread(query.replicaId);
  // The spread whose rank is 0 for this replica: spreadRank(start, offset) === 0.
  const start = (SPREAD_MODULUS - offset) % SPREAD_MODULUS;
  const limit = Math.max(0, Math.floor(query.limit));
  const keys = tasks.map((task) => context.keys.due(task));
  const args = [Math.floor(query.until), limit, start];
  const [reply] = await runSteps(context.client, [{ script: DUE_SCHEDULES, keys, args }]);
  const due: DueMember[] = [];
  let nextDueAt: number | null = null;
  for (const perTask of list(reply)) {
    const [members, after] = list(perTask);
    due.push(...list(members).map((member) => dueMember(text(member), offset)));
    const next = text(after);
    if (next !== "") {
      const at = dueMember(next, offset).dueAt;
      if (nextDueAt === null || at < nextDueAt) nextDueAt = at;
    }
  }
  due.sort((a, b) => a.dueAt - b.dueAt || a.rank - b.rank || byteOrder(a.jobId, b.jobId));
  const ids = due.slice(0, limit).map((member) => member.jobId);
  const hashes = await readJobHashes(context, ids);
  const listing = parseScheduleListing(
    hashes.map(({ raw }) => raw),
    (raw) => where(context, String(raw.job_id)),
  );
  // A row claimed or advanced since the index was read is no longer due: leave it out.
  const schedules = listing.schedules.filter((s) => s.dueAt !== null && s.dueAt <= query.until);
  return { schedules, unreadable: listing.unreadable, nextDueAt };
}

/** A due-index member, read: `<due code 17>:<spread 10>:<jobId>` (`scripts/prelude.ts`). */
interface DueMember {
  readonly dueAt: number;
  readonly rank: number;
  readonly jobId: string;
}

function dueMember(member: string, offset: number): DueMember {
  const digits = Number(member.slice(1, 17));
  const dueAt = member[0] === "1" ? digits : digits - 9e15;
  const rank = spreadRank(Number(member.slice(18, 28)), offset);
  return { dueAt, rank, jobId: member.slice(29) };
}

/** `ScheduleRecords.advanceSchedules`: one pipeline of one script per item, per 500 items. */
export async function advanceSchedules(
  context: RedisContext,
  items: readonly ScheduleAdvance[],
): Promise<void> {
  if (items.length === 0) return;
  singleNode(context, "advanceSchedules");
  items.forEach((item) => checkInstant("advanceSchedules", "nextAt", item.nextAt));
  for (let at = 0; at < items.length; at += REGISTER_CHUNK) {
    const chunk = items.slice(at, at + REGISTER_CHUNK);
    const settled = await runGroups(
      context.client,
      chunk.map((item) => [
        scheduleStep(context, ADVANCE_SCHEDULE, item.jobId, [item.hash, item.nextAt ?? ""]),
      ]),
      chunk.map((item) => item.jobId),
    );
    settled.forEach((group) => settledValue(group[0]));
  }
}

/** `ScheduleRecords.triggerSchedule`. */
export async function triggerSchedule(context: RedisContext, jobId: string): Promise<boolean> {
  singleNode(context, "triggerSchedule");
  const [reply] = await runSteps(context.client, [
    scheduleStep(context, TRIGGER_SCHEDULE, jobId, []),
  ]);
  const [found, earlier] = list(reply).map((value) => Number(text(value)));
  if (earlier === 1) await publishScheduleChange(context);
  return found === 1;
}

/** `ScheduleRecords.claimTriggered`: the trigger script, then the run's lease-index entry. */
export async function claimTriggered(
  context: RedisContext,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  singleNode(context, "claimTriggered");
  const target = context.keys.schedule(jobId);
  return manualRun(context, CLAIM_TRIGGERED, target, jobId, replicaId, leaseMs);
}

/**
 * `ScheduleRecords.claimBackfill`: one script on the job's keys creates the runs, then one
 * command adds them to the lease index (as every step that makes runs active).
 */
export async function claimBackfill(
  context: RedisContext,
  jobId: string,
  instants: readonly number[],
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun[] | null> {
  const { base, keys } = context.keys.job(jobId);
  const sorted = [...new Set(instants)].sort((a, b) => a - b);
  const args = [base, jobId, replicaId, leaseMs, ...sorted.flatMap((at) => [at, newRunId(jobId)])];
  const [reply] = await runSteps(context.client, [{ script: CLAIM_BACKFILL, keys, args }]);
  const [found, lease = "", ...pairs] = list(reply).map(text);
  if (found !== "1") return null;
  const runs: ClaimedRun[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    runs.push(parseClaimedTuple(jobId, [pairs[i], pairs[i + 1], "backfill", "1", "1", lease]));
  }
  await indexRuns(
    context,
    runs.map((run) => [lease, run.runId]),
  );
  return runs;
}

/** A schedule script on `jobId` (ARGV: base, jobId, then `args`). */
function scheduleStep(
  context: RedisContext,
  script: LuaScript,
  jobId: string,
  args: readonly RedisArg[],
): Step {
  const { base, keys } = context.keys.schedule(jobId);
  return { script, keys, args: [base, jobId, ...args] };
}

/** Names a schedule's row in errors. */
function where(context: RedisContext, jobId: string): string {
  return `RedisStore key ${context.keys.jobHash(jobId)}`;
}

/**
 * Schedule writes touch the job's slot and the store-wide one in one script, which a Cluster
 * refuses (CROSSSLOT): say so plainly instead.
 * @throws BelfryError `UNSUPPORTED` on a Cluster client.
 */
function singleNode(context: RedisContext, op: string): void {
  if (context.client.isCluster) {
    throw new BelfryError(
      "UNSUPPORTED",
      `RedisStore.${op}: runtime schedules need a single Redis node (their writes update the schedule and its due index in one script, which spans two hash slots); use a standalone or Sentinel-managed Redis`,
    );
  }
}
