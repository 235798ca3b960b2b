import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { BelfryError } from "../errors.js";
import type { Scheduler } from "../scheduler.js";
import type { Store } from "../stores/store.js";
import { redactUrlsIn } from "../stores/shared/url.js";
import { runAction, type Action, type ActionReply } from "./actions.js";
import { CLIENT_MODULE } from "./client.js";
import { escapeHtml } from "./html.js";
import { schedulerSource, storeSource } from "./source.js";
import { isPage, renderPage, type ViewContext } from "./views.js";

export { TOKEN_HEADER } from "./actions.js";
export type { DashboardHealth } from "./source.js";

/** Options of {@link createDashboard}: a `store`, a running `scheduler`, or both. */
export interface DashboardOptions {
  /** Any store, read directly; pause and resume go through `store.setPaused`. */
  readonly store?: Store;
  /**
   * A running scheduler: trigger runs through `scheduler.runNow(jobId)`. Without `store`,
   * reads go through the scheduler's public API (the audit page then needs `store` too).
   */
  readonly scheduler?: Scheduler;
  /**
   * Enables pause, resume and trigger. Every action request must send it back in the
   * `x-belfry-token` header (compared in constant time). Without it the dashboard is read-only.
   */
  readonly token?: string;
  /** The path prefix the dashboard is mounted under, e.g. `/belfry` (default: none). */
  readonly basePath?: string;
}

/**
 * A `node:http` request handler. The optional `next` (Express style) is called for paths that
 * are not the dashboard's, instead of answering 404.
 */
export type DashboardHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

const optionsSchema = z
  .strictObject({
    store: z.custom<Store>(isStoreLike, { message: "must be a belfry Store" }).optional(),
    scheduler: z
      .custom<Scheduler>((v) => typeof (v as Scheduler | null)?.runNow === "function", {
        message: "must be a belfry Scheduler",
      })
      .optional(),
    token: z.string().min(8, { message: "must be at least 8 characters" }).optional(),
    basePath: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)*$/, { message: 'must look like "/belfry" (no trailing /)' })
      .optional(),
  })
  .refine((o) => o.store !== undefined || o.scheduler !== undefined, {
    message: "give a store or a scheduler",
  });

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/**
 * The dashboard as a `node:http` handler to mount in an existing server: jobs (schedule in
 * words, next runs, last run, paused), run history with filters and a timeline of runs by
 * replica per job, replicas, warnings, the latest audit, and `/health` as JSON. Pages are
 * rendered on the server with every value escaped; one small module refreshes them and sends
 * the actions. Actions (pause, resume, trigger) need `token`; see {@link DashboardOptions}.
 *
 * @throws BelfryError `INVALID_OPTION` naming the option that is wrong.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { createDashboard } from "belfry/dashboard";
 * const handler = createDashboard({ scheduler, token: process.env.BELFRY_DASHBOARD_TOKEN });
 * createServer(handler).listen(8080, "127.0.0.1");
 * ```
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `{ ${issue.path.join(".")} }` : "options";
    throw new BelfryError(
      "INVALID_OPTION",
      `createDashboard(${where}): ${issue?.message ?? "invalid options"}`,
    );
  }
  const { store, scheduler, token, basePath = "" } = options;
  const source = scheduler
    ? schedulerSource(scheduler, store ?? null)
    : storeSource(store as Store);
  const context: ViewContext = {
    source,
    shell: { basePath, actions: token !== undefined, storeKind: store?.kind ?? "scheduler" },
  };
  return (req, res, next) => {
    handle(req, res, context, token).then(
      (handled) => {
        if (!handled) (next ?? (() => send(res, 404, "text/plain", "not found")))();
      },
      (error: unknown) => fail(res, error),
    );
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  context: ViewContext,
  token: string | undefined,
): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://dashboard.invalid");
  const { basePath } = context.shell;
  const path = stripBase(url.pathname, basePath);
  const action = /^\/api\/jobs\/([^/]+)\/(pause|resume|trigger)$/.exec(path);
  if (action) {
    if (req.method !== "POST") return methodNotAllowed(res, "POST");
    const jobId = decodePart(action[1] as string);
    if (jobId === null)
      return sendJson(res, { status: 400, body: { ok: false, error: "bad job id" } });
    const reply = await runAction(req, action[2] as Action, jobId, context.source, token);
    return sendJson(res, reply);
  }
  const known = isPage(path) || path === "/health" || path === "/assets/dashboard.js";
  if (!known) return false;
  if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res, "GET, HEAD");
  if (path === "/health") {
    const health = await context.source.health();
    return sendJson(res, { status: health.ok ? 200 : 503, body: health });
  }
  if (path === "/assets/dashboard.js") return send(res, 200, "text/javascript", CLIENT_MODULE);
  if (!isPage(path)) return false;
  const page = await renderPage(path, url.searchParams, context);
  return send(res, 200, "text/html; charset=utf-8", page.value);
}

/** `/belfry/history` → `/history` when mounted at `/belfry`; Express strips it itself. */
function stripBase(pathname: string, basePath: string): string {
  if (basePath === "" || !pathname.startsWith(basePath)) return pathname;
  const rest = pathname.slice(basePath.length);
  if (rest === "") return "/";
  return rest.startsWith("/") ? rest : pathname;
}

function send(res: ServerResponse, status: number, type: string, body: string): true {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type });
  res.end(res.req?.method === "HEAD" ? undefined : body);
  return true;
}

function sendJson(res: ServerResponse, reply: ActionReply): true {
  return send(res, reply.status, "application/json", JSON.stringify(reply.body));
}

function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader("allow", allow);
  return sendJson(res, { status: 405, body: { ok: false, error: `use ${allow}` } });
}

function fail(res: ServerResponse, error: unknown): void {
  const message = redactUrlsIn(error instanceof Error ? error.message : String(error));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(
    res,
    500,
    "text/html; charset=utf-8",
    `<h1>belfry dashboard</h1><pre>${escapeHtml(message)}</pre>`,
  );
}

function decodePart(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

function isStoreLike(value: unknown): boolean {
  const store = value as Partial<Store> | null;
  return typeof store?.listJobs === "function" && typeof store.history === "function";
}
