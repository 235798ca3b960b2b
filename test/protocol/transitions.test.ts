import { describe, expect, it } from "vitest";
import type { ClaimWrite } from "../../src/protocol/claim.js";
import {
  claimRows,
  isActive,
  isOwned,
  newMissedInstants,
  recoveredRow,
  SUPERSEDED,
} from "../../src/protocol/transitions.js";
import type { ClaimRequest, RunRecord } from "../../src/stores/store.js";

const NOW = 10_000;
const request: ClaimRequest = {
  jobId: "j",
  scheduledAt: 5_000,
  hash: "h1",
  replicaId: "r1",
  leaseMs: 30_000,
};

/** Ids run-1, run-2, … in the order the rows are built. */
function ids(): () => string {
  let n = 0;
  return () => `run-${++n}`;
}

/** A run `claimed` by replica a, attempt 1, token 1, lease until 20 000. */
function run(patch: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: "run-1",
    jobId: "j",
    scheduledAt: 5_000,
    trigger: "schedule",
    state: "claimed",
    attempt: 1,
    token: 1,
    replicaId: "a",
    claimedAt: 5_000,
    startedAt: null,
    finishedAt: null,
    leaseExpiresAt: 20_000,
    error: null,
    ...patch,
  };
}

const unowned = { token: 0, claimedAt: null, leaseExpiresAt: null, attempt: 1, error: null };

describe("claimRows", () => {
  it.each<{ state: ClaimWrite["state"]; row: Partial<RunRecord>; result: object }>([
    {
      state: "claimed",
      row: { state: "claimed", token: 1, claimedAt: NOW, leaseExpiresAt: NOW + 30_000 },
      result: {
        status: "won",
        run: {
          runId: "run-2",
          jobId: "j",
          scheduledAt: 5_000,
          trigger: "schedule",
          attempt: 1,
          token: 1,
          leaseExpiresAt: NOW + 30_000,
        },
        recordedMissed: [2_000],
      },
    },
    {
      state: "skipped",
      row: { state: "skipped", ...unowned, finishedAt: NOW },
      result: { status: "skipped", runId: "run-2", recordedMissed: [2_000] },
    },
    {
      state: "queued",
      row: { state: "queued", ...unowned, finishedAt: null },
      result: { status: "queued", runId: "run-2", recordedMissed: [2_000] },
    },
    {
      state: "missed",
      row: { state: "missed", ...unowned, replicaId: null, finishedAt: NOW },
      result: { status: "missed", runId: "run-2", recordedMissed: [2_000, 5_000] },
    },
  ])("$state: a missed row first, then the occurrence's row", ({ state, row, result }) => {
    const write: ClaimWrite = {
      state,
      missed: [2_000],
      countsAsRun: state === "claimed" || state === "queued",
    };
    const built = claimRows(request, write, NOW, ids());
    expect(built.rows).toEqual([
      {
        ...run({ runId: "run-1", scheduledAt: 2_000, state: "missed", replicaId: null }),
        ...unowned,
        finishedAt: NOW,
      },
      { ...run({ runId: "run-2", replicaId: "r1", finishedAt: null }), ...row },
    ]);
    expect(built.result).toEqual(result);
  });

  it("paused: a skipped row with error paused (token 0, the claimer's replica) answered paused", () => {
    const write: ClaimWrite = {
      state: "skipped",
      missed: [2_000],
      countsAsRun: false,
      reason: "paused",
    };
    const built = claimRows(request, write, NOW, ids());
    expect(built.rows.map((row) => row.state)).toEqual(["missed", "skipped"]);
    expect(built.rows[1]).toEqual({
      ...run({ runId: "run-2", replicaId: "r1" }),
      ...unowned,
      state: "skipped",
      finishedAt: NOW,
      error: "paused",
    });
    expect(built.result).toEqual({ status: "paused", runId: "run-2", recordedMissed: [2_000] });
  });
});

describe("newMissedInstants", () => {
  it.each([
    { watermark: 1_000, instants: [3_000, 1_000, 2_000, 3_000, 500], expected: [2_000, 3_000] },
    { watermark: null, instants: [3_000, -1, 3_000], expected: [-1, 3_000] },
    { watermark: 9_000, instants: [3_000], expected: [] },
    { watermark: 1_000, instants: [2_000, 5_000, 6_000], expected: [2_000, 5_000] },
  ])(
    "above $watermark from $instants, now 5000: $expected",
    ({ watermark, instants, expected }) => {
      expect(newMissedInstants(watermark, instants, 5_000)).toEqual(expected);
    },
  );
});

describe("isActive and isOwned", () => {
  it.each([
    { name: "claimed, lease ahead", row: run(), token: 1, active: true, owned: true },
    {
      name: "running, lease ahead",
      row: run({ state: "running" }),
      token: 1,
      active: true,
      owned: true,
    },
    { name: "an older token", row: run({ token: 2 }), token: 1, active: true, owned: false },
    {
      name: "lease expiring now",
      row: run({ leaseExpiresAt: NOW }),
      token: 1,
      active: false,
      owned: false,
    },
    { name: "no lease", row: run({ leaseExpiresAt: null }), token: 1, active: false, owned: false },
    { name: "queued", row: run({ state: "queued" }), token: 1, active: false, owned: false },
    { name: "succeeded", row: run({ state: "succeeded" }), token: 1, active: false, owned: false },
  ])("$name: active $active, owned $owned", ({ row, token, active, owned }) => {
    expect(isActive(row, NOW)).toBe(active);
    expect(isOwned(row, token, NOW)).toBe(owned);
  });

  it("no row is never owned", () => {
    expect(isOwned(null, 1, NOW)).toBe(false);
    expect(isOwned(undefined, 1, NOW)).toBe(false);
  });
});

describe("recoveredRow", () => {
  const expired = run({ state: "running", attempt: 2, token: 3, startedAt: 6_000 });
  const reason = "lease expired on replica a (attempt 2)";
  /** Recorded `abandoned` at NOW, lease gone, with a new token. */
  const abandoned = {
    ...expired,
    state: "abandoned",
    token: 4,
    finishedAt: NOW,
    leaseExpiresAt: null,
  };
  const reported = { action: "abandoned", runId: "run-1", jobId: "j", scheduledAt: 5_000 };

  it.each([
    {
      action: "retried" as const,
      row: {
        ...expired,
        state: "claimed",
        token: 4,
        attempt: 3,
        replicaId: "b",
        claimedAt: NOW,
        startedAt: null,
        leaseExpiresAt: NOW + 30_000,
        error: reason,
      },
      recovered: {
        action: "retried",
        run: {
          runId: "run-1",
          jobId: "j",
          scheduledAt: 5_000,
          trigger: "schedule",
          attempt: 3,
          token: 4,
          leaseExpiresAt: NOW + 30_000,
        },
      },
    },
    { action: "abandoned" as const, row: { ...abandoned, error: reason }, recovered: reported },
    {
      action: "superseded" as const,
      row: { ...abandoned, error: `${reason}${SUPERSEDED}` },
      recovered: reported,
    },
  ])("$action: a new token fences the old owner", ({ action, row, recovered }) => {
    expect(recoveredRow(expired, action, "b", 30_000, NOW)).toEqual({ row, recovered });
  });
});
