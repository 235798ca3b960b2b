import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { DashboardHandler } from "../../src/dashboard/index.js";
import { every } from "../../src/schedules/every.js";
import type { CompleteStore } from "../../src/stores/store.js";

/** A value that runs script if it ever reaches the page unescaped. */
export const XSS = "<img src=x onerror=alert(1)>";

/** Serves `handler` on 127.0.0.1 and an ephemeral port. */
export async function serve(handler: DashboardHandler) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Writes user data carrying markup into the store the way another writer could: a job whose id
 * is {@link XSS} (registered behind the scheduler's id check), a failed run whose error, replica
 * and a warning carry markup.
 */
export async function seedHostileRows(store: CompleteStore): Promise<void> {
  await store.registerJob({
    jobId: XSS,
    hash: "h1",
    definition: JSON.stringify({ schedule: every("5s").spec, timezone: "UTC" }),
    anchor: 0,
    overlap: "allow",
    onAbandoned: "retry",
    maxAttempts: 3,
    maxRuns: null,
  });
  const run = await store.claimManual(XSS, `replica-${XSS}`, 30_000);
  if (!run) throw new Error("claimManual returned null");
  await store.startRun(run.runId, run.token, 1);
  await store.finishRun(run.runId, run.token, { state: "failed", error: `Error: ${XSS}` }, 30_000);
  await store.addWarning({ replicaId: `replica-${XSS}`, kind: "clock-skew", message: XSS });
  await store.touchReplica({
    replicaId: `replica-${XSS}`,
    host: XSS,
    pid: 1,
    startedAt: await store.now(),
    clockOffsetMs: 12,
  });
}

/** POSTs an action as the page does; `token` null leaves the header out. */
export function postAction(
  url: string,
  jobId: string,
  action: string,
  token: string | null,
  contentType = "application/json",
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": contentType };
  if (token !== null) headers["x-belfry-token"] = token;
  return fetch(`${url}/api/jobs/${encodeURIComponent(jobId)}/${action}`, {
    method: "POST",
    headers,
    body: "{}",
  });
}
