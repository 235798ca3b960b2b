import { BelfryError } from "./errors.js";

/** A duration: milliseconds, or a string such as `"250ms"`, `"90s"`, `"5m"`, `"1h30m"`, `"2d"`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Converts a {@link Duration} to whole milliseconds. `where` names the caller in the error
 * message (`every("5x")` → `every: "5x" is not a duration …`).
 */
export function toMs(value: Duration, where: string): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new BelfryError("INVALID_INTERVAL", `${where}: ${value} is not a finite duration`);
    }
    return Math.round(value);
  }
  const text = value.trim();
  let total = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    consumed = PART.lastIndex;
  }
  if (text === "" || consumed !== text.length) {
    throw new BelfryError(
      "INVALID_INTERVAL",
      `${where}: ${JSON.stringify(value)} is not a duration; use milliseconds or a string such as "250ms", "90s", "5m", "1h30m", "2d"`,
    );
  }
  return Math.round(total);
}

/** Like {@link toMs} but also requires the result to be greater than zero. */
export function toPositiveMs(value: Duration, where: string): number {
  const ms = toMs(value, where);
  if (ms <= 0) {
    throw new BelfryError(
      "INVALID_INTERVAL",
      `${where}: duration must be greater than 0, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}
