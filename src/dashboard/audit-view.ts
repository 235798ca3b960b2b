import type { Store } from "../stores/store.js";
import { html, type Html } from "./html.js";

/**
 * The audit page's body: the latest audit of the store. The audit itself (`auditStore` in
 * `src/observe/audit.ts`) is not in this branch yet; until it is, the page says so.
 */
export async function auditView(store: Store | null, _now: number): Promise<Html> {
  if (!store) {
    return html`<p class="muted">
      The audit reads the store: mount the dashboard with <code>{ scheduler, store }</code>.
    </p>`;
  }
  return html`<p class="muted">The audit is not available in this build yet.</p>`;
}
