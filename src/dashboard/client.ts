/**
 * The dashboard's one browser module, served as is (no build step) at `assets/dashboard.js`:
 *
 * - keeps the token the user typed in `sessionStorage` (never in the page or a cookie, so a
 *   foreign page can neither read nor replay it);
 * - sends actions as `POST` with a JSON body and the token in `x-belfry-token` (a cross-site
 *   page cannot send that header without a CORS preflight, which the dashboard never allows);
 * - refreshes the page's `<main>` from the server-rendered page (after an action, and every
 *   `data-refresh` ms), so the server stays the only place that renders and escapes data.
 *
 * Kept as a string here so that `tsc` ships it in `dist/` without a copy step.
 */
export const CLIENT_MODULE = `
const base = document.body.dataset.base || "";
const status = document.getElementById("status");
const token = document.getElementById("token");
const KEY = "belfry-dashboard-token";

if (token) {
  token.value = sessionStorage.getItem(KEY) || "";
  token.addEventListener("input", () => sessionStorage.setItem(KEY, token.value));
}

function say(text, kind) {
  status.textContent = text;
  status.className = kind;
}

async function refresh() {
  const response = await fetch(location.href, { headers: { accept: "text/html" } });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.querySelector("main");
  const main = document.querySelector("main");
  const typing = main && main.contains(document.activeElement) && document.activeElement.matches("input, select");
  if (fresh && main && !typing) main.replaceWith(fresh);
}

async function act(button) {
  const { action, job } = button.dataset;
  button.disabled = true;
  try {
    const response = await fetch(base + "/api/jobs/" + encodeURIComponent(job) + "/" + action, {
      method: "POST",
      headers: { "content-type": "application/json", "x-belfry-token": token ? token.value : "" },
      body: "{}",
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) say(action + " " + job + ": done" + (body.runId ? " (run " + body.runId + ")" : ""), "done");
    else say(action + " " + job + ": refused (" + response.status + ") " + (body.error || ""), "error");
  } catch (error) {
    say(action + " " + job + ": " + error, "error");
  } finally {
    button.disabled = false;
    await refresh();
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button) act(button);
});

const every = Number(document.querySelector("main")?.dataset.refresh) || 0;
if (every > 0) setInterval(() => refresh().catch(() => {}), every);
`;
