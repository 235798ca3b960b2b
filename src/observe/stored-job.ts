import { JobSeries } from "../coordination/series.js";
import { BelfryError } from "../errors.js";
import { toJobConfig, type MissedPolicy } from "../options.js";
import type { AbandonPolicy, OverlapPolicy } from "../protocol/vocabulary.js";
import type { ScheduleSpec } from "../schedules/schedule.js";
import { canonicalTimezone } from "../schedules/schedule.js";
import { scheduleFromSpec } from "../schedules/spec.js";
import type { JobRecord } from "../stores/store.js";

/** A job's definition as `JobSeries.registration()` stores it (`JobRecord.definition`). */
export interface StoredDefinition {
  readonly schedule: ScheduleSpec;
  /** The zone of schedules that name none (the registering scheduler's `timezone`). */
  readonly timezone: string;
  readonly startAt: number | null;
  readonly stopAt: number | null;
  readonly startImmediately: boolean;
  readonly overlap: OverlapPolicy;
  readonly onAbandoned: AbandonPolicy;
  readonly maxRuns: number | null;
  readonly missed: MissedPolicy;
}

/** A stored job read back: its row, its definition and the series every replica computes. */
export interface StoredJob {
  readonly record: JobRecord;
  readonly definition: StoredDefinition;
  /** The job's occurrences exactly as the scheduler computes them (`createdAt` set). */
  readonly series: JobSeries;
}

/** Ids with this prefix are belfry's own (the leader election's terms), not user schedules. */
export const INTERNAL_JOB_PREFIX = "belfry:";

const noop = (): void => {};

/**
 * Rebuilds a job's schedule and series from its stored definition, through the same validation
 * a code-defined job goes through, so the instants are the ones the replicas computed.
 *
 * @throws BelfryError `CORRUPT_ROW` naming the job when the definition cannot be read.
 */
export function readStoredJob(record: JobRecord): StoredJob {
  try {
    const definition = parseDefinition(record.definition);
    const schedule = scheduleFromSpec(definition.schedule);
    const config = toJobConfig(record.jobId, schedule, noop, {
      startAt: definition.startAt ?? undefined,
      stopAt: definition.stopAt ?? undefined,
      startImmediately: definition.startImmediately,
      overlap: definition.overlap,
      onAbandoned: definition.onAbandoned,
      maxRuns: definition.maxRuns ?? undefined,
      missed: definition.missed,
    });
    // Checked here: a zone the runtime does not know would otherwise throw from every next().
    const timezone = canonicalTimezone(definition.timezone, "timezone");
    const series = new JobSeries(config, timezone);
    series.createdAt = record.createdAt;
    return { record, definition, series };
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new BelfryError(
      "CORRUPT_ROW",
      `job ${JSON.stringify(record.jobId)}: its stored definition cannot be read: ${detail}`,
      { cause },
    );
  }
}

function parseDefinition(text: string): StoredDefinition {
  const value: unknown = JSON.parse(text);
  const fields = (typeof value === "object" && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  const { schedule, timezone } = fields;
  if (typeof schedule !== "object" || schedule === null || typeof timezone !== "string") {
    throw new BelfryError(
      "CORRUPT_ROW",
      `expected an object with "schedule" and "timezone", got ${text.slice(0, 200)}`,
    );
  }
  return fields as unknown as StoredDefinition;
}
