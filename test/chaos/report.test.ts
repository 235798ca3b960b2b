import { describe, expect, it } from "vitest";
import { FAULT_KINDS, planFaults } from "../../chaos/faults.js";
import { occurrenceKey, type Execution } from "../../chaos/ledger.js";
import { analyse, passed, type ChaosEvidence } from "../../chaos/report.js";
import type { RunRecord } from "../../src/stores/store.js";

const AT = 1_000_000;

function run(overrides: Partial<RunRecord>): RunRecord {
  return {
    runId: `run-${overrides.scheduledAt ?? AT}`,
    jobId: "job",
    scheduledAt: AT,
    trigger: "schedule",
    state: "succeeded",
    attempt: 1,
    token: 1,
    replicaId: "r1",
    claimedAt: AT,
    startedAt: AT,
    finishedAt: AT + 30,
    leaseExpiresAt: null,
    error: null,
    ...overrides,
  };
}

function execution(overrides: Partial<Execution>): Execution {
  return {
    job: "job",
    scheduledAt: AT,
    attempt: 1,
    token: 1,
    replica: "r1",
    startedAt: AT + 1,
    finishedAt: AT + 25,
    ...overrides,
  };
}

function evidence(overrides: Partial<ChaosEvidence>): ChaosEvidence {
  return {
    due: new Map([[occurrenceKey("job", AT), { job: "job", scheduledAt: AT }]]),
    runs: [run({})],
    fileLedger: [execution({})],
    tableLedger: [execution({})],
    faults: [],
    crashes: [],
    ...overrides,
  };
}

describe("chaos report: analyse", () => {
  it("passes one execution, one effect, one succeeded row", () => {
    const report = analyse(evidence({}));
    expect(report).toMatchObject({
      due: 1,
      executionsPerOccurrence: { 1: 1 },
      overlapping: 0,
      duplicateEffects: 0,
      earlyStarts: 0,
      unexplainedMisses: 0,
      historyMismatches: [],
    });
    expect(passed(report)).toBe(true);
  });

  it("counts a retry that ran while the first attempt was still running as an overlap", () => {
    const first = execution({ startedAt: AT + 1, finishedAt: AT + 9_000 });
    const retry = execution({
      attempt: 2,
      token: 2,
      replica: "r2",
      startedAt: AT + 6_000,
      finishedAt: AT + 6_030,
    });
    const report = analyse(
      evidence({
        runs: [run({ attempt: 2, token: 2 })],
        fileLedger: [first, retry],
        tableLedger: [retry],
      }),
    );
    expect(report.overlapping).toBe(1);
    expect(report.executionsPerOccurrence).toEqual({ 2: 1 });
    expect(passed(report)).toBe(false);
  });

  it("accepts a retry after a crash (two executions, apart) with one effect", () => {
    const crashed = execution({ finishedAt: AT + 25 });
    const retry = execution({
      attempt: 2,
      token: 2,
      startedAt: AT + 6_000,
      finishedAt: AT + 6_030,
    });
    const report = analyse(
      evidence({
        runs: [run({ attempt: 2, token: 2 })],
        fileLedger: [crashed, retry],
        tableLedger: [retry],
      }),
    );
    expect(report).toMatchObject({ overlapping: 0, duplicateEffects: 0, historyMismatches: [] });
    expect(passed(report)).toBe(true);
  });

  it("flags two ledger-table rows for one occurrence as a duplicate effect", () => {
    const report = analyse(evidence({ tableLedger: [execution({}), execution({ attempt: 2 })] }));
    expect(report.duplicateEffects).toBe(1);
    expect(report.historyMismatches).toHaveLength(1);
  });

  it("flags an execution that started before its instant", () => {
    const report = analyse(evidence({ fileLedger: [execution({ startedAt: AT - 50 })] }));
    expect(report.earlyStarts).toBe(1);
  });

  it("tells a recorded miss from an unexplained one", () => {
    const missed = analyse(
      evidence({
        runs: [run({ state: "missed", replicaId: null })],
        fileLedger: [],
        tableLedger: [],
      }),
    );
    expect(missed).toMatchObject({ recordedMisses: 1, unexplainedMisses: 0 });
    const vanished = analyse(evidence({ runs: [], fileLedger: [], tableLedger: [] }));
    expect(vanished.unexplainedMisses).toBe(1);
    expect(passed(vanished)).toBe(false);
  });

  it("flags a succeeded row without an effect, and an effect of a run that did not succeed", () => {
    expect(analyse(evidence({ tableLedger: [] })).historyMismatches).toHaveLength(1);
    const failed = analyse(evidence({ runs: [run({ state: "failed" })] }));
    expect(failed.historyMismatches).toHaveLength(1);
  });

  it("measures recovery from a fault's end to the victim's next execution", () => {
    const fault = {
      kind: "replica SIGSTOP" as const,
      replica: "r1",
      startedAt: AT - 8_000,
      endedAt: AT - 100,
      detail: "",
    };
    const report = analyse(evidence({ faults: [fault] }));
    expect(report.recovery["replica SIGSTOP"]).toEqual({
      count: 1,
      medianMs: 125,
      maxMs: 125,
      never: 0,
    });
  });
});

describe("chaos faults: planFaults", () => {
  const options = {
    seed: 7,
    windowMs: 120_000,
    leaseMs: 5_000,
    replicas: 3,
    kinds: FAULT_KINDS,
    once: false,
  };

  it("is the same plan for the same seed, and hits every class", () => {
    const plan = planFaults(options);
    expect(planFaults(options)).toEqual(plan);
    expect(new Set(plan.map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
    expect(planFaults({ ...options, seed: 8 })).not.toEqual(plan);
  });

  it("keeps pauses and partitions past the lease, one fault at a time, inside the window", () => {
    const plan = planFaults(options);
    for (const fault of plan.filter((f) => f.kind === "replica SIGSTOP" || f.kind === "partition"))
      expect(fault.durationMs).toBeGreaterThan(options.leaseMs);
    for (let i = 1; i < plan.length; i++)
      expect(plan[i]!.atMs).toBeGreaterThan(plan[i - 1]!.atMs + plan[i - 1]!.durationMs);
    expect(plan.at(-1)!.atMs + plan.at(-1)!.durationMs).toBeLessThanOrEqual(options.windowMs);
  });

  it("plans one fault of each class for a short run", () => {
    const plan = planFaults({ ...options, once: true });
    expect(plan.map((f) => f.kind).sort()).toEqual([...FAULT_KINDS].sort());
  });
});
