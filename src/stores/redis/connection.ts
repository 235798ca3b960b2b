import { Redis } from "ioredis";
import { BelfryError, wrapError } from "../../errors.js";
import { redisDatabase } from "../shared/url.js";
import type { RedisKeys } from "./keys.js";
import type { LuaScript } from "./scripts/prelude.js";

/**
 * The Redis plumbing under `RedisStore`: the structural client types (so the core never imports
 * the driver's types), the store's own connection, pipelines that fall back to EVAL, reply
 * decoding and error mapping.
 */

/** An argument of a Redis command. */
export type RedisArg = string | number;

/** A pipeline of an ioredis-like client. */
export interface RedisPipelineLike {
  call(command: string, ...args: RedisArg[]): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/**
 * The slice of an ioredis client the Redis store uses, typed structurally: an ioredis `Redis`
 * (or `Cluster`) instance fits.
 */
export interface RedisClientLike {
  call(command: string, ...args: RedisArg[]): Promise<unknown>;
  pipeline(): RedisPipelineLike;
  /** True on an ioredis `Cluster`: commands of different slots are then never pipelined. */
  readonly isCluster?: boolean;
  /** A `Cluster`'s nodes of one role (a key-space SCAN runs on every master). */
  nodes?(role: "master"): RedisClientLike[];
  /** A new connection with the same options (ioredis `duplicate()`): the pub/sub subscriber. */
  duplicate?(): RedisSubscriberLike;
}

/**
 * The slice of an ioredis connection in subscriber mode the store uses (`schedule-changes.ts`);
 * ioredis subscribes again by itself after a reconnect.
 */
export interface RedisSubscriberLike {
  subscribe(channel: string): Promise<unknown>;
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** Connection and layout shared by the Redis store's modules. */
export interface RedisContext {
  readonly client: RedisClientLike;
  readonly keys: RedisKeys;
  /** Terminal runs kept per job. */
  readonly historyLimit: number;
  /** Terminal runs older than this are deleted as others finish (0: no age limit). */
  readonly retentionMs: number;
}

/** One command of a batch: a plain command, or a Lua script run by SHA. */
export type Step =
  | {
      readonly script: LuaScript;
      readonly keys: readonly string[];
      readonly args: readonly RedisArg[];
    }
  | { readonly command: string; readonly args: readonly RedisArg[] };

/** The outcome of one {@link Step}. */
export interface Settled {
  readonly error: Error | null;
  readonly value: unknown;
}

function commandOf(step: Step, useEval: boolean): [string, ...RedisArg[]] {
  if ("command" in step) return [step.command, ...step.args];
  const head = useEval ? ["eval", step.script.lua] : ["evalsha", step.script.sha];
  return [head[0] as string, head[1] as string, step.keys.length, ...step.keys, ...step.args];
}

function isNoScript(settled: Settled): boolean {
  return settled.error !== null && settled.error.message.startsWith("NOSCRIPT");
}

async function runPipeline(
  client: RedisClientLike,
  groups: readonly (readonly Step[])[],
  useEval: boolean,
): Promise<Settled[][]> {
  const pipeline = client.pipeline();
  for (const group of groups) {
    for (const step of group) pipeline.call(...commandOf(step, useEval));
  }
  const replies = await pipeline.exec();
  if (!replies) throw new Error("pipeline was discarded");
  let index = 0;
  return groups.map((group) =>
    group.map(() => {
      const [error, value] = replies[index++] ?? [new Error("missing pipeline reply"), null];
      return { error, value };
    }),
  );
}

async function runSequence(client: RedisClientLike, group: readonly Step[]): Promise<Settled[]> {
  const out: Settled[] = [];
  for (const step of group) {
    let settled = await settle(client.call(...commandOf(step, false)));
    if (isNoScript(settled)) settled = await settle(client.call(...commandOf(step, true)));
    out.push(settled);
  }
  return out;
}

async function settle(promise: Promise<unknown>): Promise<Settled> {
  try {
    return { error: null, value: await promise };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)), value: null };
  }
}

/**
 * Runs groups of steps in one round trip where the client allows. Steps of a group run in order
 * (a group is "write, then index it"); groups are independent except that groups with the same
 * lane (a job id) run in request order.
 *
 * On a single Redis node everything goes into one pipeline; a group that met NOSCRIPT (script
 * cache flushed, server restarted) is sent again whole with EVAL. On a Cluster, groups of
 * different lanes run concurrently and each group's steps one after another.
 */
export async function runGroups(
  client: RedisClientLike,
  groups: readonly (readonly Step[])[],
  lanes?: readonly string[],
): Promise<Settled[][]> {
  if (groups.length === 0) return [];
  if (client.isCluster) return runOnCluster(client, groups, lanes);
  const settled = await runPipeline(client, groups, false);
  const again = settled.flatMap((group, i) => (group.some(isNoScript) ? [i] : []));
  if (again.length > 0) {
    const retried = await runPipeline(
      client,
      again.map((i) => groups[i] as readonly Step[]),
      true,
    );
    again.forEach((groupIndex, j) => (settled[groupIndex] = retried[j] as Settled[]));
  }
  return settled;
}

async function runOnCluster(
  client: RedisClientLike,
  groups: readonly (readonly Step[])[],
  lanes?: readonly string[],
): Promise<Settled[][]> {
  const out: Settled[][] = new Array<Settled[]>(groups.length);
  const byLane = new Map<string, number[]>();
  groups.forEach((_, i) => {
    const lane = lanes?.[i] ?? `#${i}`;
    byLane.set(lane, [...(byLane.get(lane) ?? []), i]);
  });
  await Promise.all(
    [...byLane.values()].map(async (indexes) => {
      for (const i of indexes) out[i] = await runSequence(client, groups[i] as readonly Step[]);
    }),
  );
  return out;
}

/** The value of a settled step, or its error thrown. */
export function settledValue(settled: Settled | undefined): unknown {
  if (!settled) throw new Error("missing reply");
  if (settled.error) throw settled.error;
  return settled.value;
}

/** Runs one group of steps in order and returns each step's value, throwing the first error. */
export async function runSteps(client: RedisClientLike, steps: Step[]): Promise<unknown[]> {
  const [settled = []] = await runGroups(client, [steps]);
  return settled.map(settledValue);
}

/** A reply value as a string (Lua strings, integers and buffers). */
export function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  throw new Error(`unexpected Redis reply ${JSON.stringify(value)}`);
}

/** A reply value that must be an array. */
export function list(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  throw new Error(`unexpected Redis reply ${JSON.stringify(value)} (expected an array)`);
}

/**
 * A hash reply as a record: a flat `[field, value, …]` array (RESP2, Lua, RESP3 "legacy"
 * mapping) or an object (ioredis's HGETALL transform, RESP3 "resp3" mapping).
 */
export function record(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) out[text(value[i])] = text(value[i + 1]);
  } else if (value instanceof Map) {
    for (const [k, v] of value) out[text(k)] = text(v);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out[k] = text(v);
  }
  return out;
}

/**
 * Turns a driver or script error into a `BelfryError`: `CORRUPT_ROW` for a value a script
 * refused to read, `STORE_ERROR` (with the original as `cause`) for anything else.
 */
export function toStoreError(op: string, error: unknown): BelfryError {
  if (error instanceof BelfryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const corrupt = /BELFRY_CORRUPT\|([^|]*)\|([^|]*)\|(.*)\|/s.exec(message);
  if (corrupt) {
    return new BelfryError(
      "CORRUPT_ROW",
      `RedisStore key ${corrupt[1]}: column ${corrupt[2]} has invalid value ${JSON.stringify(corrupt[3])}`,
      { cause: error },
    );
  }
  return wrapError("STORE_ERROR", `RedisStore.${op}`, error);
}

/** Where the store's client comes from (options already checked). */
export interface ConnectionSource {
  /** `redis://…` or `rediss://…`, used when no client is given. */
  readonly url: string;
  readonly client?: RedisClientLike;
  /** Named `belfry:<keyPrefix>` in `CLIENT LIST`. */
  readonly name: string;
  readonly connectTimeoutMs: number;
}

/**
 * The store's client: the caller's (never closed by the store) or its own, which connects in
 * {@link RedisConnection.connect}, fails a command after one reconnect attempt (so a call errors
 * instead of hanging while Redis is away) and reconnects by itself; its `error` events are kept
 * for the next connect error message, never left unhandled.
 */
export class RedisConnection {
  readonly client: RedisClientLike;
  /** `host:port` for messages (never the credentials). */
  private readonly address: string;
  private readonly owned: Redis | null;
  /** The database number of the URL (the own client only). */
  private readonly database: number;
  private lastError: Error | null = null;

  constructor(source: ConnectionSource) {
    this.address = source.client ? "the given client" : redisAddress(source.url);
    this.database = source.client ? 0 : redisDatabase(source.url);
    this.owned = source.client ? null : this.open(source);
    this.client = source.client ?? (this.owned as Redis);
  }

  private open(source: ConnectionSource): Redis {
    const own = new Redis(source.url, {
      lazyConnect: true,
      connectTimeout: source.connectTimeoutMs,
      maxRetriesPerRequest: 1,
      connectionName: source.name,
    });
    own.on("error", (error: Error) => (this.lastError = error));
    return own;
  }

  /** Connects the own client if needed and pings. @throws BelfryError `STORE_CONNECT`. */
  async connect(): Promise<void> {
    this.lastError = null;
    try {
      if (this.owned && ["wait", "end", "close"].includes(this.owned.status)) {
        await this.owned.connect();
      }
      await this.client.call("ping");
    } catch (error) {
      this.owned?.disconnect();
      // The socket error (ECONNREFUSED …) arrives as an 'error' event, not as the rejection.
      const event = this.lastError as Error | null;
      const detail = event?.message ?? (error instanceof Error ? error.message : error);
      throw new BelfryError(
        "STORE_CONNECT",
        `RedisStore: cannot connect to Redis at ${this.address}: ${String(detail)}`,
        { cause: error },
      );
    }
    if (this.database !== 0) await this.selectDatabase();
  }

  /**
   * Selects the URL's database again, now awaited: ioredis's own `SELECT` at connect only
   * emits an `error` event when the server lacks it, and then carries on in database 0.
   * @throws BelfryError `INVALID_STORE_URL` when the server has no such database.
   */
  private async selectDatabase(): Promise<void> {
    try {
      await this.client.call("select", this.database);
    } catch (error) {
      this.owned?.disconnect();
      const detail = error instanceof Error ? error.message : String(error);
      throw new BelfryError(
        "INVALID_STORE_URL",
        `RedisStore: Redis at ${this.address} has no database ${this.database} (${detail}); \`CONFIG GET databases\` shows how many it has`,
        { cause: error },
      );
    }
  }

  /** Closes the own client (a given client stays open). */
  async close(): Promise<void> {
    const own = this.owned;
    if (!own) return;
    if (own.status === "ready") await own.quit().catch(() => own.disconnect());
    else own.disconnect();
  }
}

/**
 * `host:port` of a `redis://` or `rediss://` URL, for error messages (never the credentials).
 * @throws BelfryError `INVALID_STORE_URL` for anything else.
 */
function redisAddress(url: string): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (!parsed || (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")) {
    const shown = parsed ? `a ${parsed.protocol} URL` : "not a URL";
    throw new BelfryError(
      "INVALID_STORE_URL",
      `RedisStore: url must look like redis://host:6379 or rediss://host:6380, got ${shown}`,
    );
  }
  return `${parsed.hostname || "127.0.0.1"}:${parsed.port || "6379"}`;
}
