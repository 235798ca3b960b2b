import fc from "fast-check";
import { BelfryError } from "../../src/index.js";
import type { Schedule, ScheduleContext } from "../../src/schedules/schedule.js";

/**
 * Shared pieces of the property tests: the "only BelfryErrors" check, the "a valid schedule
 * behaves" check, and generators of near-valid input. Runs are kept small (the whole property
 * suite must stay well under 30 s on a loaded 2-core machine); fast-check prints the seed and
 * the shrunk counterexample of any failure, so `fc.assert(..., { seed, path })` replays it.
 */

/**
 * Runs per property: enough to find shallow bugs, cheap enough for CI. Set
 * `BELFRY_PROPERTY_RUNS` for a deeper hunt by hand; properties with costly runs scale from it.
 */
export const RUNS = Number(process.env.BELFRY_PROPERTY_RUNS ?? 150);

/** What calling a function with arbitrary input did: a value, or a coded `BelfryError`. */
export type Outcome<T> = { readonly ok: T } | { readonly error: BelfryError };

/**
 * Calls `fn` and returns its value or its `BelfryError`; any other throw (a raw `TypeError`,
 * `RangeError`, a zod error, a string) fails the property, with the original as `cause`.
 */
export function belfryOrValue<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: fn() };
  } catch (error) {
    if (error instanceof BelfryError && typeof error.code === "string" && error.code.length > 0) {
      return { error };
    }
    const shown = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new Error(`expected a BelfryError with a code, got ${shown}`, { cause: error });
  }
}

/** The async twin of {@link belfryOrValue}. */
export async function belfryOrValueAsync<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: await fn() };
  } catch (error) {
    return belfryOrValue(() => {
      throw error;
    });
  }
}

/** Instants between 1990 and 2100, where real schedules are asked about. */
export const instantArb = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) });

/** A context with a valid zone and anchor. */
export const contextArb: fc.Arbitrary<ScheduleContext> = fc.record({
  jobId: fc.string({ minLength: 1, maxLength: 8 }),
  anchor: fc.oneof(fc.constant(0), instantArb),
  timezone: fc.constantFrom("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"),
});

/**
 * Asserts that a schedule built from arbitrary input behaves: from a few instants, `next`
 * returns null or a whole number strictly after its argument, and following it gives a strictly
 * increasing sequence. Throws (failing the property) otherwise.
 */
export function assertBehaves(
  schedule: Schedule,
  context: ScheduleContext,
  after: number,
  steps = 3,
): void {
  let at = after;
  for (let i = 0; i < steps; i++) {
    const next = belfryOrValue(() => schedule.next(at, context));
    if ("error" in next) throw new Error(`next(${at}) threw ${next.error.code}`);
    if (next.ok === null) return;
    if (!Number.isSafeInteger(next.ok) || next.ok <= at) {
      throw new Error(`next(${at}) returned ${next.ok}, not an integer after it`);
    }
    at = next.ok;
  }
}

/** Every zone this runtime knows, plus the aliases people type. */
export const ZONES: readonly string[] = [...Intl.supportedValuesOf("timeZone"), "UTC", "Etc/GMT+5"];

/** Random casing of a string (`"europe/BERLIN"`). */
export function recase(text: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((upper) =>
      [...text].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch.toLowerCase())).join(""),
    );
}

/** Characters that cron parsers and duration/time readers give meaning to, plus oddities. */
const NEAR_CHARS = [
  ..."0123456789*/,-?LW#@ :",
  "\t",
  "\n",
  "\u00a0",
  "\u0660",
  "\ufe0f",
  "MON",
  "JAN",
  "e",
  "E",
  "x",
  ".",
  "+",
  "99999999999999999999",
  "-1",
  "\u0000",
];

/** One edit of `text`: insert, delete or replace a character with one of {@link NEAR_CHARS}. */
export function mutate(text: string): fc.Arbitrary<string> {
  return fc
    .array(
      fc.tuple(
        fc.constantFrom("insert", "delete", "replace"),
        fc.nat(),
        fc.oneof(fc.constantFrom(...NEAR_CHARS), fc.string({ maxLength: 2, unit: "grapheme" })),
      ),
      { minLength: 1, maxLength: 3 },
    )
    .map((edits) => {
      let out = text;
      for (const [kind, position, piece] of edits) {
        const at = out.length === 0 ? 0 : position % (out.length + (kind === "insert" ? 1 : 0));
        if (kind === "insert") out = out.slice(0, at) + piece + out.slice(at);
        else if (kind === "delete") out = out.slice(0, at) + out.slice(at + 1);
        else out = out.slice(0, at) + piece + out.slice(at + 1);
      }
      return out;
    });
}

/** Any JSON-ish or hostile value: primitives, NaN, ±Infinity, -0, huge numbers, objects, arrays. */
export const anyValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 2, withBigInt: true, withDate: true, withNullPrototype: true }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    -1,
    2 ** 53,
    1e308,
    Number.MAX_SAFE_INTEGER,
    new Date(Number.NaN),
    "",
    " ",
    "__proto__",
    Symbol("s"),
    () => 1,
  ),
);
