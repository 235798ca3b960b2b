/**
 * Prometheus metrics for a belfry scheduler (`belfry/prometheus`; `prom-client` ^15 is an
 * optional peer dependency, needed only by this entry point).
 *
 * @example
 * ```ts
 * import { registerMetrics } from "belfry/prometheus";
 * import { register } from "prom-client";
 * registerMetrics(scheduler); // on prom-client's default registry, names prefixed `belfry_`
 * // expose `await register.metrics()` on GET /metrics
 * ```
 */
import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from "prom-client";
import type { HealthReport } from "./health.js";
import type { Listener, SchedulerEventName } from "./events.js";
import type { Scheduler } from "../scheduler.js";

/** Options of {@link registerMetrics}. */
export interface MetricsOptions {
  /** Where the metrics are registered (default: prom-client's default registry). */
  readonly registry?: Registry;
  /** Prefix of every metric name (default `belfry_`). */
  readonly prefix?: string;
}

/** Start lag buckets, seconds: from a few ms (on time) to a minute late. */
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Store call buckets, seconds. */
const STORE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The metrics of one registry and prefix, shared by every scheduler registered on them. */
interface Family {
  readonly runs: Counter<"job" | "outcome">;
  readonly lag: Histogram<"job">;
  readonly claims: Counter<"job" | "result">;
  readonly recoveries: Counter<"job" | "action">;
  readonly storeErrors: Counter<"operation">;
  readonly storeCalls: Histogram<"operation">;
  /** Health snapshots behind the per-replica gauges, one ping per scheduler and scrape. */
  readonly snapshots: Map<Scheduler, () => Promise<HealthReport>>;
}

const families = new WeakMap<Registry, Map<string, Family>>();

/**
 * Counts what `scheduler` does into Prometheus metrics (names with the default prefix):
 *
 * - `belfry_runs_total{job,outcome}`: outcome `succeeded`, `failed`, `retried` (a failed attempt
 *   followed by another), `skipped`, `missed`, `abandoned`, `lease_lost`
 * - `belfry_run_start_lag_seconds{job}`: first attempts, start − scheduled instant (store time)
 * - `belfry_claims_total{job,result}`: result `won` or `lost` (another replica won)
 * - `belfry_lease_recoveries_total{job,action}`: expired leases taken over (`retried`) or
 *   recorded `abandoned`
 * - `belfry_store_errors_total{operation}`, `belfry_store_call_duration_seconds{operation}`
 * - `belfry_running_runs{replica}`, `belfry_clock_offset_seconds{replica}` (store − local) and
 *   `belfry_store_up{replica}`: gauges read from `scheduler.health()` at scrape time
 *
 * Several schedulers may share one registry (their gauges are told apart by `replica`). Labels
 * carry job ids, operations and replica ids only, never run ids. Returns a function that
 * detaches the scheduler again.
 */
export function registerMetrics(scheduler: Scheduler, options: MetricsOptions = {}): () => void {
  const family = familyOf(options.registry ?? defaultRegistry, options.prefix ?? "belfry_");
  const detach: Array<() => void> = [];
  const on = <E extends SchedulerEventName>(event: E, listener: Listener<E>) => {
    scheduler.on(event, listener);
    detach.push(() => scheduler.off(event, listener));
  };
  const run = (job: string, outcome: string) => family.runs.inc({ job, outcome });
  on("run:succeeded", (e) => run(e.jobId, "succeeded"));
  on("run:failed", (e) => run(e.jobId, e.willRetry ? "retried" : "failed"));
  on("run:skipped", (e) => run(e.jobId, "skipped"));
  on("run:missed", (e) => run(e.jobId, "missed"));
  on("run:leaseLost", (e) => run(e.jobId, "lease_lost"));
  on("run:abandoned", (e) => {
    run(e.jobId, "abandoned");
    family.recoveries.inc({ job: e.jobId, action: "abandoned" });
  });
  on("run:recovered", (e) => family.recoveries.inc({ job: e.jobId, action: "retried" }));
  on("run:started", (e) => {
    if (e.attempt === 1) family.lag.observe({ job: e.jobId }, Math.max(0, e.lagMs) / 1000);
  });
  on("run:claimed", (e) => family.claims.inc({ job: e.jobId, result: "won" }));
  on("run:lost", (e) => family.claims.inc({ job: e.jobId, result: "lost" }));
  on("store:error", (e) => family.storeErrors.inc({ operation: e.operation }));
  on("store:call", (e) =>
    family.storeCalls.observe({ operation: e.operation }, e.durationMs / 1000),
  );
  family.snapshots.set(
    scheduler,
    oncePerScrape(() => scheduler.health()),
  );
  return () => {
    for (const off of detach) off();
    family.snapshots.delete(scheduler);
  };
}

function familyOf(registry: Registry, prefix: string): Family {
  const byPrefix = families.get(registry) ?? new Map<string, Family>();
  families.set(registry, byPrefix);
  const existing = byPrefix.get(prefix);
  if (existing) return existing;
  const registers = [registry];
  const snapshots = new Map<Scheduler, () => Promise<HealthReport>>();
  const gauge = (name: string, help: string, value: (health: HealthReport) => number) =>
    new Gauge({
      name: prefix + name,
      help,
      labelNames: ["replica"] as const,
      registers,
      async collect() {
        this.reset();
        for (const [scheduler, snapshot] of snapshots) {
          this.set({ replica: scheduler.replicaId }, value(await snapshot()));
        }
      },
    });
  gauge("running_runs", "Runs executing on the replica now.", (h) => h.running);
  gauge("clock_offset_seconds", "Measured offset store clock − replica clock.", (h) => {
    return h.clockOffsetMs / 1000;
  });
  gauge("store_up", "1 when the store answered the scrape's ping, else 0.", (h) =>
    h.storeReachable ? 1 : 0,
  );
  const family: Family = {
    runs: new Counter({
      name: `${prefix}runs_total`,
      help: "Occurrences by final outcome on this replica (failed attempts followed by a retry: retried).",
      labelNames: ["job", "outcome"] as const,
      registers,
    }),
    lag: new Histogram({
      name: `${prefix}run_start_lag_seconds`,
      help: "Start of a run's first attempt minus its scheduled instant, on store time.",
      labelNames: ["job"] as const,
      buckets: LAG_BUCKETS,
      registers,
    }),
    claims: new Counter({
      name: `${prefix}claims_total`,
      help: "Claims by result: won here, or lost to another replica.",
      labelNames: ["job", "result"] as const,
      registers,
    }),
    recoveries: new Counter({
      name: `${prefix}lease_recoveries_total`,
      help: "Runs whose lease expired, taken over by this replica (retried) or recorded abandoned.",
      labelNames: ["job", "action"] as const,
      registers,
    }),
    storeErrors: new Counter({
      name: `${prefix}store_errors_total`,
      help: "Failed store calls by operation.",
      labelNames: ["operation"] as const,
      registers,
    }),
    storeCalls: new Histogram({
      name: `${prefix}store_call_duration_seconds`,
      help: "Duration of store calls by operation.",
      labelNames: ["operation"] as const,
      buckets: STORE_BUCKETS,
      registers,
    }),
    snapshots,
  };
  byPrefix.set(prefix, family);
  return family;
}

/**
 * `read` shared by the callers that ask while one read is in flight: the gauges of one scrape
 * are collected together, so they share one health check.
 */
function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => (pending ??= read().finally(() => (pending = null)));
}
