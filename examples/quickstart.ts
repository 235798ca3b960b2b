// The README's quickstart, type-checked by `npm run typecheck`.
import { cron, every, Scheduler } from "../src/index.js";
import { SqliteStore } from "../src/stores/sqlite/index.js";

async function sendReport(idempotencyKey: string, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  console.log("report", idempotencyKey);
}

async function pollInbox(): Promise<void> {}

export async function main(): Promise<void> {
  const scheduler = new Scheduler({ store: new SqliteStore({ path: "belfry.db" }) });

  scheduler.job(
    "nightly-report",
    cron("0 3 * * *", { timezone: "Europe/Berlin" }),
    async (run) => {
      await sendReport(run.idempotencyKey, run.signal);
    },
    { overlap: "skip", missed: "latest", retries: { max: 3, delay: "30s" }, tags: ["reports"] },
  );
  scheduler.job("poll-inbox", every("30s"), pollInbox);

  scheduler.on("run:failed", (e) => console.warn(e.jobId, e.error));
  await scheduler.start();
  await scheduler.stop({ drain: true });
}
