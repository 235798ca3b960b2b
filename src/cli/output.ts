import type { Command } from "commander";
import { BelfryError } from "../errors.js";
import { capabilities, type Capabilities } from "../stores/shared/capabilities.js";
import { openStore } from "../stores/open.js";
import type { Store } from "../stores/store.js";

/** Exit codes of `belfry`: 1 is reserved for findings (`audit`), 2 for usage errors. */
export const EXIT = { ok: 0, findings: 1, usage: 2, failure: 3 } as const;

/** Options every store command takes. */
export interface StoreOptions {
  readonly store: string;
  readonly json: boolean;
}

/** Adds `--store <url>` (required) and `--json` to a command. */
export function storeCommand(command: Command): Command {
  return command
    .requiredOption(
      "--store <url>",
      "store URL: sqlite:<path>, postgres://…, mysql://…, redis://… (?prefix=… for a table or key prefix)",
    )
    .option("--json", "print JSON instead of text", false);
}

/**
 * Opens the store at `url` without migrating it (`autoMigrate: false`), runs `fn` with it and
 * closes it. A URL that holds no belfry schema fails with `SCHEMA_MISSING` and is left exactly
 * as it was: no table, key or file is created (`belfry migrate` creates them).
 */
export async function withStore<T>(url: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(url, { autoMigrate: false });
  try {
    await store.init();
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Opens the store at `url`, creates or updates its schema (`init()` with migrations on) and
 * closes it. Resolves to the store's kind.
 * @throws BelfryError `STORE_CONNECT` when it cannot be reached, `MIGRATION`.
 */
export async function migrateStore(url: string): Promise<string> {
  const store = await openStore(url);
  try {
    await store.init();
  } finally {
    await store.close();
  }
  return store.kind;
}

/** Writes `value` as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes lines on stdout. */
export function print(...lines: string[]): void {
  process.stdout.write(lines.map((line) => `${line}\n`).join(""));
}

/** An instant as ISO 8601 UTC, or `-`. */
export function iso(at: number | null | undefined): string {
  return at === null || at === undefined ? "-" : new Date(at).toISOString();
}

/** A duration in ms as `1d2h3m4.5s`, `250ms` or `0ms`. */
export function formatMs(ms: number): string {
  if (Math.abs(ms) < 1000) return `${Math.round(ms)}ms`;
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${Number((rest / 1000).toFixed(3))}s`);
  return sign + parts.join("");
}

/** Pads the columns of `rows` to a table. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/**
 * An optional store capability a command needs.
 * @throws BelfryError `UNSUPPORTED` when the store lacks it.
 */
export function capability<K extends keyof Capabilities>(
  store: Store,
  name: K,
): NonNullable<Capabilities[K]> {
  const found = capabilities(store)[name];
  if (!found) {
    throw new BelfryError(
      "UNSUPPORTED",
      `the ${store.kind} store does not keep ${name} records, so this command cannot run on it`,
    );
  }
  return found as NonNullable<Capabilities[K]>;
}
