import { percentile } from "../src/observe/stats.js";
import type { RunRecord } from "../src/stores/store.js";
import type { CrashRecord, FaultRecord } from "./cluster.js";
import { FAULT_KINDS, type FaultKind } from "./faults.js";
import { occurrenceKey, type Execution } from "./ledger.js";

/**
 * How far before its instant a handler may read the wall clock and still not count as an early
 * start: the store servers run on this host, so the store's clock is this clock, and the claim
 * refuses an occurrence before its instant by the store's clock; 5 ms covers reading it.
 */
export const EARLY_TOLERANCE_MS = 5;

/** Everything one chaos run left behind, for {@link analyse}. */
export interface ChaosEvidence {
  /** Occurrences due in the window: occurrence key → job id and instant. */
  readonly due: ReadonlyMap<string, { job: string; scheduledAt: number }>;
  /** The store's run rows in the window. */
  readonly runs: readonly RunRecord[];
  /** Every replica's ledger file, together. */
  readonly fileLedger: readonly Execution[];
  /** The ledger table (run.transaction); null on Redis, which has none. */
  readonly tableLedger: readonly Execution[] | null;
  readonly faults: readonly FaultRecord[];
  /** Replica processes that died on their own (the harness restarted them). */
  readonly crashes: readonly CrashRecord[];
}

/** Recovery after one fault class: ms from the fault's end to the next ledger execution. */
export interface Recovery {
  readonly count: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** Faults after which no execution came at all. */
  readonly never: number;
}

/** The verdict on one chaos run of one store. */
export interface ChaosReport {
  readonly due: number;
  readonly faults: Readonly<Partial<Record<FaultKind, number>>>;
  /** Due occurrences by how many ledger-file executions they had: `{ 0: n, 1: n, 2: n }`. */
  readonly executionsPerOccurrence: Readonly<Record<number, number>>;
  /** Pairs of executions of one occurrence whose [startedAt, finishedAt] intervals overlap. */
  readonly overlapping: number;
  /** Occurrences with more than one ledger-table row; null on Redis (no run.transaction). */
  readonly duplicateEffects: number | null;
  /** Executions that started more than {@link EARLY_TOLERANCE_MS} before their instant. */
  readonly earlyStarts: number;
  /** Due occurrences with no run row (any state) and no ledger execution. */
  readonly unexplainedMisses: number;
  /** Run rows in state `missed`. */
  readonly recordedMisses: number;
  /** Run rows by state. */
  readonly runStates: Readonly<Record<string, number>>;
  /** Disagreements between the store's history and the ledgers (see {@link historyMismatches}). */
  readonly historyMismatches: readonly string[];
  readonly recovery: Readonly<Partial<Record<FaultKind, Recovery>>>;
  /** Replica crashes by reason (first error line). */
  readonly crashes: Readonly<Record<string, number>>;
  /** Samples of what broke an invariant, for the record. */
  readonly evidence: readonly string[];
}

function group<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

const byOccurrence = (e: { job?: string; jobId?: string; scheduledAt: number }) =>
  occurrenceKey(e.job ?? e.jobId ?? "", e.scheduledAt);

function overlaps(executions: readonly Execution[]): [Execution, Execution][] {
  const pairs: [Execution, Execution][] = [];
  const sorted = [...executions].sort((a, b) => a.startedAt - b.startedAt);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      if (sorted[j]!.startedAt <= sorted[i]!.finishedAt) pairs.push([sorted[i]!, sorted[j]!]);
    }
  }
  return pairs;
}

/**
 * Where the store's history and the ledgers disagree:
 * - every ledger-file execution belongs to a run row of its occurrence whose attempt is at least
 *   the execution's (a later attempt may have replaced it);
 * - every `succeeded` row has a ledger-file execution of its attempt and token;
 * - with a ledger table: every `succeeded` row has exactly one table row, of its attempt and
 *   token, and no other row has any.
 */
export function historyMismatches(
  runs: readonly RunRecord[],
  fileLedger: readonly Execution[],
  tableLedger: readonly Execution[] | null,
): string[] {
  const out: string[] = [];
  const rows = new Map(runs.map((r) => [byOccurrence(r), r]));
  const file = group(fileLedger, byOccurrence);
  const table = tableLedger ? group(tableLedger, byOccurrence) : null;
  for (const e of fileLedger) {
    const row = rows.get(byOccurrence(e));
    if (!row || row.attempt < e.attempt)
      out.push(
        `file execution ${byOccurrence(e)} attempt ${e.attempt} (${e.replica}) has no run row of that attempt`,
      );
  }
  for (const row of runs) {
    const key = byOccurrence(row);
    const mine = (e: Execution) => e.attempt === row.attempt && e.token === row.token;
    if (row.state === "succeeded" && !(file.get(key) ?? []).some(mine))
      out.push(`succeeded run ${key} attempt ${row.attempt} has no file execution`);
    if (!table) continue;
    const effects = table.get(key) ?? [];
    if (row.state === "succeeded" && !(effects.length === 1 && mine(effects[0]!)))
      out.push(
        `succeeded run ${key} attempt ${row.attempt} has ${effects.length} ledger-table rows`,
      );
    if (row.state !== "succeeded" && effects.length > 0)
      out.push(`${row.state} run ${key} has ${effects.length} ledger-table rows`);
  }
  for (const [key, effects] of table ?? []) {
    if (!rows.has(key))
      out.push(`ledger-table rows for ${key} without a run row (${effects.length})`);
  }
  return out;
}

/** Recovery per fault class: from each fault's end to the next execution of its victim. */
function recoveries(
  faults: readonly FaultRecord[],
  fileLedger: readonly Execution[],
): Partial<Record<FaultKind, Recovery>> {
  const finished = [...fileLedger].sort((a, b) => a.finishedAt - b.finishedAt);
  const out: Partial<Record<FaultKind, Recovery>> = {};
  for (const [kind, records] of group(faults, (f) => f.kind)) {
    const times: number[] = [];
    for (const fault of records) {
      const next = finished.find(
        (e) =>
          e.finishedAt >= fault.endedAt && (fault.replica === null || e.replica === fault.replica),
      );
      if (next) times.push(next.finishedAt - fault.endedAt);
    }
    out[kind as FaultKind] = {
      count: records.length,
      medianMs: percentile(times, 0.5),
      maxMs: times.length ? Math.max(...times) : 0,
      never: records.length - times.length,
    };
  }
  return out;
}

/** The job's run rows within 1 s of a missing occurrence, as evidence. */
function neighbours(runs: readonly RunRecord[], at: { job: string; scheduledAt: number }): string {
  const near = runs
    .filter((r) => r.jobId === at.job && Math.abs(r.scheduledAt - at.scheduledAt) <= 1_000)
    .sort((a, b) => a.scheduledAt - b.scheduledAt)
    .map(
      (r) => `${r.scheduledAt - at.scheduledAt}ms:${r.state}/a${r.attempt}/${r.replicaId ?? "-"}`,
    );
  return `rows near it: ${near.join(" ") || "none"}`;
}

/** Checks one chaos run's evidence against the invariants. */
export function analyse(evidence: ChaosEvidence): ChaosReport {
  const { due, runs, fileLedger, tableLedger, faults } = evidence;
  const crashes: Record<string, number> = {};
  for (const crash of evidence.crashes) crashes[crash.reason] = (crashes[crash.reason] ?? 0) + 1;
  const file = group(fileLedger, byOccurrence);
  const rows = new Set(runs.map(byOccurrence));
  const samples: string[] = [];
  const executionsPerOccurrence: Record<number, number> = {};
  let overlapping = 0;
  let unexplainedMisses = 0;
  for (const key of due.keys()) {
    const executions = file.get(key) ?? [];
    executionsPerOccurrence[executions.length] =
      (executionsPerOccurrence[executions.length] ?? 0) + 1;
    for (const [a, b] of overlaps(executions)) {
      overlapping++;
      samples.push(`overlap ${key}: ${JSON.stringify(a)} / ${JSON.stringify(b)}`);
    }
    if (executions.length === 0 && !rows.has(key)) {
      unexplainedMisses++;
      samples.push(`unexplained miss ${key}; ${neighbours(runs, due.get(key)!)}`);
    }
  }
  const early = fileLedger.filter((e) => e.startedAt < e.scheduledAt - EARLY_TOLERANCE_MS);
  for (const e of early.slice(0, 5)) samples.push(`early start ${JSON.stringify(e)}`);
  let duplicateEffects: number | null = null;
  if (tableLedger) {
    const dupes = [...group(tableLedger, byOccurrence)].filter(([, rows]) => rows.length > 1);
    duplicateEffects = dupes.length;
    for (const [key, rows] of dupes.slice(0, 5))
      samples.push(`duplicate effect ${key}: ${JSON.stringify(rows)}`);
  }
  const runStates: Record<string, number> = {};
  for (const run of runs) runStates[run.state] = (runStates[run.state] ?? 0) + 1;
  const faultCounts: Partial<Record<FaultKind, number>> = {};
  for (const fault of faults) faultCounts[fault.kind] = (faultCounts[fault.kind] ?? 0) + 1;
  const mismatches = historyMismatches(runs, fileLedger, tableLedger);
  return {
    due: due.size,
    faults: faultCounts,
    executionsPerOccurrence,
    overlapping,
    duplicateEffects,
    earlyStarts: early.length,
    unexplainedMisses,
    recordedMisses: runStates.missed ?? 0,
    runStates,
    historyMismatches: mismatches,
    recovery: recoveries(faults, fileLedger),
    crashes,
    evidence: [...samples.slice(0, 10), ...mismatches.slice(0, 10)],
  };
}

/** Whether the run kept every invariant the chaos run checks. */
export function passed(report: ChaosReport): boolean {
  return (
    report.overlapping === 0 &&
    (report.duplicateEffects ?? 0) === 0 &&
    report.earlyStarts === 0 &&
    report.unexplainedMisses === 0 &&
    report.historyMismatches.length === 0
  );
}

const histogram = (h: Readonly<Record<number, number>>) =>
  Object.entries(h)
    .map(([n, count]) => `${n}×: ${count}`)
    .join(", ");

/** One store's report as rows of a markdown table: `| what | value |`. */
export function reportRows(report: ChaosReport, skipped: string | null): string[][] {
  const faults = FAULT_KINDS.map((k) => `${k}: ${report.faults[k] ?? 0}`).join(", ");
  const recovery = FAULT_KINDS.filter((k) => report.recovery[k])
    .map((k) => {
      const r = report.recovery[k]!;
      return `${k}: median ${r.medianMs} ms, max ${r.maxMs} ms${r.never ? `, ${r.never} never` : ""}`;
    })
    .join("; ");
  return [
    ["occurrences due", String(report.due)],
    ["faults", faults + (skipped ? ` (${skipped})` : "")],
    ["executions per occurrence (ledger file)", histogram(report.executionsPerOccurrence)],
    ["overlapping executions", String(report.overlapping)],
    [
      "duplicate effects (run.transaction ledger table)",
      report.duplicateEffects === null
        ? "n/a (no run.transaction)"
        : String(report.duplicateEffects),
    ],
    ["early starts", String(report.earlyStarts)],
    ["unexplained misses", String(report.unexplainedMisses)],
    ["recorded misses", String(report.recordedMisses)],
    [
      "run rows by state",
      Object.entries(report.runStates)
        .map(([s, n]) => `${s}: ${n}`)
        .join(", "),
    ],
    ["recovery time (fault end → next execution)", recovery || "none"],
    [
      "replica crashes (restarted by the harness)",
      Object.entries(report.crashes)
        .map(([reason, n]) => `${n}× ${reason.slice(0, 140).replace(/\|/g, "/")}`)
        .join("; ") || "0",
    ],
    [
      "history agrees with ledger",
      report.historyMismatches.length === 0
        ? "yes"
        : `no (${report.historyMismatches.length} mismatches)`,
    ],
  ];
}

/** A markdown table with one column per store. */
export function markdownTable(columns: readonly { name: string; rows: string[][] }[]): string {
  const header = `| | ${columns.map((c) => c.name).join(" | ")} |`;
  const rule = `|---|${columns.map(() => "---").join("|")}|`;
  const body = (columns[0]?.rows ?? []).map(
    ([label], i) => `| ${label} | ${columns.map((c) => c.rows[i]![1]).join(" | ")} |`,
  );
  return [header, rule, ...body].join("\n");
}
