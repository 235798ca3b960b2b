import { BelfryError } from "../../errors.js";

/** A store URL taken apart: what `openStore` needs, and a form safe to print. */
export interface StoreUrl {
  /** Lower-case scheme without the colon (`postgres`, `sqlite`, …); `memory` for `memory`. */
  readonly scheme: string;
  /** The URL as the driver gets it: the `prefix` parameter removed. */
  readonly url: string;
  /** The `prefix` query parameter (table prefix for SQL stores, key prefix for Redis). */
  readonly prefix?: string;
  /** The URL with its password replaced by `***`, for messages and logs. */
  readonly display: string;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Parses a store URL with the WHATWG `URL` class (never a regex over the secret parts). A
 * SQLite URL (`sqlite:<path>`) or a bare path ending in `.db`/`.sqlite` is kept as a path.
 *
 * @throws BelfryError `INVALID_STORE_URL` when the URL cannot be parsed; the message never
 *   holds the password.
 */
export function parseStoreUrl(raw: string): StoreUrl {
  if (raw === "memory") return { scheme: "memory", url: raw, display: raw };
  const scheme = SCHEME.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === "sqlite") {
    // A file path: no credentials, and `URL` would mangle relative paths.
    const query = raw.indexOf("?");
    const path = query < 0 ? raw : raw.slice(0, query);
    const params = new URLSearchParams(query < 0 ? "" : raw.slice(query + 1));
    const prefix = params.get("prefix") ?? undefined;
    params.delete("prefix");
    const rest = params.toString();
    const url = rest ? `${path}?${rest}` : path;
    return { scheme: scheme ?? "", url, display: url, ...(prefix === undefined ? {} : { prefix }) };
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new BelfryError(
      "INVALID_STORE_URL",
      `store URL ${JSON.stringify(redactUnparsed(raw))} is not a valid URL; expected e.g. postgres://user:password@host:5432/db`,
    );
  }
  checkDriverParams(scheme, parsed);
  const prefix = parsed.searchParams.get("prefix") ?? undefined;
  parsed.searchParams.delete("prefix");
  const url = parsed.href;
  return { scheme, url, display: redact(url), ...(prefix === undefined ? {} : { prefix }) };
}

const PG_SSL = ["true", "false", "1", "0"];
const PG_SSLMODE = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
  "no-verify",
];

/**
 * Refuses the parameters a driver would misread instead of reporting: a Redis database that
 * is not a number (ioredis sends `SELECT NaN` and crashes on the reply), a PostgreSQL `ssl` or
 * `sslmode` value `pg` does not know (it would treat `ssl=bogus` as "on").
 * @throws BelfryError `INVALID_STORE_URL`.
 */
function checkDriverParams(scheme: string, parsed: URL): void {
  if (scheme === "redis" || scheme === "rediss") redisDatabase(parsed.href);
  if (scheme !== "postgres" && scheme !== "postgresql") return;
  for (const [name, allowed] of [
    ["ssl", PG_SSL],
    ["sslmode", PG_SSLMODE],
  ] as const) {
    const value = parsed.searchParams.get(name);
    if (value !== null && !allowed.includes(value)) {
      throw new BelfryError(
        "INVALID_STORE_URL",
        `store URL ${JSON.stringify(redact(parsed.href))}: ${name}=${JSON.stringify(value.slice(0, 40))} is not one of ${allowed.join(", ")}`,
      );
    }
  }
}

/**
 * The database number of a `redis://host:port/<db>` URL (0 when the path is empty).
 * @throws BelfryError `INVALID_STORE_URL` when the path is not a whole number.
 */
export function redisDatabase(url: string): number {
  const path = new URL(url).pathname.replace(/^\//, "");
  if (path === "") return 0;
  if (!/^\d{1,9}$/.test(path)) {
    throw new BelfryError(
      "INVALID_STORE_URL",
      `store URL ${JSON.stringify(redact(url))}: the Redis database ${JSON.stringify(decodeURIComponent(path).slice(0, 40))} is not a number; use redis://host:6379/0 … /15`,
    );
  }
  return Number(path);
}

/** The URL without its password, for messages (`postgres://app:***@db/x`). */
export function redact(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactUnparsed(url);
  }
  if (parsed.password === "") return url;
  parsed.password = "***";
  return parsed.href;
}

/** Redacts every `scheme://…` URL found in free text (a last line of defence for messages). */
export function redactUrlsIn(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => redact(url));
}

/**
 * For text `URL` cannot parse: keeps the scheme and what follows the last `@`, so that any
 * credentials (with or without a user name) never show.
 */
function redactUnparsed(url: string): string {
  const at = url.lastIndexOf("@");
  if (at < 0) return url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? "";
  return `${scheme}***@${url.slice(at + 1)}`;
}

/** What `util.inspect` shows of a store: its class and a target without credentials. */
export function inspectStore(name: string, target: string): string {
  return `${name} { target: ${JSON.stringify(redactUrlsIn(target))} }`;
}
