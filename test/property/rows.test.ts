import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JobSeries } from "../../src/coordination/series.js";
import {
  cron,
  daily,
  every,
  everyRandom,
  monthly,
  once,
  scheduleFromSpec,
  weekly,
} from "../../src/index.js";
import { readStoredJob } from "../../src/observe/stored-job.js";
import { toJobConfig } from "../../src/options.js";
import { parseJobRow, parseRunRow, type RawRow } from "../../src/stores/shared/rows.js";
import type { JobRecord } from "../../src/stores/store.js";
import {
  anyValueArb,
  assertBehaves,
  belfryOrValue,
  contextArb,
  instantArb,
  mutate,
  RUNS,
} from "./helpers.js";

const T0 = Date.UTC(2026, 0, 1);

const JOB_ROW: RawRow = {
  job_id: "nightly",
  hash: "0123456789abcdef",
  definition: "{}",
  anchor: 0,
  overlap: "skip",
  on_abandoned: "retry",
  max_attempts: 3,
  max_runs: null,
  watermark: T0,
  paused: 0,
  run_count: 12,
  version: 2,
  created_at: T0 - 86_400_000,
  updated_at: T0,
};

const RUN_ROW: RawRow = {
  run_id: "r-1",
  job_id: "nightly",
  scheduled_at: T0,
  trigger_kind: "schedule",
  state: "running",
  attempt: 1,
  token: 7,
  replica_id: "a",
  claimed_at: T0,
  started_at: T0 + 3,
  finished_at: null,
  lease_expires_at: T0 + 30_000,
  error: null,
};

/** Driver-shaped values a column might hold after corruption or a driver change. */
const columnValueArb = fc.oneof(
  anyValueArb,
  fc.constantFrom("12", " 12 ", "1e3", "0x10", "-0", "9007199254740993", 12n, 2n ** 64n, 1.5),
  fc.constantFrom(new Uint8Array([104, 105]), new Date(T0), "bogus", "claimed", "true", 2),
);

/** A valid row with 1-3 columns replaced, dropped, and maybe a column from a newer version. */
function corruptedRowArb(row: RawRow): fc.Arbitrary<RawRow> {
  const columns = Object.keys(row);
  return fc
    .tuple(
      fc.uniqueArray(
        fc.tuple(fc.constantFrom(...columns), fc.option(columnValueArb, { freq: 5 })),
        { minLength: 1, maxLength: 3, selector: ([column]) => column },
      ),
      fc.option(fc.tuple(fc.string({ maxLength: 10 }), columnValueArb), { freq: 2 }),
    )
    .map(([changes, extra]) => {
      const out: Record<string, unknown> = { ...row };
      for (const [column, value] of changes) {
        if (value === null) delete out[column];
        else out[column] = value;
      }
      if (extra) Object.defineProperty(out, extra[0], { value: extra[1], enumerable: true });
      return out;
    });
}

function assertIntegers(record: object, keys: readonly string[]): void {
  for (const key of keys) {
    const value = (record as Record<string, unknown>)[key];
    if (value !== null) expect(Number.isSafeInteger(value), key).toBe(true);
  }
}

describe("rows read back from a store (property)", () => {
  it("parseJobRow on a corrupted row: a well-typed record, or CORRUPT_ROW", () => {
    fc.assert(
      fc.property(corruptedRowArb(JOB_ROW), (raw) => {
        const read = belfryOrValue(() => parseJobRow(raw, "test jobs"));
        if ("error" in read) return void expect(read.error.code).toBe("CORRUPT_ROW");
        const job = read.ok;
        expect(typeof job.jobId === "string" && typeof job.definition === "string").toBe(true);
        expect(["allow", "skip", "queueOne"]).toContain(job.overlap);
        expect(["retry", "abandon"]).toContain(job.onAbandoned);
        expect(typeof job.paused).toBe("boolean");
        assertIntegers(job, [
          "anchor",
          "maxAttempts",
          "maxRuns",
          "watermark",
          "runCount",
          "version",
        ]);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("parseRunRow on a corrupted row: a well-typed record, or CORRUPT_ROW", () => {
    fc.assert(
      fc.property(corruptedRowArb(RUN_ROW), (raw) => {
        const read = belfryOrValue(() => parseRunRow(raw, "test runs"));
        if ("error" in read) return void expect(read.error.code).toBe("CORRUPT_ROW");
        const run = read.ok;
        expect(["schedule", "manual", "backfill"]).toContain(run.trigger);
        expect(typeof run.runId === "string" && typeof run.jobId === "string").toBe(true);
        assertIntegers(run, ["scheduledAt", "attempt", "token", "claimedAt", "startedAt"]);
        assertIntegers(run, ["finishedAt", "leaseExpiresAt"]);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

const SCHEDULES = [
  every("5m"),
  everyRandom("1m", "2m"),
  cron("*/15 9-17 * * MON-FRI", { timezone: "Europe/Berlin" }),
  cron("30 2 * * *"),
  daily(2, ["02:30", "14:00"]),
  weekly(1, ["mon", "fri"], "09:00", { timezone: "America/New_York" }),
  monthly(1, [1, -1], "06:00"),
  once(["2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"]),
];
const specArb = fc.constantFrom(...SCHEDULES.map((s) => s.spec));

/** A spec with fields replaced or dropped, an unknown kind, or fields from a newer version. */
const corruptSpecArb: fc.Arbitrary<unknown> = fc.oneof(
  specArb.chain((spec) =>
    fc
      .tuple(
        fc.constantFrom(...Object.keys(spec)),
        fc.option(fc.oneof(columnValueArb, fc.constantFrom(...Object.values(spec)))),
      )
      .map(([key, value]) => {
        const out: Record<string, unknown> = { ...spec };
        if (value === null) delete out[key];
        else out[key] = value;
        return out;
      }),
  ),
  specArb.map((spec) => ({ ...spec, kind: `${spec.kind}V2` })),
  anyValueArb,
);

describe("stored schedule specs (property)", () => {
  it("scheduleFromSpec on a corrupted spec: a schedule that behaves, or a coded BelfryError", () => {
    fc.assert(
      fc.property(corruptSpecArb, contextArb, instantArb, (spec, context, after) => {
        const built = belfryOrValue(() => scheduleFromSpec(spec as never));
        if ("ok" in built) assertBehaves(built.ok, context, after);
      }),
      { numRuns: RUNS },
    );
  });

  it("fields a newer version added are ignored: same spec, same instants", () => {
    fc.assert(
      fc.property(
        specArb,
        fc.dictionary(
          fc.string({ maxLength: 8 }).filter((key) => !["kind", "timezone"].includes(key)),
          columnValueArb,
          { minKeys: 1, maxKeys: 3 },
        ),
        contextArb,
        instantArb,
        (spec, extra, context, after) => {
          const known = scheduleFromSpec(spec);
          const withExtra = { ...extra, ...spec };
          const rebuilt = scheduleFromSpec(withExtra);
          expect(rebuilt.spec).toEqual(known.spec);
          expect(rebuilt.next(after, context)).toBe(known.next(after, context));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** The definition a replica stores for `schedule` (as `JobSeries.registration()` writes it). */
function storedDefinition(schedule: (typeof SCHEDULES)[number]): Record<string, unknown> {
  const config = toJobConfig("nightly", schedule, () => {}, { startAt: T0, missed: "latest" });
  return JSON.parse(new JobSeries(config, "Europe/Berlin").registration().definition) as Record<
    string,
    unknown
  >;
}
const definitionArb = fc.constantFrom(...SCHEDULES.map(storedDefinition));

/** Definition text: corrupt JSON, wrong-typed fields, an unknown kind, or newer fields. */
const corruptDefinitionArb: fc.Arbitrary<string> = fc.oneof(
  definitionArb.chain((definition) => mutate(JSON.stringify(definition))),
  fc.string({ maxLength: 30 }),
  definitionArb.chain((definition) =>
    fc
      .tuple(fc.constantFrom(...Object.keys(definition)), fc.option(columnValueArb))
      .map(([key, value]) => {
        const out: Record<string, unknown> = { ...definition };
        if (value === null) delete out[key];
        else out[key] = value;
        return safeStringify(out);
      }),
  ),
  definitionArb.chain((definition) =>
    corruptSpecArb.map((schedule) => safeStringify({ ...definition, schedule })),
  ),
  definitionArb.map((definition) => JSON.stringify({ ...definition, retriesV2: { max: 3 }, v: 9 })),
);

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `${v}` : v)) ?? "";
  } catch {
    return "{";
  }
}

describe("stored job definitions read by the audit (property)", () => {
  it("readStoredJob on a corrupt definition: a series that behaves, or CORRUPT_ROW", () => {
    fc.assert(
      fc.property(corruptDefinitionArb, instantArb, (definition, after) => {
        const record: JobRecord = {
          ...parseJobRow(JOB_ROW, "test"),
          definition,
        };
        const read = belfryOrValue(() => readStoredJob(record));
        if ("error" in read) return void expect(read.error.code).toBe("CORRUPT_ROW");
        const { series } = read.ok;
        let at: number | null = after;
        for (let i = 0; i < 3 && at !== null; i++) {
          const from: number = at;
          const next = belfryOrValue(() => series.next(from));
          if ("error" in next) throw new Error(`series.next(${from}) threw ${next.error.code}`);
          at = next.ok;
          if (at !== null) expect(at).toBeGreaterThan(from);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
