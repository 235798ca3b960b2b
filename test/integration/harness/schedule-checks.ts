import { readFileSync } from "node:fs";
import type { RunRecord } from "../../../src/stores/store.js";
import type { LedgerEntry } from "./schedule-scenario.js";

/**
 * The checks of the runtime-schedules multi-process test, as pure functions over the ledgers
 * and the store's history: each returns the offending items (empty when all is well), so a
 * failing assertion shows what went wrong.
 */

/** Most offending items a check returns (enough to see the pattern). */
const SHOWN = 20;

/**
 * The entries of a ledger file. A process killed mid-write may leave a partial last line,
 * which is dropped; any other unreadable line throws.
 */
export function readLedger(path: string): LedgerEntry[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const lines = text.split("\n").filter((line) => line !== "");
  return lines.flatMap((line, i) => {
    try {
      return [JSON.parse(line) as LedgerEntry];
    } catch (error) {
      if (i === lines.length - 1 && !text.endsWith("\n")) return [];
      throw error;
    }
  });
}

/** `jobId@scheduledAt`: one occurrence of one schedule. */
export function occurrenceOf(item: { jobId: string; scheduledAt: number }): string {
  return `${item.jobId}@${item.scheduledAt}`;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Attempts a ledger shows started and never ended (in flight when their process died). */
export function inFlight(entries: readonly LedgerEntry[]): LedgerEntry[] {
  const ended = new Set(
    entries.filter((e) => e.phase === "end").map((e) => `${e.runId}#${e.attempt}`),
  );
  return entries.filter((e) => e.phase === "start" && !ended.has(`${e.runId}#${e.attempt}`));
}

/** A run row in a few words: state, replica, attempt and error. */
function describeRow(row: RunRecord): string {
  return `${row.state} on ${row.replicaId}#${row.attempt}${row.error ? ` (${row.error})` : ""}`;
}

/** What the store recorded for the scheduled occurrences of the kept schedules. */
export interface OccurrenceVerdict {
  /** Expected occurrences without exactly one `succeeded` row. */
  readonly notOnce: string[];
  /** Rows at instants the stored definitions do not produce. */
  readonly unexpected: string[];
  /** The one row of each expected occurrence. */
  readonly rows: Map<string, RunRecord>;
}

/**
 * Compares the scheduled rows of the kept schedules with what their definitions owe: every
 * expected occurrence has exactly one row and it `succeeded`; no row is at another instant.
 */
export function checkOccurrences(
  expected: ReadonlyMap<string, readonly number[]>,
  history: readonly RunRecord[],
): OccurrenceVerdict {
  const scheduled = history.filter((r) => r.trigger === "schedule" && expected.has(r.jobId));
  const byOccurrence = groupBy(scheduled, occurrenceOf);
  const notOnce: string[] = [];
  const rows = new Map<string, RunRecord>();
  for (const [jobId, instants] of expected) {
    for (const scheduledAt of instants) {
      const key = occurrenceOf({ jobId, scheduledAt });
      const found = byOccurrence.get(key) ?? [];
      if (found.length === 1 && found[0]!.state === "succeeded") rows.set(key, found[0]!);
      else notOnce.push(`${key}: ${found.map(describeRow).join("; ") || "no row"}`);
    }
  }
  const unexpected = [...byOccurrence.keys()].filter((key) => !rows.has(key));
  return {
    notOnce: notOnce.slice(0, SHOWN),
    unexpected: unexpected.filter((key) => !notOnce.some((n) => n.startsWith(key))).slice(0, SHOWN),
    rows,
  };
}

/**
 * The ledger against the history: each occurrence's handler ran once, as the attempt and on the
 * replica its row records, except earlier attempts on `victim` (the killed replica), which the
 * row must show were retried (its attempt above theirs, same run). Returns what breaks that.
 */
export function checkLedger(
  rows: ReadonlyMap<string, RunRecord>,
  ledger: readonly LedgerEntry[],
  victim: string,
): string[] {
  const starts = groupBy(
    ledger.filter((e) => e.phase === "start" && e.trigger === "schedule"),
    occurrenceOf,
  );
  const problems: string[] = [];
  for (const [key, row] of rows) {
    const found = starts.get(key) ?? [];
    const final = found.filter((e) => e.replica === row.replicaId && e.attempt === row.attempt);
    const earlier = found.filter((e) => !final.includes(e));
    const explained = earlier.every(
      (e) => e.replica === victim && e.attempt < row.attempt && e.runId === row.runId,
    );
    if (final.length !== 1 || final[0]!.runId !== row.runId || !explained) {
      const seen = found.map((e) => `${e.replica}#${e.attempt}`).join(",") || "never started";
      problems.push(`${key}: row ${row.replicaId}#${row.attempt}, ledger ${seen}`);
    }
  }
  return problems.slice(0, SHOWN);
}

/** Occurrences the ledger shows started more than once, or started with no row in `history`. */
export function startedTwiceOrUnrecorded(
  ledger: readonly LedgerEntry[],
  history: readonly RunRecord[],
  jobIds: ReadonlySet<string>,
): string[] {
  const recorded = new Set(history.map((r) => r.runId));
  const starts = ledger.filter((e) => e.phase === "start" && jobIds.has(e.jobId));
  const problems = [...groupBy(starts, occurrenceOf)]
    .filter(([, found]) => found.length > 1 || !recorded.has(found[0]!.runId))
    .map(([key, found]) => `${key}: ${found.map((e) => `${e.replica}#${e.attempt}`).join(",")}`);
  return problems.slice(0, SHOWN);
}
