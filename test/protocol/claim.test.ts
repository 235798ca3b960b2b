import { describe, expect, it } from "vitest";
import { BelfryError } from "../../src/errors.js";
import {
  decideClaim,
  decideOrRefuse,
  missedToRecord,
  requestError,
  type ClaimDecision,
  type ClaimSnapshot,
} from "../../src/protocol/claim.js";
import type { ClaimRequest, JobRecord } from "../../src/stores/store.js";

const NOW = 10_000;

/** A registered, unpaused job with watermark 1000 and no run limit. */
function job(patch: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: "j",
    hash: "h1",
    definition: "{}",
    anchor: 0,
    overlap: "allow",
    onAbandoned: "retry",
    maxAttempts: 3,
    maxRuns: null,
    watermark: 1_000,
    paused: false,
    runCount: 0,
    version: 1,
    createdAt: 0,
    updatedAt: 0,
    ...patch,
  };
}

/** A claim of the occurrence at 5000, due since 5 s by the store's clock. */
function request(patch: Partial<ClaimRequest> = {}): ClaimRequest {
  return { jobId: "j", scheduledAt: 5_000, hash: "h1", replicaId: "r1", leaseMs: 30_000, ...patch };
}

function snapshot(patch: Partial<ClaimSnapshot> = {}): ClaimSnapshot {
  return { job: job(), now: NOW, hasActiveRun: false, hasQueuedRun: false, ...patch };
}

const pausedSkip = (missed: number[] = []): ClaimDecision => ({
  kind: "write",
  write: { state: "skipped", missed, countsAsRun: false, reason: "paused" },
});

const claimed = (missed: number[] = []): ClaimDecision => ({
  kind: "write",
  write: { state: "claimed", missed, countsAsRun: true },
});

interface Case {
  readonly name: string;
  readonly request?: Partial<ClaimRequest>;
  readonly snapshot?: Partial<ClaimSnapshot>;
  readonly expected: ClaimDecision;
}

const refusals: Case[] = [
  { name: "unknown job", snapshot: { job: null }, expected: refuse({ status: "unknownJob" }) },
  {
    name: "another definition hash",
    request: { hash: "h2" },
    expected: refuse({ status: "definitionChanged", hash: "h1" }),
  },
  {
    name: "another hash comes before paused",
    request: { hash: "h2" },
    snapshot: { job: job({ paused: true }) },
    expected: refuse({ status: "definitionChanged", hash: "h1" }),
  },
  {
    name: "not due comes before paused (a job resumed by then runs it)",
    request: { scheduledAt: NOW + 500 },
    snapshot: { job: job({ paused: true }) },
    expected: refuse({ status: "notDue", retryAfterMs: 500 }),
  },
  {
    name: "not due: retry after the gap to store now",
    request: { scheduledAt: NOW + 250 },
    expected: refuse({ status: "notDue", retryAfterMs: 250 }),
  },
  {
    name: "not due within a smaller tolerance: retry after the rest",
    request: { scheduledAt: NOW + 250, toleranceMs: 100 },
    expected: refuse({ status: "notDue", retryAfterMs: 150 }),
  },
  {
    name: "not due comes before the watermark",
    request: { scheduledAt: NOW + 250 },
    snapshot: { job: job({ watermark: NOW + 1_000 }) },
    expected: refuse({ status: "notDue", retryAfterMs: 250 }),
  },
  {
    name: "at the watermark: lost (another replica claimed it)",
    request: { scheduledAt: 1_000 },
    expected: refuse({ status: "lost", watermark: 1_000 }),
  },
  {
    name: "below the watermark: stale",
    request: { scheduledAt: 999 },
    expected: refuse({ status: "stale", watermark: 1_000 }),
  },
  {
    name: "maxRuns reached: exhausted",
    snapshot: { job: job({ maxRuns: 3, runCount: 3 }) },
    expected: refuse({ status: "exhausted" }),
  },
  {
    name: "the watermark comes before maxRuns",
    request: { scheduledAt: 1_000 },
    snapshot: { job: job({ maxRuns: 3, runCount: 3 }) },
    expected: refuse({ status: "lost", watermark: 1_000 }),
  },
  {
    name: "maxRuns comes before overlap",
    snapshot: { job: job({ maxRuns: 1, runCount: 1, overlap: "skip" }), hasActiveRun: true },
    expected: refuse({ status: "exhausted" }),
  },
  {
    name: "the watermark comes before late (lost)",
    request: { scheduledAt: 1_000, lateAfter: NOW - 1 },
    expected: refuse({ status: "lost", watermark: 1_000 }),
  },
  {
    name: "the watermark comes before late (stale)",
    request: { scheduledAt: 999, lateAfter: NOW - 1 },
    expected: refuse({ status: "stale", watermark: 1_000 }),
  },
  {
    name: "maxRuns comes before late",
    request: { lateAfter: NOW - 1 },
    snapshot: { job: job({ maxRuns: 3, runCount: 3 }) },
    expected: refuse({ status: "exhausted" }),
  },
  {
    name: "the watermark comes before paused (lost: a peer recorded it)",
    request: { scheduledAt: 1_000 },
    snapshot: { job: job({ paused: true }) },
    expected: refuse({ status: "lost", watermark: 1_000 }),
  },
  {
    name: "the watermark comes before paused (stale)",
    request: { scheduledAt: 999 },
    snapshot: { job: job({ paused: true }) },
    expected: refuse({ status: "stale", watermark: 1_000 }),
  },
  {
    name: "maxRuns comes before paused",
    snapshot: { job: job({ paused: true, maxRuns: 3, runCount: 3 }) },
    expected: refuse({ status: "exhausted" }),
  },
];

const writes: Case[] = [
  { name: "due, above the watermark", expected: claimed() },
  { name: "due exactly at store now", request: { scheduledAt: NOW }, expected: claimed() },
  {
    name: "ahead of store now within the tolerance",
    request: { scheduledAt: NOW + 250, toleranceMs: 250 },
    expected: claimed(),
  },
  { name: "no watermark yet", snapshot: { job: job({ watermark: null }) }, expected: claimed() },
  {
    name: "one run left before maxRuns",
    snapshot: { job: job({ maxRuns: 3, runCount: 2 }) },
    expected: claimed(),
  },
  {
    name: "overlap allow with an active run",
    snapshot: { hasActiveRun: true, hasQueuedRun: true },
    expected: claimed(),
  },
  {
    name: "overlap skip without an active run",
    snapshot: { job: job({ overlap: "skip" }) },
    expected: claimed(),
  },
  {
    name: "overlap skip with an active run: recorded skipped, not counted",
    snapshot: { job: job({ overlap: "skip" }), hasActiveRun: true },
    expected: { kind: "write", write: { state: "skipped", missed: [], countsAsRun: false } },
  },
  {
    name: "overlap queueOne without an active run",
    snapshot: { job: job({ overlap: "queueOne" }), hasQueuedRun: true },
    expected: claimed(),
  },
  {
    name: "overlap queueOne with an active run and a free slot: queued, counted",
    snapshot: { job: job({ overlap: "queueOne" }), hasActiveRun: true },
    expected: { kind: "write", write: { state: "queued", missed: [], countsAsRun: true } },
  },
  {
    name: "overlap queueOne with an active and a queued run: skipped, not counted",
    snapshot: { job: job({ overlap: "queueOne" }), hasActiveRun: true, hasQueuedRun: true },
    expected: { kind: "write", write: { state: "skipped", missed: [], countsAsRun: false } },
  },
  {
    name: "missed instants between the watermark and the occurrence are recorded",
    request: { missed: [4_000, 500, 1_000, 2_000, 2_000, 5_000, 6_000] },
    expected: claimed([2_000, 4_000]),
  },
  {
    name: "missed instants are recorded with a skipped occurrence too",
    request: { missed: [2_000] },
    snapshot: { job: job({ overlap: "skip" }), hasActiveRun: true },
    expected: { kind: "write", write: { state: "skipped", missed: [2_000], countsAsRun: false } },
  },
  {
    name: "missed instants are recorded with a queued occurrence too",
    request: { missed: [2_000] },
    snapshot: { job: job({ overlap: "queueOne" }), hasActiveRun: true },
    expected: { kind: "write", write: { state: "queued", missed: [2_000], countsAsRun: true } },
  },
  {
    name: "store now past lateAfter: recorded missed, not counted",
    request: { lateAfter: NOW - 1 },
    expected: { kind: "write", write: { state: "missed", missed: [], countsAsRun: false } },
  },
  {
    name: "store now exactly at lateAfter: on time",
    request: { lateAfter: NOW },
    expected: claimed(),
  },
  {
    name: "a late claim records its missed list too",
    request: { lateAfter: 5_000, missed: [500, 2_000] },
    expected: { kind: "write", write: { state: "missed", missed: [2_000], countsAsRun: false } },
  },
  {
    name: "paused: recorded skipped with reason paused, not counted",
    snapshot: { job: job({ paused: true }) },
    expected: pausedSkip(),
  },
  {
    name: "paused records its missed list too",
    request: { missed: [500, 2_000, 4_000] },
    snapshot: { job: job({ paused: true }) },
    expected: pausedSkip([2_000, 4_000]),
  },
  {
    name: "paused with no watermark yet",
    snapshot: { job: job({ paused: true, watermark: null }) },
    expected: pausedSkip(),
  },
  {
    name: "paused comes before late",
    request: { lateAfter: NOW - 1 },
    snapshot: { job: job({ paused: true }) },
    expected: pausedSkip(),
  },
  {
    name: "paused comes before overlap",
    snapshot: { job: job({ paused: true, overlap: "queueOne" }), hasActiveRun: true },
    expected: pausedSkip(),
  },
  {
    name: "late comes before overlap",
    request: { lateAfter: NOW - 1 },
    snapshot: { job: job({ overlap: "queueOne" }), hasActiveRun: true },
    expected: { kind: "write", write: { state: "missed", missed: [], countsAsRun: false } },
  },
];

function refuse(result: Extract<ClaimDecision, { kind: "refuse" }>["result"]): ClaimDecision {
  return { kind: "refuse", result };
}

describe("decideClaim", () => {
  it.each(refusals)("refuses: $name", (c) => {
    expect(decideClaim(request(c.request), snapshot(c.snapshot))).toEqual(c.expected);
  });

  it.each(writes)("writes: $name", (c) => {
    expect(decideClaim(request(c.request), snapshot(c.snapshot))).toEqual(c.expected);
  });
});

describe("missedToRecord", () => {
  it.each([
    { name: "no missed list", missed: undefined, watermark: 1_000, expected: [] },
    { name: "empty list", missed: [], watermark: 1_000, expected: [] },
    {
      name: "strictly between the watermark and scheduledAt, deduplicated, oldest first",
      missed: [4_000, 1_000, 2_000, 999, 4_000, 5_000, 7_000],
      watermark: 1_000,
      expected: [2_000, 4_000],
    },
    {
      name: "everything below scheduledAt when there is no watermark",
      missed: [3_000, -5, 0],
      watermark: null,
      expected: [-5, 0, 3_000],
    },
  ])("$name", ({ missed, watermark, expected }) => {
    expect(missedToRecord(request({ missed }), watermark)).toEqual(expected);
  });
});

describe("requestError", () => {
  const corrupt = new BelfryError("CORRUPT_ROW", "t_jobs row j: column overlap is bogus");
  it.each([
    {
      name: "a job-specific BelfryError becomes the request's error result",
      error: corrupt,
      expected: { status: "error", code: "CORRUPT_ROW", message: corrupt.message },
    },
    {
      name: "STORE_ERROR rejects the call",
      error: new BelfryError("STORE_ERROR", "x"),
      expected: null,
    },
    {
      name: "STORE_CONNECT rejects the call",
      error: new BelfryError("STORE_CONNECT", "x"),
      expected: null,
    },
    {
      name: "NOT_STARTED rejects the call",
      error: new BelfryError("NOT_STARTED", "x"),
      expected: null,
    },
    { name: "a plain Error rejects the call", error: new Error("socket hang up"), expected: null },
    { name: "a thrown string rejects the call", error: "boom", expected: null },
  ])("$name", ({ error, expected }) => {
    expect(requestError(error)).toEqual(expected);
  });
});

describe("decideOrRefuse", () => {
  it("decides on what the read returned", () => {
    expect(decideOrRefuse(request(), () => snapshot({ job: null }))).toEqual(
      refuse({ status: "unknownJob" }),
    );
    expect(decideOrRefuse(request(), () => snapshot())).toEqual(claimed());
  });

  it("refuses the request with its error when the read fails for its job", () => {
    const error = new BelfryError("CORRUPT_ROW", "t_runs row r: column state is bogus");
    const read = (): ClaimSnapshot => {
      throw error;
    };
    expect(decideOrRefuse(request(), read)).toEqual(
      refuse({ status: "error", code: "CORRUPT_ROW", message: error.message }),
    );
  });

  it.each([new BelfryError("STORE_ERROR", "lock wait timeout"), new Error("socket hang up")])(
    "throws an infrastructure failure: %s",
    (error) => {
      expect(() =>
        decideOrRefuse(request(), () => {
          throw error;
        }),
      ).toThrow(error);
    },
  );
});
