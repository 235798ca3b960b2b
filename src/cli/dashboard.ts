import { createServer, type Server } from "node:http";
import { Command, InvalidArgumentError } from "commander";
import { createDashboard } from "../dashboard/index.js";
import { openStore, redact } from "../stores/open.js";

/** Options of `belfry dashboard`. */
export interface DashboardArgs {
  readonly store: string;
  readonly port: number;
  readonly host: string;
  /** Enables actions; from `--token` or `BELFRY_DASHBOARD_TOKEN`. Never printed. */
  readonly token?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    throw new InvalidArgumentError("must be a port number, 0-65535");
  }
  return n;
}

/**
 * Serves the dashboard for a store until SIGINT/SIGTERM. Prints the address and whether actions
 * are enabled; never the token or the store's password. Resolves with the listening server.
 */
export async function serveDashboard(args: DashboardArgs): Promise<Server> {
  const store = await openStore(args.store);
  await store.init();
  const token = args.token === "" ? undefined : args.token;
  const server = createServer(createDashboard({ store, token }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(args.port, args.host, resolve);
  });
  const address = server.address();
  const shown = typeof address === "object" && address ? address.port : args.port;
  const host = args.host.includes(":") ? `[${args.host}]` : args.host;
  process.stdout.write(
    `belfry dashboard: http://${host}:${shown}/  store ${redact(args.store)}  ${token ? "actions enabled (token set)" : "read-only (no token)"}\n`,
  );
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void store.close();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return server;
}

/** `belfry dashboard --store <url> [--port 8080] [--host 127.0.0.1] [--token <t>]`. */
export function dashboardCommand(): Command {
  return new Command("dashboard")
    .description("serve the dashboard of a store (jobs, history, replicas, warnings, audit)")
    .requiredOption("--store <url>", "store URL")
    .option("--port <port>", "port to listen on (0: any free port)", port, 8080)
    .option("--host <host>", "address to bind (keep 127.0.0.1 unless behind a proxy)", "127.0.0.1")
    .option(
      "--token <token>",
      "enable pause/resume with this token (prefer env BELFRY_DASHBOARD_TOKEN: arguments show in ps)",
    )
    .action(async (opts: { store: string; port: number; host: string; token?: string }) => {
      await serveDashboard({ ...opts, token: opts.token ?? process.env.BELFRY_DASHBOARD_TOKEN });
    });
}
