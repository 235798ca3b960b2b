/**
 * The logger belfry writes to: the subset of pino's interface it uses, so a pino logger (or
 * anything shaped like it) can be passed as is.
 */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  /** Returns a logger that adds `bindings` to every line (pino's `child`). */
  child?(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything (the default). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

const LEVELS = ["debug", "info", "warn", "error"] as const;

/**
 * A logger that adds `bindings` to every line: `logger.child(bindings)` when the logger has one
 * (pino), else a wrapper that merges them into each line's object.
 */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  if (logger === silentLogger) return logger;
  if (logger.child) return logger.child(bindings);
  const merged = {} as Logger;
  for (const level of LEVELS) {
    merged[level] = (object, message) => logger[level]({ ...bindings, ...object }, message);
  }
  merged.child = (more) => childLogger(logger, { ...bindings, ...more });
  return merged;
}

/** The fields every log line about a run carries (the replica's id comes from its logger). */
export function runFields(run: {
  readonly jobId: string;
  readonly runId: string;
  readonly scheduledAt: number;
  readonly attempt: number;
}): Record<string, unknown> {
  return {
    jobId: run.jobId,
    runId: run.runId,
    scheduledAt: new Date(run.scheduledAt).toISOString(),
    attempt: run.attempt,
  };
}
