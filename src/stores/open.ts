import { BelfryError } from "../errors.js";
import { MemoryStore } from "./memory/index.js";
import type { SchemaOptions } from "./shared/schema.js";
import type { Store } from "./store.js";
import { importPeer } from "./shared/peer.js";
import { parseStoreUrl } from "./shared/url.js";

export { redact } from "./shared/url.js";

/**
 * Opens a store from a URL, loading the backend (and its driver) only when asked for:
 * `memory`, `sqlite:<path>` (or a path ending in `.db`/`.sqlite`), `postgres://…`,
 * `postgresql://…`, `mysql://…`, `mariadb://…`, `redis://…`, `rediss://…`. A `prefix` query
 * parameter sets the table (or key) prefix: `postgres://host/db?prefix=app_`.
 *
 * `options.autoMigrate: false` opens it to check the schema in `init()` rather than create it
 * (a memory store has nothing to check).
 *
 * @throws BelfryError `MISSING_DEPENDENCY` when the backend's driver (an optional peer
 *   dependency: `pg`, `mysql2`, `ioredis`) is not installed.
 * @throws BelfryError `INVALID_STORE_URL` for any other scheme, or a URL its driver would
 *   misread (a port or Redis database that is not a number, an unknown PostgreSQL `ssl` value).
 */
export async function openStore(raw: string, options: SchemaOptions = {}): Promise<Store> {
  const { scheme, url, prefix, display } = parseStoreUrl(raw);
  const { autoMigrate } = options;
  if (scheme === "memory") return new MemoryStore();
  if (scheme === "sqlite" || (scheme === "" && /\.(db|sqlite3?)$/.test(url))) {
    const { SqliteStore } = await import("./sqlite/index.js");
    return new SqliteStore({
      path: url.replace(/^sqlite:(\/\/)?/i, ""),
      tablePrefix: prefix,
      autoMigrate,
    });
  }
  if (scheme === "postgres" || scheme === "postgresql") {
    const { PostgresStore } = await import("./postgres/index.js");
    return new PostgresStore({ connectionString: url, tablePrefix: prefix, autoMigrate });
  }
  if (scheme === "mysql" || scheme === "mariadb") {
    const { MysqlStore } = await import("./mysql/index.js");
    return new MysqlStore({
      uri: url.replace(/^mariadb:/i, "mysql:"),
      tablePrefix: prefix,
      autoMigrate,
    });
  }
  if (scheme === "redis" || scheme === "rediss") {
    const { RedisStore } = await importPeer("ioredis", () => import("./redis/index.js"));
    return new RedisStore({ url, keyPrefix: prefix, autoMigrate });
  }
  throw new BelfryError(
    "INVALID_STORE_URL",
    `store URL ${JSON.stringify(display)} is not supported; use memory, sqlite:<path>, postgres://…, mysql://…, mariadb://… or redis://…`,
  );
}
