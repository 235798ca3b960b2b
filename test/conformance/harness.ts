import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, expect } from "vitest";
import { isBelfryError } from "../../src/errors.js";
import type {
  ClaimedRun,
  ClaimRequest,
  ClaimResult,
  CompleteStore,
  JobRegistration,
  Store,
} from "../../src/stores/store.js";

/** What {@link MakeStore} receives: the prefix isolating one test's tables or keys. */
export interface StoreFactoryContext {
  /** Unique per test, valid for `assertPrefix` (e.g. `t_9f2c41d0aa_`). */
  readonly prefix: string;
}

/**
 * Builds a store on `prefix`, not yet initialised (the suite calls `init()`). Called several
 * times with the same prefix when the suite needs several replicas on one store.
 */
export type MakeStore = (context: StoreFactoryContext) => Promise<CompleteStore>;

/** Options of `describeStore`. */
export interface DescribeStoreOptions {
  /**
   * True (default) when two stores built for the same prefix share state (separate connections
   * to one database). False for stores whose state lives in the instance (memory): tests that
   * need several replicas then use the one instance several times, still racing through
   * `Promise.all`.
   */
  readonly sharedInstances?: boolean;
  /**
   * Writes an invalid value into the job row of `jobId` (e.g. `overlap = 'bogus'`) behind the
   * store's back. Returns the column and value written, which the error message must name.
   * Without it the corrupt-row tests are left out.
   */
  readonly corrupt?: (
    store: Store,
    prefix: string,
    jobId: string,
  ) => Promise<{ readonly column: string; readonly value: string } | void>;
  /** Removes a passing test's tables or keys; a failing test's are kept for debugging. */
  readonly cleanup?: (prefix: string) => Promise<void>;
  /** Runs thousands of racing claims instead of hundreds (default: env BELFRY_CONFORMANCE_HEAVY=1). */
  readonly heavy?: boolean;
  /** Store instances racing in the concurrency tests (default 8). */
  readonly instances?: number;
}

/** Per-test access to stores on the test's own prefix. */
export class Harness {
  private stores: CompleteStore[] = [];
  private primary: CompleteStore | null = null;
  private currentPrefix = "";
  readonly sharedInstances: boolean;
  readonly heavy: boolean;
  readonly instanceCount: number;

  constructor(
    private readonly makeStore: MakeStore,
    readonly options: DescribeStoreOptions,
  ) {
    this.sharedInstances = options.sharedInstances ?? true;
    this.heavy = options.heavy ?? process.env.BELFRY_CONFORMANCE_HEAVY === "1";
    this.instanceCount = options.instances ?? 8;
  }

  /** Registers the hooks that open a fresh store before each test and close it after. */
  install(): void {
    beforeEach(async (context) => {
      this.currentPrefix = `t_${randomBytes(5).toString("hex")}_`;
      this.primary = await this.open();
      const prefix = this.currentPrefix;
      context.onTestFinished(async ({ task }) => {
        if (task.result?.state !== "fail") await this.options.cleanup?.(prefix);
      });
    });
    afterEach(async () => {
      const stores = this.stores;
      this.stores = [];
      this.primary = null;
      await Promise.all(stores.map((store) => store.close()));
    });
  }

  /** The test's prefix. */
  get prefix(): string {
    return this.currentPrefix;
  }

  /** The test's first store, initialised. */
  get store(): CompleteStore {
    if (!this.primary) throw new Error("conformance: store used outside a test");
    return this.primary;
  }

  /** A new store on this test's prefix, not initialised; closed after the test. */
  async build(): Promise<CompleteStore> {
    const store = await this.makeStore({ prefix: this.currentPrefix });
    this.stores.push(store);
    return store;
  }

  /** A new initialised store on this test's prefix. */
  async open(): Promise<CompleteStore> {
    const store = await this.build();
    await store.init();
    return store;
  }

  /** `n` replicas of one store: separate instances when they share state, else the primary. */
  async replicas(n: number): Promise<CompleteStore[]> {
    if (!this.sharedInstances) return Array.from({ length: n }, () => this.store);
    const extra = await Promise.all(Array.from({ length: n - 1 }, () => this.open()));
    return [this.store, ...extra];
  }
}

let jobCounter = 0;

/** A job registration with test defaults (`allow`, `retry`, 3 attempts, unlimited runs). */
export function job(overrides: Partial<JobRegistration> = {}): JobRegistration {
  jobCounter += 1;
  const jobId = overrides.jobId ?? `job-${jobCounter}`;
  return {
    jobId,
    hash: "hash-1",
    definition: JSON.stringify({ jobId, every: 1000 }),
    anchor: 0,
    overlap: "allow",
    onAbandoned: "retry",
    maxAttempts: 3,
    maxRuns: null,
    ...overrides,
  };
}

/** A claim request for `registration` at `scheduledAt` by replica `r1` with a 30 s lease. */
export function request(
  registration: JobRegistration,
  scheduledAt: number,
  overrides: Partial<ClaimRequest> = {},
): ClaimRequest {
  return {
    jobId: registration.jobId,
    scheduledAt,
    hash: registration.hash,
    replicaId: "r1",
    leaseMs: 30_000,
    ...overrides,
  };
}

/** Claims one occurrence and returns its result. */
export async function claimOne(store: Store, claim: ClaimRequest): Promise<ClaimResult> {
  const results = await store.claim([claim]);
  expect(results).toHaveLength(1);
  return results[0] as ClaimResult;
}

/** Asserts that `result` is `won` and returns the claimed run. */
export function won(result: ClaimResult | undefined): ClaimedRun {
  expect(result?.status).toBe("won");
  if (result?.status !== "won") throw new Error("unreachable");
  return result.run;
}

/** Claims one occurrence and asserts it is won. */
export async function claimWon(store: Store, claim: ClaimRequest): Promise<ClaimedRun> {
  return won(await claimOne(store, claim));
}

/** An instant well in the past of store time, so a series of occurrences from it is due. */
export async function pastBase(store: Store): Promise<number> {
  return (await store.now()) - 3_600_000;
}

/** Real sleep (tests only; the library itself never sleeps on the platform clock). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits in real time until the store's clock is past `instant` (at most 5 s). */
export async function waitPast(store: Store, instant: number): Promise<void> {
  for (let i = 0; i < 250 && (await store.now()) <= instant; i++) await pause(20);
  expect(await store.now()).toBeGreaterThan(instant);
}

/** Asserts that `promise` rejects with a `BelfryError` of `code`, returning its message. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<string> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error, `expected a BelfryError ${code}`).toBeInstanceOf(Error);
  expect(isBelfryError(error) ? error.code : String(error)).toBe(code);
  return (error as Error).message;
}

/** The run row of `runId`, read through history. */
export async function runRow(store: Store, jobId: string, runId: string) {
  const rows = await store.history({ jobId, limit: 10_000 });
  const row = rows.find((r) => r.runId === runId);
  expect(row, `run ${runId} in history`).toBeDefined();
  if (!row) throw new Error("unreachable");
  return row;
}
