// The README's quickstart as a complete program: `node --import tsx examples/quickstart.ts`.
// It runs until Ctrl-C (SIGINT) or SIGTERM, then lets running jobs finish and exits.
// test/examples.test.ts runs it in a child process.
import { cron, every, Scheduler } from "../src/index.js";
import { SqliteStore } from "../src/stores/sqlite/index.js";

// Stand-ins for your own code.
async function sendReport(idempotencyKey: string, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  console.log(`report sent (${idempotencyKey})`);
}
async function pollInbox(): Promise<void> {
  console.log("inbox polled");
}

const scheduler = new Scheduler({
  store: new SqliteStore({ path: "belfry.db" }),
  // On SIGTERM or SIGINT: stop claiming, let running jobs finish (up to `stopTimeout`), exit.
  shutdownSignals: true,
});

scheduler.job(
  "nightly-report",
  cron("0 3 * * *", { timezone: "Europe/Berlin" }),
  async (run) => {
    // run.idempotencyKey is "nightly-report@2026-11-26T02:00:00.000Z" on every replica and
    // every attempt: use it to make side effects idempotent.
    await sendReport(run.idempotencyKey, run.signal);
  },
  { overlap: "skip", missed: "latest", retries: { max: 3, delay: "30s" }, tags: ["reports"] },
);
scheduler.job("poll-inbox", every("2s"), pollInbox);

scheduler.on("run:failed", (e) => console.warn(e.jobId, e.error));
await scheduler.start();
// The scheduler keeps the process alive until stop() or one of its shutdown signals.
