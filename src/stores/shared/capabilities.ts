import type {
  ReplicaRecords,
  Retention,
  ScheduleRecords,
  Store,
  Transactions,
  WarningRecords,
} from "../store.js";

/** The optional capabilities of a store, each null when the store lacks it. */
export interface Capabilities {
  readonly replicas: ReplicaRecords | null;
  readonly warnings: WarningRecords | null;
  readonly retention: Retention | null;
  /** Effects that commit with the run (`run.transaction`): the SQL stores. */
  readonly transactions: Transactions | null;
  /** Runtime schedules (`scheduler.schedules`): every bundled store. */
  readonly schedules: ScheduleRecords | null;
}

/** The methods a store needs for {@link ScheduleRecords} (`onScheduleChange` is optional). */
const SCHEDULE_METHODS = [
  "putSchedules",
  "getSchedule",
  "listSchedules",
  "removeSchedules",
  "dueSchedules",
  "scheduleTasks",
  "countSchedules",
  "advanceSchedules",
  "triggerSchedule",
  "claimTriggered",
  "claimBackfill",
] as const satisfies readonly (keyof ScheduleRecords)[];

/** The stores that have {@link Transactions}, for the message of a store that lacks it. */
export const TRANSACTIONAL_STORES = "PostgreSQL, MySQL/MariaDB and SQLite";

/**
 * The one place that checks which optional {@link Store} capabilities a store has (a capability
 * counts only when all its methods are there); callers do without the missing ones.
 */
export function capabilities(store: Store): Capabilities {
  const { touchReplica, listReplicas, addWarning, listWarnings, prune, transactional } = store;
  return {
    replicas:
      touchReplica && listReplicas
        ? { touchReplica: touchReplica.bind(store), listReplicas: listReplicas.bind(store) }
        : null,
    warnings:
      addWarning && listWarnings
        ? { addWarning: addWarning.bind(store), listWarnings: listWarnings.bind(store) }
        : null,
    retention: prune ? { prune: prune.bind(store) } : null,
    transactions: transactional ? { transactional: transactional.bind(store) } : null,
    schedules: SCHEDULE_METHODS.every((name) => typeof store[name] === "function")
      ? (store as Store & ScheduleRecords)
      : null,
  };
}
