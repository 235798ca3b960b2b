// The dashboard mounted under /belfry in an existing node:http app, next to the app's own routes.
// Express and Fastify mount the same handler (docs/dashboard.md).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createDashboard } from "../src/dashboard/index.js";
import { cron, MemoryStore, Scheduler } from "../src/index.js";

export async function main(): Promise<{ url: string; stop: () => Promise<void> }> {
  const store = new MemoryStore();
  const scheduler = new Scheduler({ store });
  scheduler.job("nightly-report", cron("0 3 * * *", { timezone: "Europe/Berlin" }), async () => {});
  await scheduler.start();

  const dashboard = createDashboard({
    scheduler,
    store, // the same store: reads go to it directly and the audit page works
    basePath: "/belfry",
    token: process.env.BELFRY_DASHBOARD_TOKEN, // unset: read-only
  });
  const server: Server = createServer((req, res) => {
    if (req.url === "/" || req.url?.startsWith("/api/orders")) {
      res.end("the app's own routes");
      return;
    }
    // Unknown paths fall through to `next` (here: the app's 404).
    dashboard(req, res, () => {
      res.statusCode = 404;
      res.end("not found");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/belfry/`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await scheduler.stop();
    },
  };
}
