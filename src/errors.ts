/**
 * Stable error codes. Callers branch on `code`, never on the message text.
 *
 * - Definition errors (thrown when a schedule or job is defined): `INVALID_CRON`,
 *   `INVALID_TIMEZONE`, `INVALID_INTERVAL`, `INVALID_RANGE`, `INVALID_TIME`, `INVALID_DAY`,
 *   `INVALID_WEEKDAY`, `INVALID_DATE`, `INVALID_HANDLER`, `INVALID_OPTION` (a bad value),
 *   `UNKNOWN_OPTION` (a key no options object has; the message names the nearest valid one),
 *   `NEVER_FIRES` (a definition with no occurrence: `cron("0 0 30 2 *")`, `startAt` after
 *   `stopAt`), `RESERVED_ID` (a job id starting with `belfry:`), `DUPLICATE_JOB`,
 *   `INVALID_SCHEDULE` (a schedule spec that cannot be rebuilt), `DUPLICATE_TASK`.
 * - Configuration errors: `INVALID_PREFIX`, `INVALID_STORE_URL`, `MISSING_DEPENDENCY`.
 * - Runtime errors: `UNKNOWN_JOB`, `UNKNOWN_SCHEDULE`, `SCHEDULE_EXISTS` (a runtime schedule
 *   created again with another definition: use `upsert` or `update`), `NOT_STARTED`, `ALREADY_STARTED`, `STORE_CONNECT`,
 *   `STORE_ERROR`, `CORRUPT_ROW`, `MIGRATION`, `SCHEMA_MISSING` (a store opened with
 *   `autoMigrate: false` holds no belfry schema, or an older one), `LEASE_LOST`, `TIMEOUT`, `ABORTED`, `UNSUPPORTED` (a store
 *   without an optional capability the call needs).
 */
export type BelfryErrorCode =
  | "INVALID_CRON"
  | "INVALID_TIMEZONE"
  | "INVALID_INTERVAL"
  | "INVALID_RANGE"
  | "INVALID_TIME"
  | "INVALID_DAY"
  | "INVALID_WEEKDAY"
  | "INVALID_DATE"
  | "INVALID_HANDLER"
  | "INVALID_OPTION"
  | "UNKNOWN_OPTION"
  | "NEVER_FIRES"
  | "RESERVED_ID"
  | "DUPLICATE_JOB"
  | "DUPLICATE_TASK"
  | "INVALID_SCHEDULE"
  | "INVALID_PREFIX"
  | "INVALID_STORE_URL"
  | "UNKNOWN_JOB"
  | "UNKNOWN_SCHEDULE"
  | "SCHEDULE_EXISTS"
  | "NOT_STARTED"
  | "ALREADY_STARTED"
  | "STORE_CONNECT"
  | "MISSING_DEPENDENCY"
  | "STORE_ERROR"
  | "CORRUPT_ROW"
  | "MIGRATION"
  | "SCHEMA_MISSING"
  | "LEASE_LOST"
  | "TIMEOUT"
  | "ABORTED"
  /** The store lacks an optional capability the call needs (e.g. `prune`). */
  | "UNSUPPORTED";

/**
 * The one error type belfry throws. `code` is stable across releases; `message` says where the
 * problem is, what was wrong and the offending value, e.g.
 * `cron("0 25 * * *"): hour 25 is out of range 0-23`.
 *
 * @example
 * ```ts
 * try { cron("61 * * * *"); } catch (e) { if (e instanceof BelfryError && e.code === "INVALID_CRON") … }
 * ```
 */
export class BelfryError extends Error {
  /** Stable, machine-readable code. */
  readonly code: BelfryErrorCode;

  constructor(code: BelfryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BelfryError";
    this.code = code;
  }
}

/** True when `error` is a {@link BelfryError}, optionally with the given code. */
export function isBelfryError(error: unknown, code?: BelfryErrorCode): error is BelfryError {
  return error instanceof BelfryError && (code === undefined || error.code === code);
}

/** Wraps any thrown value in a `BelfryError` with `code`, keeping the original as `cause`. */
export function wrapError(code: BelfryErrorCode, context: string, error: unknown): BelfryError {
  if (error instanceof BelfryError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new BelfryError(code, `${context}: ${detail}`, { cause: error });
}

/** Longest rendering of an offending value that a message quotes. */
const QUOTE_LIMIT = 80;

/**
 * Renders a value for an error message: strings JSON-quoted, `NaN`/`undefined`/dates as
 * themselves, functions and objects by kind, cut to about 80 characters.
 *
 * @example
 * ```ts
 * quote(NaN); // "NaN" (JSON.stringify would say "null")
 * ```
 */
export function quote(value: unknown): string {
  const text = render(value);
  return text.length <= QUOTE_LIMIT ? text : `${text.slice(0, QUOTE_LIMIT - 1)}…`;
}

function render(value: unknown): string {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol" || typeof value !== "object" || value === null) {
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(render).join(", ")}]`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return "an object";
  }
}
