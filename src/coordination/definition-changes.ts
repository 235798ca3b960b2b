import type { EventHub } from "../observe/events.js";
import type { Logger } from "../observe/logger.js";
import type { Store } from "../stores/store.js";
import { capabilities } from "../stores/shared/capabilities.js";

/** How long a replica whose definition was replaced waits before registering its own again. */
export function supersededBackoffMs(leaseMs: number): number {
  return leaseMs;
}

/** A flip of a job's stored definition, as this replica saw it. */
export interface DefinitionChange {
  readonly jobId: string;
  /** This replica's definition hash. */
  readonly hash: string;
  /** The other definition's hash: the one the store holds, or the one this replica replaced. */
  readonly storedHash: string;
  /**
   * `superseded`: the store refused this replica's claim for another definition; `replaced`:
   * this replica's registration replaced the stored definition.
   */
  readonly change: "superseded" | "replaced";
}

/** What reporting a definition change needs. */
export interface DefinitionChangeDeps {
  readonly store: Store;
  readonly hub: EventHub;
  readonly logger: Logger;
  readonly replicaId: string;
  readonly leaseMs: number;
}

/**
 * Reports a definition flip: a warn line, the `job:definitionChanged` event and, when the store
 * keeps warnings, a persisted `definition-changed` warning. Never rejects.
 */
export async function reportDefinitionChange(
  deps: DefinitionChangeDeps,
  change: DefinitionChange,
): Promise<void> {
  const { hub, logger, replicaId, store } = deps;
  const { jobId, hash, storedHash } = change;
  const message =
    change.change === "superseded"
      ? `replica ${replicaId}: the store holds another definition of job ${JSON.stringify(jobId)} (hash ${storedHash}, ours ${hash}); this replica stops claiming it and registers its own again in ${supersededBackoffMs(deps.leaseMs)} ms (last writer wins)`
      : `replica ${replicaId}: registered its definition of job ${JSON.stringify(jobId)} (hash ${hash}) over the stored one (hash ${storedHash})`;
  logger.warn({ jobId, hash, storedHash, change: change.change }, `belfry: ${message}`);
  hub.emit("job:definitionChanged", { ...change, replicaId });
  try {
    await capabilities(store).warnings?.addWarning({
      replicaId,
      kind: "definition-changed",
      message,
    });
  } catch (error) {
    hub.emit("store:error", { replicaId, operation: "addWarning", error });
  }
}
