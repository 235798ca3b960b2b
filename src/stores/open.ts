import { BelfryError } from "../errors.js";
import { MemoryStore } from "./memory/index.js";
import type { Store } from "./store.js";
import { parseStoreUrl } from "./url.js";

export { redact } from "./url.js";

/**
 * Opens a store from a URL, loading the backend (and its driver) only when asked for:
 * `memory`, `sqlite:<path>` (or a path ending in `.db`/`.sqlite`), `postgres://…`,
 * `postgresql://…`, `mysql://…`, `mariadb://…`, `redis://…`, `rediss://…`. A `prefix` query
 * parameter sets the table (or key) prefix: `postgres://host/db?prefix=app_`.
 *
 * @throws BelfryError `INVALID_STORE_URL` for any other scheme.
 */
export async function openStore(raw: string): Promise<Store> {
  const { scheme, url, prefix, display } = parseStoreUrl(raw);
  if (scheme === "memory") return new MemoryStore();
  if (scheme === "sqlite" || (scheme === "" && /\.(db|sqlite3?)$/.test(url))) {
    const { SqliteStore } = await import("./sqlite/index.js");
    return new SqliteStore({ path: url.replace(/^sqlite:(\/\/)?/i, ""), tablePrefix: prefix });
  }
  if (scheme === "postgres" || scheme === "postgresql") {
    const { PostgresStore } = await import("./postgres/index.js");
    return new PostgresStore({ connectionString: url, tablePrefix: prefix });
  }
  if (scheme === "mysql" || scheme === "mariadb") {
    const { MysqlStore } = await import("./mysql/index.js");
    return new MysqlStore({ uri: url.replace(/^mariadb:/i, "mysql:"), tablePrefix: prefix });
  }
  if (scheme === "redis" || scheme === "rediss") {
    const { RedisStore } = await import("./redis/index.js");
    return new RedisStore({ url, keyPrefix: prefix });
  }
  throw new BelfryError(
    "INVALID_STORE_URL",
    `store URL ${JSON.stringify(display)} is not supported; use memory, sqlite:<path>, postgres://…, mysql://…, mariadb://… or redis://…`,
  );
}
