import { capabilities } from "../stores/shared/capabilities.js";
import type { Store } from "../stores/store.js";

/** The runtime schedules of one task, counted (`belfry jobs`, the dashboard's jobs page). */
export interface TaskCount {
  readonly task: string;
  /** Its schedules, finished series included (`countSchedules`). */
  readonly count: number;
}

/**
 * The tasks that have a schedule still to run (`scheduleTasks`), by task, each with its number
 * of schedules: one index read per task, never a read of the schedules themselves. None on a
 * store without runtime schedules.
 */
export async function taskCounts(store: Store): Promise<TaskCount[]> {
  const { schedules } = capabilities(store);
  if (!schedules) return [];
  const tasks = await schedules.scheduleTasks();
  return Promise.all(
    tasks.map(async (task) => ({ task, count: await schedules.countSchedules({ task }) })),
  );
}
