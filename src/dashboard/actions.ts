import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isBelfryError } from "../errors.js";
import type { DashboardSource } from "./source.js";

/** The header an action request carries the token in. */
export const TOKEN_HEADER = "x-belfry-token";

/** The actions the dashboard offers. */
export type Action = "pause" | "resume" | "trigger";

/** An action's HTTP answer: status and JSON body. */
export interface ActionReply {
  readonly status: number;
  readonly body: object;
}

const MAX_BODY_BYTES = 4_096;

/**
 * True when `given` equals `expected`, compared in constant time (both hashed first, so neither
 * their content nor their length leaks through timing).
 */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined || given === "") return false;
  const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/**
 * Checks and runs one action. Refused with 403 when no token was configured or the request's
 * `x-belfry-token` does not match; 415 unless the request says `Content-Type: application/json`
 * (a form on a foreign page cannot send that, nor the header, without a CORS preflight the
 * dashboard never answers); 404 for an unknown job; 409 for `trigger` without a scheduler.
 */
export async function runAction(
  req: IncomingMessage,
  action: Action,
  jobId: string,
  source: DashboardSource,
  token: string | undefined,
): Promise<ActionReply> {
  if (token === undefined) {
    return refuse(403, "actions are disabled: start the dashboard with a token to enable them");
  }
  const given = req.headers[TOKEN_HEADER];
  if (!tokenMatches(token, typeof given === "string" ? given : undefined)) {
    return refuse(403, `missing or wrong ${TOKEN_HEADER} header`);
  }
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") return refuse(415, "send Content-Type: application/json");
  if (!(await bodyWithin(req, MAX_BODY_BYTES))) return refuse(413, "request body too large");
  if (action === "trigger") {
    if (!source.canTrigger) {
      return refuse(
        409,
        "trigger needs a running scheduler (mount the dashboard with { scheduler })",
      );
    }
    try {
      return { status: 200, body: { ok: true, action, jobId, runId: await source.trigger(jobId) } };
    } catch (error) {
      if (isBelfryError(error, "UNKNOWN_JOB")) return refuse(404, error.message);
      throw error;
    }
  }
  const found = await source.setPaused(jobId, action === "pause");
  return found
    ? { status: 200, body: { ok: true, action, jobId } }
    : refuse(404, `unknown job ${JSON.stringify(jobId)}`);
}

function refuse(status: number, error: string): ActionReply {
  return { status, body: { ok: false, error } };
}

/** Reads (and discards) the body; false when it is longer than `limit` bytes. */
async function bodyWithin(req: IncomingMessage, limit: number): Promise<boolean> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return false;
  }
  return true;
}
