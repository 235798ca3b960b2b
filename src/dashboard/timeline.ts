import type { RunRecord, RunState } from "../stores/store.js";
import { iso } from "./format.js";
import { html, type Html } from "./html.js";

/** Colour of each run state, shared by the chart, its legend and the tables' state badges. */
export const STATE_COLOURS: Readonly<Record<RunState, string>> = {
  succeeded: "#2e7d32",
  failed: "#c62828",
  abandoned: "#6a1b9a",
  missed: "#ef6c00",
  skipped: "#9e9e9e",
  queued: "#0277bd",
  claimed: "#0288d1",
  running: "#00838f",
};

const WIDTH = 960;
const LABEL = 170;
const ROW = 26;
const BAR = 16;
const AXIS = 22;
const MIN_BAR = 3;

/**
 * A job's runs as an inline SVG: x is time (from each run's start, or its scheduled instant, to
 * its end, or `now` while active), y is the replica that ran it (`missed` rows have none), colour
 * is the outcome. Each bar carries a `<title>` for hover details. Drawn on the server, so the page
 * needs no script to show it.
 */
export function timeline(jobId: string, runs: readonly RunRecord[], now: number): Html {
  if (runs.length === 0) return html``;
  const spans = runs.map((run) => {
    const from = run.startedAt ?? run.claimedAt ?? run.scheduledAt;
    return { run, from, to: Math.max(from, run.finishedAt ?? (isActive(run) ? now : from)) };
  });
  const start = Math.min(...spans.map((s) => s.from));
  const end = Math.max(start + 1, ...spans.map((s) => s.to));
  const replicas = [...new Set(runs.map(replicaOf))].sort();
  const x = (t: number): number => LABEL + ((t - start) / (end - start)) * (WIDTH - LABEL - 10);
  const height = replicas.length * ROW + AXIS;
  const rows = replicas.map(
    (replica, i) =>
      html`<text x="${LABEL - 8}" y="${i * ROW + ROW / 2 + 4}" text-anchor="end"
          >${shorten(replica)}</text
        >
        <line
          x1="${LABEL}"
          x2="${WIDTH - 10}"
          y1="${(i + 1) * ROW}"
          y2="${(i + 1) * ROW}"
          class="grid"
        />`,
  );
  const bars = spans.map(({ run, from, to }) => {
    const y = replicas.indexOf(replicaOf(run)) * ROW + (ROW - BAR) / 2;
    const width = Math.max(MIN_BAR, x(to) - x(from));
    const tip = `${run.state} · ${iso(run.scheduledAt)} · attempt ${run.attempt}${run.error ? ` · ${run.error}` : ""}`;
    return html`<rect
      x="${x(from).toFixed(1)}"
      y="${y}"
      width="${width.toFixed(1)}"
      height="${BAR}"
      rx="2"
      fill="${STATE_COLOURS[run.state]}"
      ><title>${tip}</title></rect
    >`;
  });
  const axis = html`<text x="${LABEL}" y="${height - 6}">${iso(start)}</text>
    <text x="${WIDTH - 10}" y="${height - 6}" text-anchor="end">${iso(end)}</text>`;
  return html`<figure class="timeline">
    <figcaption>${jobId}: runs by replica</figcaption>
    <svg
      role="img"
      aria-label="${`timeline of ${jobId}`}"
      viewBox="0 0 ${WIDTH} ${height}"
      width="100%"
      height="${height}"
    >
      ${rows}${bars}${axis}
    </svg>
  </figure>`;
}

/** The colour legend for {@link timeline}. */
export function legend(): Html {
  const items = Object.entries(STATE_COLOURS).map(
    ([state, colour]) => html`<span><i style="background:${colour}"></i>${state}</span>`,
  );
  return html`<p class="legend">${items}</p>`;
}

function isActive(run: RunRecord): boolean {
  return run.state === "claimed" || run.state === "running";
}

function replicaOf(run: RunRecord): string {
  return run.replicaId ?? "(no replica)";
}

function shorten(text: string): string {
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}
