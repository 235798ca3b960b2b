import { BelfryError } from "../../errors.js";
import type { SchemaOptions } from "../shared/schema.js";
import type { RedisClientLike } from "./connection.js";

/** Options of `RedisStore`. */
export interface RedisStoreOptions extends SchemaOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (default `redis://127.0.0.1:6379`). */
  readonly url?: string;
  /** An existing ioredis client (`Redis` or `Cluster`); the store never closes it. */
  readonly client?: RedisClientLike;
  /** Prefix of every key: letters, digits, `_`, `-`, `:` (default `belfry`). */
  readonly keyPrefix?: string;
  /** Terminal runs kept per job; older ones are deleted as new ones finish (default 10 000). */
  readonly historyLimit?: number;
  /** Also delete terminal runs scheduled longer ago than this (default: keep by count only). */
  readonly historyRetentionMs?: number;
  /** How long `init` waits for a connection (default 2 000 ms; own client only). */
  readonly connectTimeoutMs?: number;
  /** How often one replica re-indexes every job's active runs (default 300 000 ms; 0: never). */
  readonly reconcileIntervalMs?: number;
}

/** {@link RedisStoreOptions} checked, with the defaults filled in. */
export interface RedisSettings {
  readonly url: string;
  readonly client?: RedisClientLike;
  readonly keyPrefix: string;
  readonly historyLimit: number;
  readonly retentionMs: number;
  readonly connectTimeoutMs: number;
  readonly reconcileMs: number;
  readonly autoMigrate: boolean;
}

const KEY_PREFIX_PATTERN = /^[A-Za-z0-9_:-]{1,64}$/;

/**
 * Checks the options and fills in the defaults.
 * @throws BelfryError `INVALID_PREFIX` for a key prefix outside {@link KEY_PREFIX_PATTERN},
 * `INVALID_OPTION` for a bad number or both `url` and `client`.
 */
export function resolveOptions(options: RedisStoreOptions): RedisSettings {
  const keyPrefix = options.keyPrefix ?? "belfry";
  if (!KEY_PREFIX_PATTERN.test(keyPrefix)) {
    throw new BelfryError(
      "INVALID_PREFIX",
      `RedisStore: keyPrefix ${JSON.stringify(keyPrefix)} is not allowed; use 1-64 letters, digits, "_", "-" or ":"`,
    );
  }
  const settings = {
    url: options.url ?? "redis://127.0.0.1:6379",
    keyPrefix,
    historyLimit: integerOption("historyLimit", options.historyLimit ?? 10_000),
    retentionMs: integerOption("historyRetentionMs", options.historyRetentionMs ?? 0, true),
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    reconcileMs: integerOption("reconcileIntervalMs", options.reconcileIntervalMs ?? 300_000, true),
    autoMigrate: options.autoMigrate ?? true,
  };
  if (options.client && options.url !== undefined) {
    throw new BelfryError("INVALID_OPTION", "RedisStore: pass either url or client, not both");
  }
  return options.client ? { ...settings, client: options.client } : settings;
}

function integerOption(name: string, value: number, allowZero = false): number {
  if (Number.isSafeInteger(value) && (value > 0 || (allowZero && value === 0))) return value;
  throw new BelfryError(
    "INVALID_OPTION",
    `RedisStore: ${name} must be a ${allowZero ? "non-negative" : "positive"} integer, got ${String(value)}`,
  );
}
