// Formatting shared by the burst, lag, idle and math benchmarks: numbers, Markdown tables, logs.
import { round } from "./lib.mjs";

/** `x` rounded for a table cell, or "–" when it is not a number. */
export const fmt = (x, digits = 2) => (Number.isFinite(x) ? String(round(x, digits)) : "–");

/** `a ÷ b` as "1.5×", or "–". */
export const ratio = (a, b) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${fmt(a / b, 1)}×` : "–";

/** A `{ min, med }` pair as "min / median". */
export const cell = ({ min, med }, digits = 0) => `${fmt(min, digits)} / ${fmt(med, digits)}`;

/** The median of `values` (mean of the middle two when even); NaN when empty. */
export function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A Markdown table as lines, followed by an empty line. */
export function markdownTable(head, rows) {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
  ];
}

/** A progress line on stderr (stdout carries the tables). */
export function log(part, text) {
  process.stderr.write(`[${part}] ${new Date().toISOString()} ${text}\n`);
}
