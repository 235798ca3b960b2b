/** An instant as `2026-01-01 03:00:00Z` (UTC, whole seconds); `—` for none. */
export function iso(at: number | null): string {
  if (at === null) return "—";
  return new Date(at)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "Z");
}

/** A span of milliseconds as `850 ms`, `12.3 s`, `4.0 min`; `—` for none. */
export function span(ms: number | null): string {
  if (ms === null) return "—";
  if (Math.abs(ms) < 1_000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** Parses a filter instant: ISO 8601 (`2026-01-01`, `2026-01-01T03:00Z`) or epoch ms. */
export function parseInstant(text: string | null): number | null | "invalid" {
  if (text === null || text.trim() === "") return null;
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Date.parse(text);
  return Number.isFinite(value) ? value : "invalid";
}
