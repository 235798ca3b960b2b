import { BelfryError } from "../errors.js";
import { MemoryStore } from "./memory/index.js";
import type { Store } from "./store.js";

/**
 * Opens a store from a URL, loading the backend (and its driver) only when asked for:
 * `memory`, `sqlite:<path>` (or a path ending in `.db`/`.sqlite`), `postgres://…`,
 * `postgresql://…`, `mysql://…`, `mariadb://…`, `redis://…`, `rediss://…`. A `prefix` query
 * parameter sets the table (or key) prefix: `postgres://host/db?prefix=app_`.
 *
 * @throws BelfryError `INVALID_STORE_URL` for any other scheme.
 */
export async function openStore(urlWithPrefix: string): Promise<Store> {
  const { url, prefix } = splitPrefix(urlWithPrefix);
  const scheme = /^([a-z]+):/i.exec(url)?.[1]?.toLowerCase();
  if (url === "memory") return new MemoryStore();
  if (scheme === "sqlite" || (!scheme && /\.(db|sqlite3?)$/.test(url))) {
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
    `store URL ${JSON.stringify(redact(url))} is not supported; use memory, sqlite:<path>, postgres://…, mysql://…, mariadb://… or redis://…`,
  );
}

/**
 * Takes a `prefix` query parameter (table prefix for SQL stores, key prefix for Redis) out of
 * the URL, so that drivers never see it.
 */
function splitPrefix(raw: string): { url: string; prefix?: string } {
  const match = /[?&]prefix=([^&]*)/.exec(raw);
  if (!match) return { url: raw };
  const url = raw.replace(/([?&])prefix=[^&]*&?/, "$1").replace(/[?&]$/, "");
  return { url, prefix: decodeURIComponent(match[1] as string) };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@/]*@/, "$1:***@");
}
