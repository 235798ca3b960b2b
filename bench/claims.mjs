// Measurement 1: belfry's claim step at the store level, on every store.
//
// REPLICAS store instances (each with its own connection, same tables/keys) race to claim the
// same occurrences of JOBS jobs:
//   - solo: one replica alone claims each job's occurrence, one claim() call each (no race);
//   - single: each replica claims each job's occurrence with one claim() call per occurrence,
//     jobs in the same order on every replica (so every call collides with two others);
//   - batch: each replica claims all JOBS due occurrences in one claim() call.
// Reported: calls/s and occurrences won/s (all replicas together), latency p50/p99 per call,
// the outcome check (exactly one `won` per occurrence), and the store's plain round trip
// (`store.now()`) as the floor a claim cannot beat.
//
// Run after `npm run build`:  node bench/claims.mjs [memory sqlite postgres mysql redis]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { URL, pathToFileURL } from "node:url";
import {
  URLS,
  cleanupOnSignal,
  deleteRedisKeys,
  dropMysqlTables,
  dropPgSchema,
  percentile,
  removeDir,
  round,
  runTag,
} from "./lib.mjs";

const REPLICAS = 3;
const JOBS = 50;
const SOLO_BUDGET_MS = 1_500; // per store and phase: each phase stops after its budget
const SINGLE_BUDGET_MS = 4_000;
const BATCH_BUDGET_MS = 3_000;
const MAX_ROUNDS = 40; // hard bound on occurrences per job, per phase
const NOW_SAMPLES = 200;
const LEASE_MS = 600_000;

export const STORES = ["memory", "sqlite", "postgres", "mysql", "redis"];

/** Opens REPLICAS store instances sharing one set of tables/keys, and a clean-up function. */
async function openStores(kind, tag) {
  const dist = new URL("../dist/stores/", import.meta.url);
  const load = async (file) => import(new URL(file, dist).href);
  if (kind === "memory") {
    // Nothing is shared between memory stores: one instance, REPLICAS concurrent callers.
    const { MemoryStore } = await load("memory/index.js");
    const store = new MemoryStore();
    return { stores: Array(REPLICAS).fill(store), cleanup: async () => {} };
  }
  if (kind === "sqlite") {
    const { SqliteStore } = await load("sqlite/index.js");
    const dir = mkdtempSync(join(tmpdir(), "belfry-bench-"));
    const path = join(dir, "bench.db");
    const stores = Array.from({ length: REPLICAS }, () => new SqliteStore({ path }));
    return { stores, cleanup: async () => removeDir(dir) };
  }
  if (kind === "postgres") {
    const { PostgresStore } = await load("postgres/index.js");
    const schema = `belfry_${tag}`;
    const stores = Array.from(
      { length: REPLICAS },
      () => new PostgresStore({ connectionString: URLS.postgres, schema, maxConnections: 2 }),
    );
    return { stores, cleanup: () => dropPgSchema(schema) };
  }
  if (kind === "mysql") {
    const { MysqlStore } = await load("mysql/index.js");
    const tablePrefix = `belfry_${tag}_`;
    const stores = Array.from(
      { length: REPLICAS },
      () => new MysqlStore({ uri: URLS.mysql, tablePrefix, maxConnections: 2 }),
    );
    return { stores, cleanup: () => dropMysqlTables(tablePrefix) };
  }
  if (kind === "redis") {
    const { RedisStore } = await load("redis/index.js");
    const keyPrefix = `belfry-${tag}`;
    const stores = Array.from(
      { length: REPLICAS },
      () => new RedisStore({ url: URLS.redis, keyPrefix }),
    );
    return { stores, cleanup: () => deleteRedisKeys(`${keyPrefix}:`) };
  }
  throw new Error(`unknown store ${kind}`);
}

function registration(jobId) {
  return {
    jobId,
    hash: "bench-v1",
    definition: JSON.stringify({ jobId, schedule: "every 1s" }),
    anchor: 0,
    overlap: "allow",
    onAbandoned: "abandon",
    maxAttempts: 1,
    maxRuns: null,
  };
}

function request(jobId, scheduledAt, replicaId) {
  return { jobId, scheduledAt, hash: "bench-v1", replicaId, leaseMs: LEASE_MS };
}

/** Runs `round(r)` for r = 0, 1, … until the budget or MAX_ROUNDS is spent; returns rounds done. */
async function rounds(budgetMs, round) {
  const start = performance.now();
  let r = 0;
  while (r < MAX_ROUNDS && performance.now() - start < budgetMs) await round(r++);
  return { rounds: r, elapsedMs: performance.now() - start };
}

function summarize(latencies, elapsedMs, calls, won, occurrences, outcomes) {
  return {
    calls,
    callsPerS: round(calls / (elapsedMs / 1000), 0),
    wonPerS: round(won / (elapsedMs / 1000), 0),
    p50Ms: round(percentile(latencies, 0.5), 3),
    p99Ms: round(percentile(latencies, 0.99), 3),
    occurrences,
    won,
    outcomes,
  };
}

/** Exactly one `won` per occurrence, or the list of what went wrong. */
function checkOnce(winners, occurrences) {
  const problems = [];
  for (const [key, count] of winners) if (count !== 1) problems.push(`${key} won ${count}×`);
  if (winners.size !== occurrences) problems.push(`${occurrences - winners.size} never won`);
  return problems;
}

/** Benchmarks one store; resolves to its numbers. */
export async function benchStore(kind) {
  const tag = runTag();
  const opened = await openStores(kind, tag);
  const { stores } = opened;
  const cleanup = cleanupOnSignal(opened.cleanup);
  const unique = [...new Set(stores)];
  try {
    for (const store of unique) await store.init();
    const jobIds = Array.from({ length: JOBS }, (_, j) => `job-${j}`);
    for (const id of jobIds) await stores[0].registerJob(registration(id));

    // Floor: the store's plain round trip.
    const nowLat = [];
    for (let i = 0; i < NOW_SAMPLES; i++) {
      const t = performance.now();
      await stores[i % REPLICAS].now();
      nowLat.push(performance.now() - t);
    }

    // Occurrences in the past (so they are due), one second apart, newer each round.
    const base = Math.floor((await stores[0].now()) / 1000) * 1000 - 3_600_000;

    // Phase 0: one replica alone, one claim() call per occurrence.
    const solo = { lat: [], outcomes: {}, winners: new Map(), calls: 0 };
    const o = await rounds(SOLO_BUDGET_MS, async (r) => {
      for (const jobId of jobIds) {
        const at = base + r * 1000;
        const t = performance.now();
        const [result] = await stores[0].claim([request(jobId, at, "replica-0")]);
        solo.lat.push(performance.now() - t);
        solo.calls++;
        tally(solo, result, `${jobId}@${at}`);
      }
    });
    const raceBase = base + MAX_ROUNDS * 1000 + 1000;

    // Phase 1: one claim() call per occurrence, REPLICAS racing on each.
    const single = { lat: [], outcomes: {}, winners: new Map(), calls: 0 };
    const s = await rounds(SINGLE_BUDGET_MS, (r) =>
      Promise.all(
        stores.map(async (store, i) => {
          for (const jobId of jobIds) {
            const at = raceBase + r * 1000;
            const t = performance.now();
            const [result] = await store.claim([request(jobId, at, `replica-${i}`)]);
            single.lat.push(performance.now() - t);
            single.calls++;
            tally(single, result, `${jobId}@${at}`);
          }
        }),
      ),
    );

    // Phase 2: one claim() call for all JOBS due occurrences, REPLICAS racing.
    const batch = { lat: [], outcomes: {}, winners: new Map(), calls: 0 };
    const batchBase = raceBase + MAX_ROUNDS * 1000 + 1000;
    const b = await rounds(BATCH_BUDGET_MS, (r) =>
      Promise.all(
        stores.map(async (store, i) => {
          const at = batchBase + r * 1000;
          const requests = jobIds.map((jobId) => request(jobId, at, `replica-${i}`));
          const t = performance.now();
          const results = await store.claim(requests);
          batch.lat.push(performance.now() - t);
          batch.calls++;
          results.forEach((result, j) => tally(batch, result, `${jobIds[j]}@${at}`));
        }),
      ),
    );

    const soloOcc = o.rounds * JOBS;
    const singleOcc = s.rounds * JOBS;
    const batchOcc = b.rounds * JOBS;
    const singleWon = countWon(single);
    const batchWon = countWon(batch);
    return {
      store: kind,
      replicas: REPLICAS,
      jobs: JOBS,
      nowP50Ms: round(percentile(nowLat, 0.5), 3),
      nowP99Ms: round(percentile(nowLat, 0.99), 3),
      solo: {
        ...summarize(solo.lat, o.elapsedMs, solo.calls, countWon(solo), soloOcc, solo.outcomes),
        problems: checkOnce(solo.winners, soloOcc),
        runRowsAtStart: 0,
      },
      single: {
        ...summarize(single.lat, s.elapsedMs, single.calls, singleWon, singleOcc, single.outcomes),
        problems: checkOnce(single.winners, singleOcc),
        runRowsAtStart: soloOcc,
      },
      batch: {
        ...summarize(batch.lat, b.elapsedMs, batch.calls, batchWon, batchOcc, batch.outcomes),
        perOccurrenceP50Ms: round(percentile(batch.lat, 0.5) / JOBS, 3),
        problems: checkOnce(batch.winners, batchOcc),
        runRowsAtStart: soloOcc + singleOcc,
      },
    };
  } finally {
    for (const store of unique) await store.close().catch(() => {});
    await cleanup();
  }
}

function tally(phase, result, key) {
  phase.outcomes[result.status] = (phase.outcomes[result.status] ?? 0) + 1;
  if (result.status === "won") phase.winners.set(key, (phase.winners.get(key) ?? 0) + 1);
}

function countWon(phase) {
  return phase.outcomes.won ?? 0;
}

/** Benchmarks each store in turn; a store that fails is reported, not fatal. */
export async function run(kinds = STORES) {
  const results = [];
  for (const kind of kinds) {
    try {
      results.push(await benchStore(kind));
    } catch (error) {
      results.push({ store: kind, error: String(error?.message ?? error) });
    }
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const kinds = process.argv.slice(2);
  const results = await run(kinds.length > 0 ? kinds : STORES);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
