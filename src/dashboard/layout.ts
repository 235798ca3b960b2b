import { html, raw, type Html } from "./html.js";

/** The pages of the dashboard, in menu order: path (under the base path) and title. */
export const PAGES = [
  ["/", "Jobs"],
  ["/history", "History"],
  ["/replicas", "Replicas"],
  ["/warnings", "Warnings"],
  ["/audit", "Audit"],
] as const;

/** Page paths. */
export type PagePath = (typeof PAGES)[number][0];

/** What every page's shell needs to know. */
export interface Shell {
  /** The prefix the dashboard is mounted under (`""` or `/belfry`). */
  readonly basePath: string;
  /** True when a token was configured: the page shows the token field and action buttons. */
  readonly actions: boolean;
  /** The store's kind, shown in the header. */
  readonly storeKind: string;
}

const STYLE = raw(`
:root { font: 14px/1.45 system-ui, sans-serif; color: #1d2329; background: #f6f7f9; }
body { margin: 0; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1f2a36; color: #fff; flex-wrap: wrap; }
header strong { font-size: 1.1rem; letter-spacing: .02em; }
header nav a { color: #cfd8e3; margin-right: 1rem; text-decoration: none; }
header nav a[aria-current] { color: #fff; border-bottom: 2px solid #7cc4ff; }
header .store { color: #9fb0c2; font-size: .85rem; }
header label { margin-left: auto; font-size: .85rem; color: #cfd8e3; }
header input { margin-left: .4rem; width: 12rem; }
#status { padding: .3rem 1.2rem; min-height: 1.2rem; font-size: .9rem; }
#status.error { background: #fdecea; color: #8a1c12; }
#status.done { background: #e8f5e9; color: #1b5e20; }
main { padding: .4rem 1.2rem 2rem; }
h1 { font-size: 1.25rem; margin: .6rem 0; }
table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px #0001; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; font-size: .85rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, monospace; font-size: .85rem; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; color: #fff; font-size: .8rem; }
.muted { color: #6b7785; }
.error-text { color: #8a1c12; white-space: pre-wrap; }
button { font: inherit; font-size: .8rem; padding: .1rem .5rem; margin-right: .3rem; cursor: pointer; }
form.filters { display: flex; gap: .8rem; flex-wrap: wrap; align-items: end; margin: .4rem 0 .8rem; }
form.filters label { display: flex; flex-direction: column; font-size: .8rem; color: #4a5561; }
figure.timeline { margin: .6rem 0 1rem; background: #fff; padding: .4rem; box-shadow: 0 1px 2px #0001; }
figure.timeline figcaption { font-weight: 600; margin-bottom: .2rem; }
figure.timeline text { font-size: 11px; fill: #4a5561; }
figure.timeline line.grid { stroke: #e4e7eb; }
.legend span { margin-right: .9rem; font-size: .8rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: middle; border-radius: 2px; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: .4rem 0 1rem; }
.cards div { background: #fff; padding: .5rem .9rem; box-shadow: 0 1px 2px #0001; min-width: 8rem; }
.cards b { display: block; font-size: 1.3rem; }
.cards .bad b { color: #c62828; }
`);

/**
 * The page shell: header with the menu and (when actions are enabled) the token field, a status
 * line the module writes to, the page's `<main>` (which the module refreshes in place) and the
 * module itself.
 */
export function layout(shell: Shell, current: PagePath, title: string, body: Html): Html {
  const nav = PAGES.map(
    ([path, name]) =>
      html`<a href="${shell.basePath + path}" ${current === path ? raw('aria-current="page"') : ""}
        >${name}</a
      >`,
  );
  const token = shell.actions
    ? html`<label
        >Token
        <input
          id="token"
          type="password"
          autocomplete="off"
          placeholder="to pause, resume, trigger"
      /></label>`
    : html`<span class="store">read-only: no token configured</span>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · belfry</title>
        <style>
          ${STYLE}
        </style>
      </head>
      <body data-base="${shell.basePath}">
        <header>
          <strong>belfry</strong>
          <nav>${nav}</nav>
          <span class="store">store: ${shell.storeKind}</span>${token}
        </header>
        <div id="status" role="status"></div>
        <main data-refresh="5000">
          <h1>${title}</h1>
          ${body}
        </main>
        <script type="module" src="${shell.basePath}/assets/dashboard.js"></script>
      </body>
    </html>`;
}
