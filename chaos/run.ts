// `npm run chaos -- --store <url|postgres|mysql|redis|sqlite> --duration <s> [--seed n] [--short]`:
// a chaos run of belfry against real store servers (see docs/reliability.md).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ReplicaWindow } from "../src/cli/replica.js";
import { dueInWindow } from "../src/cli/summary.js";
import { keepAlive, sleep, systemClock } from "../src/clock.js";
import { openStore } from "../src/stores/open.js";
import { parseStoreUrl, redact } from "../src/stores/shared/url.js";
import { ChaosCluster, type FaultRecord } from "./cluster.js";
import { FAULT_KINDS, planFaults, STORE_FAULTS } from "./faults.js";
import { chaosJobs, occurrencesPerSecond } from "./jobs.js";
import { createLedgerTable, occurrenceKey, readFileLedger, readLedgerTable } from "./ledger.js";
import { TcpProxy } from "./proxy.js";
import { analyse, markdownTable, passed, reportRows, type ChaosReport } from "./report.js";
import type { ChaosReplicaArgs } from "./replica.js";
import { startPrivateServer, type PrivateServer, type StoreKind } from "./servers.js";

const KINDS: readonly StoreKind[] = ["postgres", "mysql", "redis", "sqlite"];
const REPLICAS = 3;

/** One store's chaos run, as asked on the command line. */
interface RunSpec {
  /** A bare kind starts a private server; a URL uses that (shared) store, without store faults. */
  readonly store: StoreKind | string;
  readonly durationS: number;
  readonly seed: number;
  readonly leaseMs: number;
  /** One fault of each class, back to back. */
  readonly once: boolean;
}

function kindOf(url: string): StoreKind {
  const { scheme, url: bare } = parseStoreUrl(url);
  if (scheme === "postgres" || scheme === "postgresql") return "postgres";
  if (scheme === "mysql" || scheme === "mariadb") return "mysql";
  if (scheme === "redis" || scheme === "rediss") return "redis";
  if (scheme === "sqlite" || /\.(db|sqlite3?)$/.test(bare)) return "sqlite";
  throw new Error(
    `chaos: --store ${redact(url)} is not a PostgreSQL, MySQL, Redis or SQLite store`,
  );
}

/** `url` with its host:port replaced by a proxy's and `prefix` set. */
function throughProxy(url: string, proxy: TcpProxy | undefined, prefix: string): string {
  if (url.startsWith("sqlite:")) return `${url}?prefix=${prefix}`;
  const parsed = new URL(url);
  if (proxy) {
    parsed.hostname = "127.0.0.1";
    parsed.port = String(proxy.port);
  }
  parsed.searchParams.set("prefix", prefix);
  return parsed.href;
}

/** The store's run rows in the window, job by job. */
async function readHistory(url: string, jobs: readonly string[], from: number, to: number) {
  const store = await openStore(url);
  await store.init();
  try {
    const rows = [];
    for (const jobId of jobs)
      rows.push(...(await store.history({ jobId, from, to, limit: 1_000_000 })));
    return rows;
  } finally {
    await store.close();
  }
}

/** How long past the window the run waits for every due occurrence to have a row. */
const SETTLE_TIMEOUT_MS = 60_000;

/**
 * Polls the store's history until it holds `due` rows in the window (each occurrence has at
 * most one); returns how long that took, or null after {@link SETTLE_TIMEOUT_MS}.
 */
async function settle(url: string, window: ReplicaWindow, due: number): Promise<number | null> {
  const started = systemClock.now();
  const store = await openStore(url);
  try {
    await store.init();
    while (systemClock.now() - started < SETTLE_TIMEOUT_MS) {
      const rows = await store
        .history({ from: window.startAt, to: window.stopAt + 1, limit: due + 1 })
        .catch(() => []);
      if (rows.length >= due) return systemClock.now() - started;
      await sleep(systemClock, 1_000);
    }
    return null;
  } finally {
    await store.close();
  }
}

interface StoreResult {
  readonly name: string;
  readonly report: ChaosReport;
  readonly skipped: string | null;
  readonly faults: readonly FaultRecord[];
  readonly events: Record<string, number>;
}

async function runStore(spec: RunSpec): Promise<StoreResult> {
  const isKind = (KINDS as readonly string[]).includes(spec.store);
  const server: PrivateServer | undefined = isKind
    ? await startPrivateServer(spec.store as StoreKind)
    : undefined;
  const baseUrl = server?.url ?? spec.store;
  const kind = kindOf(baseUrl);
  const folder = mkdtempSync(join(tmpdir(), "belfry-chaos-ledger-"));
  const prefix = `chaos_${spec.seed}_${systemClock.now().toString(36)}_`;
  const table = `${prefix}ledger`;
  const tcp = kind !== "sqlite";
  const { hostname, port } = tcp ? new URL(baseUrl) : { hostname: "", port: "" };
  const proxies = await Promise.all(
    Array.from({ length: REPLICAS }, () =>
      tcp
        ? TcpProxy.start(
            Number(port) || (kind === "redis" ? 6379 : kind === "mysql" ? 3306 : 5432),
            hostname,
          )
        : undefined,
    ),
  );
  const storeUrl = throughProxy(baseUrl, undefined, prefix);
  let ok = false;
  try {
    const store = await openStore(storeUrl);
    await store.init();
    await store.close();
    await createLedgerTable(kind, parseStoreUrl(storeUrl).url, table);
    const args: ChaosReplicaArgs[] = proxies.map((proxy, i) => ({
      storeUrl: throughProxy(baseUrl, proxy, prefix),
      replicaId: `r${i + 1}`,
      clockSkewMs: 0,
      leaseMs: spec.leaseMs,
      kind,
      ledgerFile: join(folder, `r${i + 1}.jsonl`),
      ledgerTable: table,
      workMs: 20,
    }));
    const kinds = FAULT_KINDS.filter(
      (k) => (server?.hasServer || !STORE_FAULTS.includes(k)) && (tcp || k !== "partition"),
    );
    const skipped =
      kinds.length === FAULT_KINDS.length
        ? null
        : `not applicable here: ${FAULT_KINDS.filter((k) => !kinds.includes(k)).join(", ")}`;
    const plan = planFaults({
      seed: spec.seed,
      windowMs: spec.durationS * 1000,
      leaseMs: spec.leaseMs,
      replicas: REPLICAS,
      kinds,
      once: spec.once,
    });
    const planned = spec.once
      ? plan.reduce((end, f) => Math.max(end, f.atMs + f.durationMs), 0) + 3_000
      : 0;
    const windowMs = Math.max(spec.durationS * 1000, planned);
    const cluster = new ChaosCluster(args, proxies, server);
    const window = await cluster.start(2_000, windowMs);
    const faults: FaultRecord[] = [];
    for (const fault of plan) {
      await sleep(systemClock, window.startAt + fault.atMs - systemClock.now());
      const record = await cluster.inject(fault);
      faults.push(record);
      log(`${kind}: ${record.kind}${record.replica ? ` ${record.replica}` : ""}: ${record.detail}`);
    }
    // Past the window: let recovery finish what the last faults left (a lease and a margin),
    // then until every due occurrence has a row (a replica back from a fault records what
    // nobody ran as missed), so that a fault at the window's end is not counted as a silent miss.
    await sleep(systemClock, window.stopAt + spec.leaseMs + 2_000 - systemClock.now());
    const jobs = chaosJobs(window, () => Promise.resolve());
    const due = new Map<string, { job: string; scheduledAt: number }>();
    for (const [job, instants] of dueInWindow(jobs, window))
      for (const scheduledAt of instants)
        due.set(occurrenceKey(job, scheduledAt), { job, scheduledAt });
    const settledMs = await settle(storeUrl, window, due.size);
    log(
      settledMs === null
        ? `${kind}: some due occurrences still had no row ${SETTLE_TIMEOUT_MS} ms after the window`
        : `${kind}: every due occurrence had a row ${settledMs} ms after the recovery margin`,
    );
    await cluster.stop();
    const report = analyse({
      due,
      runs: await readHistory(
        storeUrl,
        jobs.map((j) => j.id),
        window.startAt,
        window.stopAt + 1,
      ),
      fileLedger: args.flatMap((a) => readFileLedger(a.ledgerFile)),
      tableLedger:
        kind === "redis" ? null : await readLedgerTable(kind, parseStoreUrl(storeUrl).url, table),
      faults,
      crashes: cluster.crashes,
    });
    ok = passed(report);
    if (ok) rmSync(folder, { recursive: true, force: true });
    else
      log(
        `${kind}: ledger files kept in ${folder}${server ? `, server data in ${server.folder}` : ""}`,
      );
    const name = server ? `${kind} (private server)` : `${kind} (${redact(baseUrl)})`;
    return { name, report, skipped, faults, events: cluster.eventCounts() };
  } finally {
    await Promise.all(proxies.map((p) => p?.close()));
    await server?.destroy(!ok);
  }
}

function log(line: string): void {
  process.stderr.write(`[chaos ${new Date(systemClock.now()).toISOString()}] ${line}\n`);
}

function parse(): {
  stores: string[];
  durationS: number;
  seed: number;
  once: boolean;
  leaseMs: number;
} {
  const { values } = parseArgs({
    options: {
      store: { type: "string", multiple: true },
      duration: { type: "string" },
      seed: { type: "string" },
      short: { type: "boolean", default: false },
      lease: { type: "string" },
    },
  });
  const once = values.short ?? false;
  const stores = values.store ?? (once ? [...KINDS] : []);
  if (stores.length === 0)
    throw new Error("chaos: --store <url|postgres|mysql|redis|sqlite> is required (or --short)");
  return {
    stores,
    durationS: Number(values.duration ?? (once ? 0 : 60)),
    seed: Number(values.seed ?? (once ? 1 : Math.floor(Math.random() * 1e6))),
    once,
    leaseMs: Number(values.lease ?? (once ? 3_000 : 5_000)),
  };
}

const release = keepAlive();
const options = parse();
const started = systemClock.now();
log(
  `seed ${options.seed}, ${REPLICAS} replicas, ${occurrencesPerSecond().toFixed(0)} occurrences/s, lease ${options.leaseMs} ms`,
);
/** Runs one store and logs its verdict and any evidence of a broken invariant. */
async function runAndLog(store: string): Promise<StoreResult> {
  const result = await runStore({
    store,
    durationS: options.durationS,
    seed: options.seed,
    leaseMs: options.leaseMs,
    once: options.once,
  });
  log(
    `${result.name}: ${passed(result.report) ? "ok" : "INVARIANT VIOLATED"}; events ${JSON.stringify(result.events)}`,
  );
  for (const line of result.report.evidence) log(`  ${line}`);
  return result;
}

// The short run (CI) takes the stores side by side, each with its own private server, proxies
// and replicas, to stay within two minutes; a long run takes them one after the other.
const results: StoreResult[] = options.once ? await Promise.all(options.stores.map(runAndLog)) : [];
for (const store of options.once ? [] : options.stores) results.push(await runAndLog(store));
console.log(
  markdownTable(results.map((r) => ({ name: r.name, rows: reportRows(r.report, r.skipped) }))),
);
const ok = results.filter((r) => passed(r.report)).length;
console.log(`\nseed ${options.seed}, ${((systemClock.now() - started) / 1000).toFixed(0)} s`);
console.log(`chaos: ${ok} passed, ${results.length - ok} failed`);
release();
process.exitCode = ok === results.length ? 0 : 1;
