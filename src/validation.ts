/**
 * The building blocks of belfry's options schemas (zod): strict objects whose unknown keys name
 * the nearest valid key, fields that carry their own `BelfryError` code, and the one function that
 * turns a failed parse into a `BelfryError`.
 */
import { z } from "zod";
import { readDuration } from "./duration.js";
import { BelfryError, quote, type BelfryErrorCode } from "./errors.js";
import { INSTANT_HINT, readInstant } from "./schedules/instant.js";
import { readTimezone, unknownZone } from "./schedules/schedule.js";

type Context = z.core.$RefinementCtx;

/** Adds an issue that becomes a `BelfryError` with `code`; returns `z.NEVER` for transforms. */
export function refuse(ctx: Context, code: BelfryErrorCode, message: string): never {
  ctx.addIssue({ code: "custom", message, params: { belfry: code } });
  return z.NEVER;
}

/**
 * An object schema that refuses keys it does not list, naming the nearest one:
 * `unknown option "stor"; did you mean "store"?`.
 */
export function strictOptions<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => unknownKey(key, known)).join(" ")
        : `must be an object, got ${quote(issue.input)}`,
  });
}

function unknownKey(key: string, known: readonly string[]): string {
  const nearest = nearestKey(key, known);
  const hint = nearest ? `did you mean "${nearest}"?` : `valid options: ${known.join(", ")}`;
  return `unknown option ${quote(key)}; ${hint}`;
}

/**
 * The key closest to `key` by edit distance, when it is close enough to be a typo; a key that
 * begins another (`retry` → `retries`) counts as close.
 */
export function nearestKey(key: string, known: readonly string[]): string | null {
  const typed = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const lower = candidate.toLowerCase();
    const distance = typed.length >= 3 && lower.startsWith(typed) ? 1 : editDistance(typed, lower);
    const close = distance <= Math.max(2, Math.floor(candidate.length / 2));
    if (close && distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(
        Math.min(
          (previous[j] as number) + 1,
          (row[j - 1] as number) + 1,
          (previous[j - 1] as number) + cost,
        ),
      );
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/** A {@link Duration} field read to milliseconds, at least `minMs` (`INVALID_INTERVAL`). */
export function durationField(minMs = 0) {
  return z.unknown().transform((value, ctx): number => {
    const reading = readDuration(value, minMs);
    return "ms" in reading ? reading.ms : refuse(ctx, "INVALID_INTERVAL", reading.problem);
  });
}

/** An instant field (Date, epoch ms or ISO 8601 with an offset) read to epoch ms (`INVALID_DATE`). */
export function instantField() {
  return z.unknown().transform((value, ctx): number => {
    const ms = readInstant(value);
    return (
      ms ?? refuse(ctx, "INVALID_DATE", `${quote(value)} is not a valid instant; ${INSTANT_HINT}`)
    );
  });
}

/** An IANA zone, canonicalised (`INVALID_TIMEZONE`). */
export function timezoneField() {
  return z.unknown().transform((value, ctx): string => {
    return readTimezone(value) ?? refuse(ctx, "INVALID_TIMEZONE", unknownZone(value));
  });
}

/** One of a few strings; the message lists them. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (issue) =>
      `${quote(issue.input)} is not one of ${values.map((v) => `"${v}"`).join(", ")}`,
  });
}

/** A whole number in `[min, max]`. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .unknown()
    .transform((value, ctx): number =>
      typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
        ? value
        : refuse(
            ctx,
            "INVALID_OPTION",
            `must be a whole number from ${min} to ${max}, got ${quote(value)}`,
          ),
    );
}

/** A function field (`INVALID_HANDLER`). */
export function functionField<F>() {
  return z
    .unknown()
    .transform((value, ctx): F =>
      typeof value === "function"
        ? (value as F)
        : refuse(ctx, "INVALID_HANDLER", `must be a function, got ${quote(value)}`),
    );
}

/** An object with the named methods (a store, a clock, a logger). */
export function withMethods<T>(kind: string, methods: readonly string[]) {
  return z.unknown().transform((value, ctx): T => {
    const ok =
      typeof value === "object" &&
      value !== null &&
      methods.every((m) => typeof (value as Record<string, unknown>)[m] === "function");
    return ok
      ? (value as T)
      : refuse(
          ctx,
          "INVALID_OPTION",
          `must be ${kind} (with ${methods.join(", ")}), got ${quote(value)}`,
        );
  });
}

/**
 * Parses `input` with `schema`, or throws a `BelfryError` for the first problem, named by
 * `where` and the option's path: `Scheduler({ leaseDuration }): duration must be at least 1000 ms`.
 */
export function parseOptions<T extends z.ZodType>(
  schema: T,
  input: unknown,
  where: string,
): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const [issue] = result.error.issues;
  if (!issue) throw new BelfryError("INVALID_OPTION", `${where}: invalid options`);
  const params =
    "params" in issue ? (issue.params as { belfry?: BelfryErrorCode } | undefined) : undefined;
  const code =
    params?.belfry ?? (issue.code === "unrecognized_keys" ? "UNKNOWN_OPTION" : "INVALID_OPTION");
  const path = issue.path.map(String).join(".");
  throw new BelfryError(code, `${where}: ${path ? `${path}: ` : ""}${issue.message}`);
}
