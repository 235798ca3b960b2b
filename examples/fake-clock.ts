// Testing a job without sleeping: a FakeClock drives the scheduler in simulated time.
import { every, FakeClock, MemoryStore, Scheduler } from "../src/index.js";

export async function main(): Promise<number> {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const scheduler = new Scheduler({ clock, store: new MemoryStore({ clock }) });
  let runs = 0;
  scheduler.job("tick", every("1m"), () => void runs++);
  await scheduler.start();
  await clock.advance(60 * 60_000); // one simulated hour, in milliseconds of real time
  await scheduler.stop();
  return runs; // 60
}
