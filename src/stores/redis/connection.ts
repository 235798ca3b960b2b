import type { LuaScript } from "./scripts.js";

/**
 * The slice of an ioredis client the Redis store uses, typed structurally so that the core never
 * imports the driver: an ioredis `Redis` (or `Cluster`) instance fits.
 */
export type RedisArg = string | number;

/** A pipeline of an ioredis-like client. */
export interface RedisPipelineLike {
  call(command: string, ...args: RedisArg[]): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** An ioredis-like client (`Redis` or `Cluster`). */
export interface RedisClientLike {
  call(command: string, ...args: RedisArg[]): Promise<unknown>;
  pipeline(): RedisPipelineLike;
  /** True on an ioredis `Cluster`: commands of different slots are then never pipelined. */
  readonly isCluster?: boolean;
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
