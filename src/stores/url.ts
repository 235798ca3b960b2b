import { BelfryError } from "../errors.js";

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
  const prefix = parsed.searchParams.get("prefix") ?? undefined;
  parsed.searchParams.delete("prefix");
  const url = parsed.href;
  return { scheme, url, display: redact(url), ...(prefix === undefined ? {} : { prefix }) };
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
