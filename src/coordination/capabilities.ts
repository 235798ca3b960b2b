import type { ReplicaRecords, Retention, Store, WarningRecords } from "../stores/store.js";

/** The optional capabilities of a store the scheduler uses, each null when the store lacks it. */
export interface Capabilities {
  readonly replicas: ReplicaRecords | null;
  readonly warnings: WarningRecords | null;
  readonly retention: Retention | null;
}

/**
 * The one place that checks which optional {@link Store} capabilities a store has (a capability
 * counts only when all its methods are there); the scheduler does without the missing ones.
 */
export function capabilities(store: Store): Capabilities {
  const { touchReplica, listReplicas, addWarning, listWarnings, prune } = store;
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
  };
}
