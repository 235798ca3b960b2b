import { InvalidArgumentError } from "commander";
import { Temporal } from "temporal-polyfill";
import { toPositiveMs, type Duration } from "../duration.js";
import { isBelfryError } from "../errors.js";
import { ACTIVE_STATES, TERMINAL_STATES, type RunState } from "../protocol/vocabulary.js";

/**
 * An instant given on the command line: absolute, or a duration back from the store's now.
 * Resolved once the store is open, so that "24h" means 24 hours of store time.
 */
export type WhenArg = { readonly at: number } | { readonly ago: number };

const RUN_STATES: readonly RunState[] = [...ACTIVE_STATES, "queued", ...TERMINAL_STATES];

/** Parses a whole number ≥ 1 (commander option parser). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number ≥ 1");
  return n;
}

/**
 * Parses `--since`/`--until`/`--before`: an ISO 8601 instant (`2026-01-01T03:00:00Z`), a date
 * (`2026-01-01`, midnight UTC) or a duration back from now (`90m`, `24h`, `7d`).
 */
export function whenArg(value: string): WhenArg {
  const text = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return { at: Date.parse(`${text}T00:00:00Z`) };
  try {
    return { at: Temporal.Instant.from(text).epochMilliseconds };
  } catch {
    // not an instant: try a duration
  }
  try {
    return { ago: toPositiveMs(text as Duration, "time") };
  } catch (error) {
    if (!isBelfryError(error)) throw error;
    throw new InvalidArgumentError(
      `${JSON.stringify(value)} is neither an instant (2026-01-01T03:00:00Z, 2026-01-01) nor a duration back from now (90m, 24h, 7d)`,
    );
  }
}

/** The epoch ms of a {@link WhenArg} given the store's now. */
export function resolveWhen(when: WhenArg, now: number): number {
  return "at" in when ? when.at : now - when.ago;
}

/** Parses a comma-separated list of run states (`--state failed,abandoned`). */
export function statesArg(value: string): RunState[] {
  const states = value.split(",").map((state) => state.trim());
  const unknown = states.filter((state) => !RUN_STATES.includes(state as RunState));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown state ${unknown.map((s) => JSON.stringify(s)).join(", ")}; use ${RUN_STATES.join(", ")}`,
    );
  }
  return states as RunState[];
}
