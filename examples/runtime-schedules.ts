// Runtime schedules as a complete program: `node --import tsx examples/runtime-schedules.ts`.
// It defines a task, creates one schedule per user in the user's own time zone, triggers one
// schedule now, waits for a few runs and exits. test/examples.test.ts runs it.
import { daily, every, Scheduler } from "../src/index.js";
import { SqliteStore } from "../src/stores/sqlite/index.js";

const users = [
  { id: 1, timezone: "Europe/Berlin" },
  { id: 2, timezone: "America/New_York" },
  { id: 3, timezone: "Asia/Tokyo" },
];

const scheduler = new Scheduler({ store: new SqliteStore({ path: "belfry.db" }), unref: true });

// The handler is code, defined once by name on every replica that should run it.
scheduler.task("send-digest", async (run) => {
  const { userId } = run.data as { userId: number };
  // run.idempotencyKey is "send-digest:user-1@<instant>": the same on every replica and attempt.
  console.log(`digest for user ${userId} (${run.trigger}, ${run.idempotencyKey})`);
});

await scheduler.start();

// Schedules are data: any replica creates, changes or removes them; every replica runs them.
for (const user of users) {
  await scheduler.schedules.upsert({
    task: "send-digest",
    key: `user-${user.id}`,
    schedule: daily(1, ["09:00"]), // 09:00 in the user's own zone
    timezone: user.timezone,
    data: { userId: user.id },
  });
}
// One that fires often, to see it run, and a run of user 1's digest now.
await scheduler.schedules.upsert({
  task: "send-digest",
  key: "user-4",
  schedule: every("1s"),
  data: { userId: 4 },
});
await scheduler.schedules.trigger("send-digest", "user-1");

const { schedules } = await scheduler.schedules.list({ task: "send-digest" });
for (const s of schedules) {
  console.log(`${s.key}: next run ${s.nextRun?.toISOString()} (${s.timezone})`);
}

await new Promise((resolve) => setTimeout(resolve, 2_500));
await scheduler.schedules.remove("send-digest", "user-4");
await scheduler.stop();
