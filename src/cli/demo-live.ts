import { systemClock, type Timer } from "../clock.js";
import type { ReplicaReport } from "./replica.js";

/** How `belfry demo` shows the replicas' reports while they run. */
export interface LiveOutput {
  /** The header line(s) printed before the replicas start. */
  readonly header: string;
  report(report: ReplicaReport): void;
  /** Prints what is pending and stops any timer. */
  stop(): void;
}

/** How long after a whole second the progress line of that second is printed, ms. */
const TICK_AFTER_MS = 20;

type Start = Extract<ReplicaReport, { type: "start" }>;

/** A last column of the run lines: its header and its text for a run. */
export interface RunDetail {
  readonly header: string;
  readonly of: (start: Start) => string;
}

/**
 * One line per run start (occurrence, job, replica, attempt, start lag, and a `detail` column
 * when given), per failed attempt and per replica event: for a few runs a second.
 */
export function runLines(
  say: (line: string) => void,
  jobWidth: number,
  detail?: RunDetail,
): LiveOutput {
  const header = `  occurrence    ${"job".padEnd(jobWidth)}  replica     attempt  lag`;
  return {
    header: detail ? `${header.padEnd(header.length + 6)}${detail.header}` : header,
    report(report) {
      if (report.type === "start") {
        const occurrence = new Date(report.scheduledAt).toISOString().slice(11, 23);
        const lag = `${report.at - report.scheduledAt} ms`;
        const extra = detail?.of(report);
        say(
          `  ${occurrence}  ${report.job.padEnd(jobWidth)}  ${report.replica.padEnd(10)}  ${String(report.attempt).padStart(7)}  ${extra ? `${lag.padEnd(7)}  ${extra}` : lag}`,
        );
      } else {
        const line = otherLine(report, jobWidth);
        if (line !== null) say(line);
      }
    },
    stop() {},
  };
}

/**
 * One line per second with the runs started in it, the total so far and the total per
 * replica (failed attempts and replica events still get a line each): readable at thousands
 * of runs a second.
 */
export function progressLines(say: (line: string) => void, expected: number): LiveOutput {
  const perReplica = new Map<string, number>();
  let total = 0;
  let inSecond = 0;
  let timer: Timer | null = null;
  // Ticks just after each whole second, so that a line counts the starts of one clock second.
  const arm = () => {
    timer = systemClock.setTimer(1000 - (systemClock.now() % 1000) + TICK_AFTER_MS, () => {
      flush(Math.floor(systemClock.now() / 1000) * 1000 - 1000);
      arm();
    });
  };
  const flush = (second: number) => {
    if (inSecond === 0) return;
    const replicas = [...perReplica]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([replica, runs]) => `${replica} ${runs}`)
      .join(", ");
    const label = new Date(second).toISOString().slice(11, 19);
    say(`  ${label}  +${inSecond} runs  ${total} of ${expected}  (${replicas})`);
    inSecond = 0;
  };
  arm();
  return {
    header: "  time      runs started in the second, total so far (per replica)",
    report(report) {
      if (report.type === "start") {
        if (report.attempt !== 1) return;
        total += 1;
        inSecond += 1;
        perReplica.set(report.replica, (perReplica.get(report.replica) ?? 0) + 1);
        return;
      }
      const line = otherLine(report, 0);
      if (line !== null) say(line);
    },
    stop() {
      timer?.cancel();
      timer = null;
      flush(Math.floor(systemClock.now() / 1000) * 1000);
    },
  };
}

/** The line of a report that is not a run start, or null for none. */
function otherLine(report: ReplicaReport, jobWidth: number): string | null {
  if (report.type === "end" && !report.ok) {
    return `  ${" ".repeat(12)}  ${report.job.padEnd(jobWidth)}  ${report.replica.padEnd(10)}  attempt ${report.attempt} failed: ${report.error ?? ""}`;
  }
  if (report.type === "event") return `  ${" ".repeat(12)}  ${report.name} on ${report.replica}`;
  return report.type === "ready" ? `  ${report.replica} ready` : null;
}
