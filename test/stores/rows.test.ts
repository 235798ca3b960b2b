import { describe, expect, it } from "vitest";
import { isBelfryError } from "../../src/errors.js";
import {
  parseJobRow,
  parseReplicaRow,
  parseRunRow,
  parseWarningRow,
} from "../../src/stores/shared/rows.js";

const jobRow = {
  job_id: "nightly",
  hash: "h",
  definition: "{}",
  anchor: 0,
  overlap: "skip",
  on_abandoned: "retry",
  max_attempts: 3,
  max_runs: null,
  watermark: null,
  paused: 0,
  run_count: 0,
  version: 1,
  created_at: 1,
  updated_at: 2,
};

function corruptMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isBelfryError(error, "CORRUPT_ROW")).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected CORRUPT_ROW");
}

describe("rows.parseJobRow", () => {
  it("accepts what each driver returns: bigint, decimal strings, Date, boolean, Buffer", () => {
    const job = parseJobRow(
      {
        ...jobRow,
        definition: Buffer.from('{"a":1}'),
        watermark: 1_700_000_000_123n,
        max_runs: "5",
        paused: true,
        created_at: new Date(1000),
        run_count: "0",
      },
      "test",
    );
    expect(job).toMatchObject({ watermark: 1_700_000_000_123, maxRuns: 5, paused: true });
    expect(job).toMatchObject({ definition: '{"a":1}', createdAt: 1000, runCount: 0 });
  });

  it("rejects an unknown enum value naming where, the row, the column and the value", () => {
    const message = corruptMessage(() =>
      parseJobRow({ ...jobRow, overlap: "bogus" }, "PgStore table t_jobs"),
    );
    expect(message).toBe(
      'PgStore table t_jobs, row job_id="nightly": column overlap has invalid value "bogus" (expected one of allow, skip, queueOne)',
    );
  });

  it("rejects non-integer, unsafe and missing numbers and odd booleans", () => {
    expect(corruptMessage(() => parseJobRow({ ...jobRow, watermark: "abc" }, "w"))).toContain(
      'column watermark has invalid value "abc"',
    );
    expect(corruptMessage(() => parseJobRow({ ...jobRow, anchor: 1.5 }, "w"))).toContain("anchor");
    expect(corruptMessage(() => parseJobRow({ ...jobRow, version: 2n ** 60n }, "w"))).toContain(
      "1152921504606846976n",
    );
    const noHash: Record<string, unknown> = { ...jobRow };
    delete noHash.hash;
    expect(corruptMessage(() => parseJobRow(noHash, "w"))).toContain("column hash");
    expect(corruptMessage(() => parseJobRow({ ...jobRow, paused: 2 }, "w"))).toContain("paused");
  });
});

describe("rows.parseRunRow / parseReplicaRow / parseWarningRow", () => {
  it("parses a run row and rejects an unknown state or trigger", () => {
    const raw = {
      run_id: "r1",
      job_id: "j",
      scheduled_at: "1000",
      trigger_kind: "manual",
      state: "running",
      attempt: 1,
      token: 2,
      replica_id: null,
      claimed_at: 5,
      started_at: null,
      finished_at: null,
      lease_expires_at: 9n,
      error: null,
    };
    expect(parseRunRow(raw, "w")).toMatchObject({ scheduledAt: 1000, leaseExpiresAt: 9 });
    expect(corruptMessage(() => parseRunRow({ ...raw, state: "x" }, "w"))).toContain('run_id="r1"');
    expect(corruptMessage(() => parseRunRow({ ...raw, trigger_kind: 1 }, "w"))).toContain(
      "trigger_kind",
    );
  });

  it("parses replica and warning rows", () => {
    const replica = { replica_id: "a", host: "h", pid: "7", started_at: 1, clock_offset_ms: -3 };
    expect(parseReplicaRow({ ...replica, last_seen_at: 2 }, "w")).toMatchObject({ pid: 7 });
    const warning = { id: 1, at: 5n, replica_id: "a", kind: "k", message: "m" };
    expect(parseWarningRow(warning, "w")).toEqual({
      at: 5,
      replicaId: "a",
      kind: "k",
      message: "m",
    });
  });
});
