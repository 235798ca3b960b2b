import type { Clock } from "../clock.js";
import type { EventHub } from "./events.js";
import type { Logger } from "./logger.js";

/**
 * True when a `DEBUG`-style value turns on belfry's claim log: a comma- or space-separated list
 * naming `belfry`, `belfry:*`, `belfry:claims` or `*` (a `-belfry…` entry turns it off again),
 * as the `debug` package reads `DEBUG`.
 */
export function claimLogEnabled(debug: string | undefined): boolean {
  let enabled = false;
  for (const name of (debug ?? "").split(/[\s,]+/)) {
    const negated = name.startsWith("-");
    const pattern = negated ? name.slice(1) : name;
    if (["*", "belfry", "belfry:*", "belfry:claims"].includes(pattern)) enabled = !negated;
  }
  return enabled;
}

/**
 * Logs, at `debug` level, every claim decision this replica sees: won, lost to another replica,
 * skipped by the overlap policy, taken over after an expired lease. Attached only when the claim
 * log is switched on, so it costs nothing otherwise.
 */
export function attachClaimLog(hub: EventHub, logger: Logger): void {
  const line = (event: { jobId: string; scheduledAt: Date }) => ({
    jobId: event.jobId,
    scheduledAt: event.scheduledAt.toISOString(),
  });
  hub.on("run:claimed", (e) =>
    logger.debug({ ...line(e), runId: e.runId, attempt: e.attempt }, "belfry: claim won"),
  );
  hub.on("run:lost", (e) => logger.debug(line(e), "belfry: claim lost to another replica"));
  hub.on("run:skipped", (e) =>
    logger.debug({ ...line(e), reason: e.reason }, "belfry: occurrence skipped"),
  );
  hub.on("run:recovered", (e) =>
    logger.debug(
      { ...line(e), runId: e.runId, attempt: e.attempt },
      "belfry: expired run taken over",
    ),
  );
}

/**
 * A logger writing one JSON line per call to stderr, pino-style (`level`, `time`, fields, `msg`):
 * what `DEBUG=belfry` writes to when the application passed no logger.
 */
export function stderrLogger(
  clock: Clock,
  write: (line: string) => void = (line) => void process.stderr.write(line),
): Logger {
  const at =
    (level: number) =>
    (object: object, message?: string): void => {
      write(`${JSON.stringify({ level, time: clock.now(), ...object, msg: message })}\n`);
    };
  return { debug: at(20), info: at(30), warn: at(40), error: at(50) };
}
