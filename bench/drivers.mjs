// Driver-level helpers shared by the bench's child processes: counting round trips and
// statements in the database drivers, and opening belfry's store for a system configuration.
import { createRequire } from "node:module";
import { URL, pathToFileURL } from "node:url";
import { URLS } from "./lib.mjs";

const require = createRequire(import.meta.url);

/** Wraps `proto[name]` so that each call adds `roundTrips(this, args)` and `statements(…)`. */
function tally(count, proto, name, roundTrips, statements) {
  const original = proto[name];
  proto[name] = function (...args) {
    count.roundTrips += roundTrips(this, args);
    count.statements += statements(this, args);
    return original.apply(this, args);
  };
}

/**
 * Counts, into `count.roundTrips` and `count.statements`, every pg query, every mysql2
 * query/execute, every ioredis command (a pipeline is one round trip) and every SQLite statement
 * (a transaction is one "round trip": one write lock) of this process.
 */
export function countDrivers(count) {
  const one = () => 1;
  const none = () => 0;
  tally(count, require("pg").Client.prototype, "query", one, one);
  const mysql = require("mysql2").Connection.prototype;
  tally(count, mysql, "query", one, one);
  tally(count, mysql, "execute", one, one);
  // A pipelined command is counted as a statement by sendCommand and its pipeline as one round
  // trip; the pipeline's commands are taken back off the round trips.
  tally(count, require("ioredis").Redis.prototype, "sendCommand", one, one);
  const pipeline = require("ioredis/built/Pipeline").default.prototype;
  tally(count, pipeline, "exec", (p) => 1 - p.length, none);
  const sqlite = require("better-sqlite3");
  const prepare = sqlite.prototype.prepare;
  sqlite.prototype.prepare = function (...args) {
    const statement = prepare.apply(this, args);
    for (const name of ["run", "get", "all"]) tally(count, statement, name, none, one);
    return statement;
  };
  const transaction = sqlite.prototype.transaction;
  sqlite.prototype.transaction = function (fn) {
    return transaction.call(this, (...args) => {
      count.roundTrips += 1;
      return fn(...args);
    });
  };
}

/**
 * belfry's store for `cfg` (`store`: postgres | mysql | redis | sqlite, `tag`, `sqlitePath`), on
 * the run's own schema, table prefix, key prefix or file; `dist(file)` resolves a built module.
 * `pool` sets the connection pool size of the SQL stores and `sqliteBusyMs` SQLite's busy
 * timeout (the stores' defaults when undefined).
 */
export async function openBelfryStore(dist, cfg, { pool, sqliteBusyMs } = {}) {
  const maxConnections = pool === undefined ? {} : { maxConnections: pool };
  if (cfg.store === "sqlite") {
    const { SqliteStore } = await import(dist("stores/sqlite/index.js"));
    const busy = sqliteBusyMs === undefined ? {} : { busyTimeoutMs: sqliteBusyMs };
    return new SqliteStore({ path: cfg.sqlitePath, ...busy });
  }
  if (cfg.store === "postgres") {
    const { PostgresStore } = await import(dist("stores/postgres/index.js"));
    const schema = `belfry_${cfg.tag}`;
    return new PostgresStore({ connectionString: URLS.postgres, schema, ...maxConnections });
  }
  if (cfg.store === "mysql") {
    const { MysqlStore } = await import(dist("stores/mysql/index.js"));
    const tablePrefix = `belfry_${cfg.tag}_`;
    return new MysqlStore({ uri: URLS.mysql, tablePrefix, ...maxConnections });
  }
  if (cfg.store === "redis") {
    const { RedisStore } = await import(dist("stores/redis/index.js"));
    return new RedisStore({ url: URLS.redis, keyPrefix: `belfry-${cfg.tag}` });
  }
  throw new Error(`unknown store ${cfg.store}`);
}

/**
 * `dist(file)`: the URL of a module of belfry's build, `dist/` of this checkout or, with
 * `BENCH_BELFRY_DIST`, another build to compare with (e.g. of an older commit).
 */
export function belfryDist() {
  const base = process.env.BENCH_BELFRY_DIST
    ? pathToFileURL(`${process.env.BENCH_BELFRY_DIST}/`)
    : new URL("../dist/", import.meta.url);
  return (file) => new URL(file, base).href;
}
