import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { spawnReplica, type ReplicaProcess } from "../../src/cli/cluster.js";
import type { ReplicaReport, ReplicaWindow } from "../../src/cli/replica.js";
import { sleep, systemClock } from "../../src/clock.js";
import { scheduleJobId } from "../../src/stores/shared/schedules.js";
import { openStore } from "../../src/stores/open.js";
import type { RunRecord, ScheduleRecord, ScheduleRecords, Store } from "../../src/stores/store.js";
import { dropPrefixed } from "./harness/cleanup.js";
import { stopAll, waitFor } from "./harness/multiprocess.js";
import {
  checkLedger,
  checkOccurrences,
  inFlight,
  occurrenceOf,
  readLedger,
  startedTwiceOrUnrecorded,
} from "./harness/schedule-checks.js";
import {
  expectedOccurrences,
  REMOVED_KEYS,
  SCHEDULE_COUNT,
  TASK,
  TRIGGERED_KEY,
  type CreatorCommand,
  type CreatorStep,
  type LedgerEntry,
  type ScheduleReplicaArgs,
} from "./harness/schedule-scenario.js";
import { runSources } from "./harness/sources.js";

// The "done when" test of runtime schedules, on every store: a creator process that defines no
// task creates 2,000 schedules at run time; three runner processes define the task and run
// them; one runner is killed with SIGKILL mid-run; the creator removes 200 schedules mid-window
// and later triggers one. Every occurrence due in the window runs exactly once (a run the kill
// interrupted is retried as a later attempt of the same run), removed schedules stop within a
// second, the trigger runs once. Timings are never asserted but for those two bounds. One file,
// stores one after another, so no two stores' processes compete for the machine's cores.
const POSTGRES = process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL = process.env.BELFRY_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const REDIS = process.env.BELFRY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const run = `rs${randomBytes(3).toString("hex")}`;
const withPrefix = (url: string) => `${url}${url.includes("?") ? "&" : "?"}prefix=${run}_`;
const folder = mkdtempSync(join(tmpdir(), "belfry-schedules-"));
const SCRIPT = runSources(fileURLToPath(new URL("./harness/schedule-replica.ts", import.meta.url)));

/** Runners' lease: a killed runner's runs are retried this long after its last heartbeat. */
const LEASE_MS = 4_000;
/** From the moment every process is up to the window's start: the creator writes in it. */
const LEAD_MS = 8_000;
/** The window every schedule is bounded to (`startAt` … `stopAt`). */
const WINDOW_MS = 20_000;
/**
 * When, after the window's start, the test asks the creator to remove its set of schedules:
 * just before a second at which some of them are due, so the removal meets their claims.
 */
const REMOVE_AT_MS = 6_900;
/** When, after the window's start, a runner is killed (once it has a handler running). */
const KILL_AT_MS = 9_000;
/** The issue's bound: no run of a removed schedule starts later than this after the removal. */
const REMOVAL_BOUND_MS = 1_000;
/** A generous bound from a trigger to its run's claim. */
const TRIGGER_BOUND_MS = 5_000;
/** Longest wait for the store to show every occurrence settled (a loaded machine is slow). */
const SETTLE_MS = 90_000;
/** More rows than the scenario writes (about 4 per schedule). */
const HISTORY_LIMIT = 100_000;
const RUNNERS = ["r1", "r2", "r3"];
const VICTIM = "r3";
const KEPT = SCHEDULE_COUNT - REMOVED_KEYS.size;

/** Waits for the creator's report of `name` and returns its store times. */
async function creatorStep(creator: ReplicaProcess, name: string): Promise<CreatorStep> {
  let exited = false;
  void creator.exited.then(() => (exited = true));
  const reported = await waitFor(() => {
    if (exited) throw new Error(`the creator exited before it reported ${name}`);
    return creator.reports.find(
      (r): r is Extract<ReplicaReport, { type: "event" }> => r.type === "event" && r.name === name,
    );
  }, 60_000);
  return JSON.parse(reported.detail!) as CreatorStep;
}

function tell(creator: ReplicaProcess, line: ReplicaWindow | CreatorCommand): void {
  creator.child.stdin!.write(`${JSON.stringify(line)}\n`);
}

async function sleepUntil(at: number): Promise<void> {
  await sleep(systemClock, Math.max(0, at - systemClock.now()));
}

/** Every stored schedule, page by page. */
async function allSchedules(records: ScheduleRecords): Promise<ScheduleRecord[]> {
  const rows: ScheduleRecord[] = [];
  let after: string | undefined;
  do {
    const page = await records.listSchedules({ limit: 1_000, after });
    rows.push(...page.schedules);
    after = page.next ?? undefined;
  } while (after !== undefined);
  return rows;
}

/** What one run of the scenario left behind, read once every process has stopped. */
interface Outcome {
  readonly window: ReplicaWindow;
  readonly created: CreatorStep;
  readonly removed: CreatorStep;
  readonly triggered: CreatorStep;
  /** The schedules as stored right after the creator wrote them, and at the end. */
  readonly stored: ScheduleRecord[];
  readonly remaining: ScheduleRecord[];
  /** The victim's attempts that had started and not ended when it was killed. */
  readonly killedWhile: LedgerEntry[];
  /** Run rows scheduled in or after the window, and every runner's ledger. */
  readonly history: RunRecord[];
  readonly ledger: LedgerEntry[];
}

/**
 * Runs the scenario on `storeUrl`: starts the runners and the creator, has the creator write
 * the schedules, remove its set mid-window, kills the victim once it has handlers running,
 * waits until every occurrence owed is settled, has the creator trigger one schedule, then
 * stops everything and reads the history and the ledgers.
 */
async function runScenario(name: string, storeUrl: string): Promise<Outcome> {
  const ledgerOf = (id: string) => join(folder, `${name}-${id}.jsonl`);
  const spawn = (replicaId: string, role: ScheduleReplicaArgs["role"]) => {
    const args: ScheduleReplicaArgs = {
      storeUrl,
      replicaId,
      clockSkewMs: 0,
      leaseMs: LEASE_MS,
      role,
      ledger: ledgerOf(replicaId),
    };
    return spawnReplica(SCRIPT, args);
  };
  const runners = RUNNERS.map((id) => spawn(id, "runner"));
  const creator = spawn("creator", "creator");
  const victim = runners.find((r) => r.id === VICTIM)!;
  const store = (await openStore(storeUrl)) as Store & ScheduleRecords;
  try {
    await Promise.all([...runners, creator].map((p) => p.loaded));
    await store.init();

    // The creator writes every schedule at run time, while the runners are up.
    const startAt = Math.ceil((systemClock.now() + LEAD_MS) / 1000) * 1000;
    const window: ReplicaWindow = { startAt, stopAt: startAt + WINDOW_MS - 1 };
    tell(creator, window);
    const created = await creatorStep(creator, "created");
    const stored = await allSchedules(store);
    const expected = expectedByJob(stored, window);

    // Mid-window it removes a set of schedules (some due at that very instant); later the
    // victim is killed while it has handlers running.
    await sleepUntil(startAt + REMOVE_AT_MS);
    tell(creator, { op: "remove" });
    const removed = await creatorStep(creator, "removed");
    await sleepUntil(startAt + KILL_AT_MS);
    await waitFor(
      () => (inFlight(readLedger(ledgerOf(VICTIM))).length > 0 ? true : undefined),
      30_000,
    );
    victim.child.kill("SIGKILL");
    await victim.exited;
    // Read after the kill: a handler seen running just before it may have ended since.
    const killedWhile = inFlight(readLedger(ledgerOf(VICTIM)));

    // Once every occurrence owed is settled (or the wait gave up: the checks will say what is
    // missing), the creator triggers one schedule.
    await waitFor(
      async () => {
        const rows = await store.history({ from: startAt, limit: HISTORY_LIMIT });
        const done = checkOccurrences(expected, rows).rows.size === countOf(expected);
        return done && !rows.some((r) => r.state === "claimed" || r.state === "running")
          ? true
          : undefined;
      },
      SETTLE_MS,
      1_000,
    ).catch(() => undefined);
    tell(creator, { op: "trigger" });
    const triggered = await creatorStep(creator, "triggered");
    const triggeredJob = scheduleJobId(TASK, TRIGGERED_KEY);
    await waitFor(async () => {
      const rows = await store.history({ jobId: triggeredJob, limit: 100 });
      return rows.some((r) => r.trigger === "manual" && r.state === "succeeded") ? true : undefined;
    }, 30_000).catch(() => undefined);
    // Time for a second manual run, were one to happen.
    await sleep(systemClock, 2_000);
    await stopAll([...runners, creator]);
    return {
      window,
      created,
      removed,
      triggered,
      stored,
      remaining: await allSchedules(store),
      killedWhile,
      history: await store.history({ from: startAt, limit: HISTORY_LIMIT }),
      ledger: RUNNERS.flatMap((id) => readLedger(ledgerOf(id))),
    };
  } finally {
    await stopAll([...runners, creator]);
    await store.close();
  }
}

/** The occurrences each kept schedule owes in the window, from its stored definition. */
function expectedByJob(stored: readonly ScheduleRecord[], window: ReplicaWindow) {
  const kept = stored.filter((row) => !REMOVED_KEYS.has(row.key));
  return new Map(kept.map((row) => [row.jobId, expectedOccurrences(row, window)]));
}

function countOf(expected: ReadonlyMap<string, readonly number[]>): number {
  return [...expected.values()].reduce((sum, instants) => sum + instants.length, 0);
}

function schedulesAcrossProcesses(name: string, storeUrl: string): void {
  it(`${name}: ${SCHEDULE_COUNT} runtime schedules run once each across 3 processes, through a kill -9, a removal and a trigger`, async () => {
    const outcome = await runScenario(name, storeUrl);
    const { history, ledger, removed, triggered } = outcome;
    const expected = expectedByJob(outcome.stored, outcome.window);
    const due = countOf(expected);
    const verdict = checkOccurrences(expected, history);
    const shares = RUNNERS.map(
      (id) => [...verdict.rows.values()].filter((r) => r.replicaId === id).length,
    );
    const removedJobs = new Set([...REMOVED_KEYS].map((key) => scheduleJobId(TASK, key)));
    const removedRows = history.filter((r) => removedJobs.has(r.jobId));
    const manual = history.filter((r) => r.trigger === "manual");
    const latest = (values: number[]) => (values.length > 0 ? Math.max(...values) : NaN);
    console.log(
      `${name}: ${due} occurrences due, ${history.length} rows; runs per replica ` +
        `${RUNNERS.map((id, i) => `${id} ${shares[i]}`).join(", ")}; ` +
        `${outcome.killedWhile.length} in flight on ${VICTIM} when killed; ` +
        `removal took ${removed.after - removed.before} ms, ${removedRows.length} runs of ` +
        `removed schedules, the last claimed ${latest(removedRows.map((r) => r.claimedAt! - removed.after))} ms ` +
        `and started ${latest(removedRows.map((r) => (r.startedAt ?? 0) - removed.after))} ms after it; ` +
        `trigger claimed after ${(manual[0]?.claimedAt ?? NaN) - triggered.before} ms`,
    );

    // The schedules were written at run time by a process without the task.
    expect(outcome.created.count).toBe(SCHEDULE_COUNT);
    expect(outcome.stored).toHaveLength(SCHEDULE_COUNT);
    expect(due).toBeGreaterThanOrEqual(KEPT * 2);

    // Every occurrence due ran exactly once (one row, succeeded), none at another instant.
    expect(verdict.notOnce).toEqual([]);
    expect(verdict.unexpected).toEqual([]);
    expect(verdict.rows.size).toBe(due);
    // Each handler ran once per occurrence, but for a killed attempt retried as the next one.
    expect(checkLedger(verdict.rows, ledger, VICTIM)).toEqual([]);
    // The kill hit running handlers; each of their occurrences was retried on a survivor.
    const retried = outcome.killedWhile
      .filter((e) => e.trigger === "schedule" && expected.has(e.jobId))
      .map((e) => verdict.rows.get(occurrenceOf(e)));
    expect(retried.length).toBeGreaterThan(0);
    for (const row of retried) {
      expect(row?.replicaId).not.toBe(VICTIM);
      expect(row?.attempt).toBeGreaterThanOrEqual(2);
    }
    // The work was spread: every runner ran some of it, each survivor a fair part.
    for (const [i, id] of RUNNERS.entries()) {
      expect(shares[i], id).toBeGreaterThan(id === VICTIM ? 0 : due * 0.1);
    }
    expect(history.filter((r) => r.replicaId === "creator")).toEqual([]);

    // Removal: gone from the store; no run of a removed schedule claimed (nor any scheduled)
    // more than a second after it; the ones before it ran at most once each.
    const bound = removed.after + REMOVAL_BOUND_MS;
    expect(removed.count).toBe(REMOVED_KEYS.size);
    expect(outcome.remaining).toHaveLength(KEPT);
    expect(outcome.remaining.filter((row) => REMOVED_KEYS.has(row.key))).toEqual([]);
    expect(removedRows.length).toBeGreaterThan(0);
    const late = removedRows.filter((r) => (r.claimedAt ?? 0) > bound || r.scheduledAt > bound);
    expect(late).toEqual([]);
    expect(startedTwiceOrUnrecorded(ledger, history, removedJobs)).toEqual([]);

    // Trigger: exactly one manual run, on a runner that survived, soon after.
    expect(manual).toHaveLength(1);
    expect(manual[0]).toMatchObject({
      jobId: scheduleJobId(TASK, TRIGGERED_KEY),
      state: "succeeded",
    });
    expect(RUNNERS.filter((id) => id !== VICTIM)).toContain(manual[0]!.replicaId);
    expect(manual[0]!.claimedAt! - triggered.before).toBeLessThanOrEqual(TRIGGER_BOUND_MS);
    const manualStarts = ledger.filter((e) => e.trigger === "manual" && e.phase === "start");
    expect(manualStarts.map((e) => e.runId)).toEqual([manual[0]!.runId]);
  }, 240_000);
}

describe("runtime schedules in separate processes", () => {
  schedulesAcrossProcesses("sqlite", `sqlite:${join(folder, "schedules.db")}`);
  schedulesAcrossProcesses("postgres", withPrefix(POSTGRES));
  schedulesAcrossProcesses("mysql", withPrefix(MYSQL));
  schedulesAcrossProcesses("redis", withPrefix(REDIS));
});

afterAll(async () => {
  await dropPrefixed({ postgres: POSTGRES, mysql: MYSQL, redis: REDIS }, run);
  rmSync(folder, { recursive: true, force: true });
});
