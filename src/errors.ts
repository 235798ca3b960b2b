/**
 * Stable error codes. Callers branch on `code`, never on the message text.
 *
 * - Definition errors (thrown when a schedule or job is defined): `INVALID_CRON`,
 *   `INVALID_TIMEZONE`, `INVALID_INTERVAL`, `INVALID_RANGE`, `INVALID_TIME`, `INVALID_DAY`,
 *   `INVALID_WEEKDAY`, `INVALID_DATE`, `INVALID_HANDLER`, `INVALID_OPTION`, `DUPLICATE_JOB`,
 *   `INVALID_SCHEDULE` (a schedule spec that cannot be rebuilt).
 * - Configuration errors: `INVALID_PREFIX`, `INVALID_STORE_URL`.
 * - Runtime errors: `UNKNOWN_JOB`, `NOT_STARTED`, `ALREADY_STARTED`, `STORE_CONNECT`,
 *   `STORE_ERROR`, `CORRUPT_ROW`, `MIGRATION`, `LEASE_LOST`, `TIMEOUT`, `ABORTED`.
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
  | "DUPLICATE_JOB"
  | "INVALID_SCHEDULE"
  | "INVALID_PREFIX"
  | "INVALID_STORE_URL"
  | "UNKNOWN_JOB"
  | "NOT_STARTED"
  | "ALREADY_STARTED"
  | "STORE_CONNECT"
  | "STORE_ERROR"
  | "CORRUPT_ROW"
  | "MIGRATION"
  | "LEASE_LOST"
  | "TIMEOUT"
  | "ABORTED";

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
