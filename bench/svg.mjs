// The burst plot: per system, the cumulative share of a burst's occurrences started against the
// time after the instant, one panel per burst size. Plain SVG, no dependency.
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];
const W = 640;
const H = 260;
const PAD = { left: 56, right: 170, top: 28, bottom: 36 };

const esc = (text) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** One panel: the curves of `rows` (summaries of one size), offset `y0` pixels down. */
function panel(rows, n, y0) {
  const curves = rows.filter((r) => r.typical?.curve?.length);
  const maxMs = Math.max(1, ...curves.map((r) => r.typical.curve.at(-1)));
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const x = (ms) => PAD.left + (Math.max(0, ms) / maxMs) * pw;
  const y = (share) => y0 + PAD.top + (1 - share) * ph;
  const parts = [
    `<text x="${PAD.left}" y="${y0 + 18}" font-weight="bold">${esc(`${n.toLocaleString("en")} jobs due at one instant, 3 replicas`)}</text>`,
    `<rect x="${PAD.left}" y="${y(1)}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const ms = (maxMs * i) / 4;
    parts.push(`<text x="${x(ms)}" y="${y(0) + 16}" text-anchor="middle">${Math.round(ms)}</text>`);
    parts.push(`<text x="${PAD.left - 6}" y="${y(i / 4) + 4}" text-anchor="end">${i * 25}%</text>`);
  }
  parts.push(
    `<text x="${PAD.left + pw / 2}" y="${y(0) + 32}" text-anchor="middle">ms after the instant (median run)</text>`,
  );
  curves.forEach((r, i) => {
    const c = r.typical.curve;
    const points = c.map((ms, k) => `${x(ms).toFixed(1)},${y((k + 1) / c.length).toFixed(1)}`);
    const color = COLORS[i % COLORS.length];
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${x(c[0]).toFixed(1)},${y(0)} ${points.join(" ")}"/>`,
    );
    const label = `${r.system}: last ${Math.round(c.at(-1))} ms`;
    parts.push(
      `<text x="${W - PAD.right + 8}" y="${y0 + PAD.top + 14 + i * 16}" fill="${color}">${esc(label)}</text>`,
    );
  });
  return parts.join("\n");
}

/** The SVG document for the burst summaries (one panel per size). */
export function burstSvg(rows) {
  const sizes = [...new Set(rows.map((r) => r.n))];
  const body = sizes
    .map((n, i) =>
      panel(
        rows.filter((r) => r.n === n),
        n,
        i * H,
      ),
    )
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * sizes.length}" font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
