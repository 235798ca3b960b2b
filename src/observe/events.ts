import type { Logger } from "./logger.js";

/** What every run event carries. */
export interface RunEventBase {
  readonly jobId: string;
  /** Nominal instant of the occurrence. */
  readonly scheduledAt: Date;
  readonly replicaId: string;
}

/** A run event about a run row this replica owns. */
export interface OwnedRunEvent extends RunEventBase {
  readonly runId: string;
  readonly attempt: number;
}

/** Every event the scheduler emits, with its payload. */
export interface SchedulerEvents {
  /** This replica won the claim for an occurrence. */
  "run:claimed": OwnedRunEvent;
  /**
   * The handler is about to be called (once per attempt). `lagMs`: how long after its nominal
   * instant the attempt started, on the store's clock (a retry's lag includes its backoff).
   */
  "run:started": OwnedRunEvent & { readonly lagMs: number };
  "run:succeeded": OwnedRunEvent & { readonly durationMs: number };
  /** An attempt failed; `willRetry` says whether another attempt follows. */
  "run:failed": OwnedRunEvent & { readonly error: unknown; readonly willRetry: boolean };
  /**
   * The occurrence was not run: overlap policy, a `beforeRun` listener, a full queue, or the job
   * is paused. For `paused`, only the replica whose claim recorded the `skipped` row emits it
   * (once per row; replicas that lost the claim do not).
   */
  "run:skipped": RunEventBase & {
    readonly reason: "overlap" | "beforeRun" | "queued" | "paused";
  };
  /** The occurrence was recorded as missed (nobody ran it in time). */
  "run:missed": RunEventBase;
  /** Another replica won the claim (normal in a cluster). */
  "run:lost": RunEventBase;
  /** This replica's lease on a run was lost; the handler's signal was aborted. */
  "run:leaseLost": OwnedRunEvent;
  /** Recovery found a run whose lease expired and recorded it abandoned. */
  "run:abandoned": RunEventBase & { readonly runId: string };
  /** Recovery took over a run whose lease expired, as a new attempt on this replica. */
  "run:recovered": OwnedRunEvent;
  /** The measured offset to the store clock exceeds the skew threshold. */
  "clock:skew": {
    readonly replicaId: string;
    readonly offsetMs: number;
    readonly thresholdMs: number;
  };
  /** A store call failed; the scheduler keeps going and retries. */
  "store:error": {
    readonly replicaId: string;
    readonly operation: string;
    readonly error: unknown;
  };
  /** A store call finished (timed on the replica's clock); `ok` is false when it rejected. */
  "store:call": {
    readonly replicaId: string;
    readonly operation: string;
    readonly durationMs: number;
    readonly ok: boolean;
  };
  /** The store reported a risky setting (e.g. Redis eviction policy). */
  "store:warning": { readonly replicaId: string; readonly message: string };
  /**
   * Runtime schedules of a task this replica does not define are overdue by more than a
   * minute: most likely no live replica defines the task (a removed handler, a typo in a
   * task name, a deploy that has not reached any replica), so nothing runs them. Reported
   * every ten minutes while it lasts, also as a log line and a persisted warning.
   */
  "schedule:stalled": {
    readonly replicaId: string;
    readonly task: string;
    /** The oldest overdue schedule's due instant. */
    readonly dueSince: Date;
    /** One of its schedules, as an example to look at. */
    readonly key: string;
  };
  /**
   * A job's stored definition flipped (rolling deploy, or an old replica still running):
   * `superseded` when the store refused this replica's claim for another definition (it
   * registers its own again after one lease: last writer wins), `replaced` when this replica's
   * registration replaced the stored definition.
   */
  "job:definitionChanged": {
    readonly jobId: string;
    readonly replicaId: string;
    /** This replica's definition hash. */
    readonly hash: string;
    /** The other definition's hash: the one the store holds, or the one this replica replaced. */
    readonly storedHash: string;
    readonly change: "superseded" | "replaced";
  };
}

/** Name of a scheduler event. */
export type SchedulerEventName = keyof SchedulerEvents;

/** A listener for event `E`. */
export type Listener<E extends SchedulerEventName> = (payload: SchedulerEvents[E]) => void;

/**
 * A small typed event emitter. A listener that throws is logged and never breaks the
 * scheduler loop.
 */
export class EventHub {
  private readonly listeners = new Map<SchedulerEventName, Set<Listener<never>>>();

  constructor(private readonly logger: Logger) {}

  on<E extends SchedulerEventName>(event: E, listener: Listener<E>): void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as Listener<never>);
    this.listeners.set(event, set);
  }

  off<E extends SchedulerEventName>(event: E, listener: Listener<E>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  emit<E extends SchedulerEventName>(event: E, payload: SchedulerEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        this.logger.error({ err: error, event }, "belfry: event listener threw");
      }
    }
  }
}

/** The payload of an event about a run this replica owns. */
export function ownedRunEvent(
  run: {
    readonly jobId: string;
    readonly scheduledAt: number;
    readonly runId: string;
    readonly attempt: number;
  },
  replicaId: string,
): OwnedRunEvent {
  return {
    jobId: run.jobId,
    scheduledAt: new Date(run.scheduledAt),
    replicaId,
    runId: run.runId,
    attempt: run.attempt,
  };
}
