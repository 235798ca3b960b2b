import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep, systemClock } from "../src/clock.js";

/** The store kinds a chaos run can start privately. */
export type StoreKind = "postgres" | "mysql" | "redis" | "sqlite";

/** A store this process started for itself, on its own port and folder (never a shared one). */
export interface PrivateServer {
  readonly kind: StoreKind;
  /** The store URL (for SQLite, the file). */
  readonly url: string;
  /** Whether it is a server that can be restarted and killed (not SQLite). */
  readonly hasServer: boolean;
  /** Graceful stop (PostgreSQL fast shutdown, SIGTERM for MariaDB and Redis), down `downMs`, start. */
  restart(downMs: number): Promise<void>;
  /** kill -9 of the server process, down `downMs`, start. */
  kill9(downMs: number): Promise<void>;
  /** Stops it for good and removes its folder, unless `keep` (evidence of a failed run). */
  destroy(keep?: boolean): Promise<void>;
  /** Its data folder (and log). */
  readonly folder: string;
}

/** How one kind of server is started, stopped and killed. */
interface ServerControl {
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** A free loopback port, as the kernel hands it out. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function run(command: string, args: readonly string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8" });
  return { ok: result.status === 0, output: `${result.stderr}${result.stdout}` };
}

function mustRun(command: string, args: readonly string[]): void {
  const { ok, output } = run(command, args);
  if (!ok) throw new Error(`${command} ${args.join(" ")} failed: ${output}`);
}

/** Tries `attempt` every 200 ms until it returns true, for at most `timeoutMs`. */
async function retry(name: string, attempt: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = systemClock.now() + timeoutMs;
  while (!attempt()) {
    if (systemClock.now() > deadline) throw new Error(`${name}: not done in ${timeoutMs} ms`);
    await sleep(systemClock, 200);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

function privateServer(
  kind: StoreKind,
  url: string,
  folder: string,
  control: ServerControl,
): PrivateServer {
  return {
    kind,
    url,
    hasServer: true,
    restart: async (downMs) => {
      await control.stop();
      await sleep(systemClock, downMs);
      await control.start();
    },
    kill9: async (downMs) => {
      await control.kill();
      await sleep(systemClock, downMs);
      await control.start();
    },
    folder,
    destroy: async (keep = false) => {
      await control.stop();
      if (!keep) rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** A server that runs as a child process of this one (MariaDB, Redis). */
function childControl(
  launch: () => ChildProcess,
  ready: () => boolean,
  name: string,
): ServerControl {
  let child: ChildProcess | undefined;
  const signal = async (sig: NodeJS.Signals) => {
    if (!child) return;
    child.kill(sig);
    await exitOf(child);
    child = undefined;
  };
  return {
    start: async () => {
      child = launch();
      await retry(`${name} start`, ready);
    },
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
  };
}

function postgresBin(): string {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error("no PostgreSQL under /usr/lib/postgresql");
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/**
 * A private PostgreSQL cluster (initdb, pg_ctl) in a temp folder on a free port. As root it runs
 * as the `postgres` OS user: initdb and postgres refuse root.
 */
async function startPostgres(): Promise<PrivateServer> {
  const bin = postgresBin();
  const folder = mkdtempSync(join(tmpdir(), "belfry-chaos-pg-"));
  const asPostgres = (command: string, args: readonly string[]) =>
    process.getuid?.() === 0
      ? run("runuser", ["-u", "postgres", "--", command, ...args])
      : run(command, args);
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(run("id", [flag, "postgres"]).output.trim());
    chownSync(folder, id("-u"), id("-g"));
  }
  const data = join(folder, "data");
  const init = asPostgres(`${bin}/initdb`, ["-D", data, "-U", "postgres", "--auth=trust"]);
  if (!init.ok) throw new Error(`initdb failed: ${init.output}`);
  const port = await freePort();
  const options = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const pgCtl = (...args: string[]) => asPostgres(`${bin}/pg_ctl`, ["-D", data, ...args]);
  const postmaster = () =>
    Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  const control: ServerControl = {
    // A start right after kill -9 fails while orphaned backends still hold shared memory.
    start: () =>
      retry(
        "postgres start",
        () => pgCtl("start", "-w", "-l", join(folder, "log"), "-o", options).ok,
      ),
    stop: async () => {
      pgCtl("stop", "-w", "-m", "fast");
    },
    kill: async () => {
      const pid = postmaster();
      process.kill(pid, "SIGKILL");
      await retry("postgres exit", () => !alive(pid));
    },
  };
  await control.start();
  return privateServer(
    "postgres",
    `postgres://postgres@127.0.0.1:${port}/postgres`,
    folder,
    control,
  );
}

/** A private MariaDB (mariadb-install-db, mariadbd) in a temp folder on a free port. */
async function startMariadb(): Promise<PrivateServer> {
  const folder = mkdtempSync(join(tmpdir(), "belfry-chaos-mariadb-"));
  const data = join(folder, "data");
  mustRun("mariadb-install-db", [
    "--no-defaults",
    `--datadir=${data}`,
    "--user=root",
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ]);
  const port = await freePort();
  const socket = join(folder, "mariadb.sock");
  const launch = () =>
    spawn(
      "mariadbd",
      [
        "--no-defaults",
        `--datadir=${data}`,
        `--port=${port}`,
        `--socket=${socket}`,
        `--pid-file=${join(folder, "mariadb.pid")}`,
        "--bind-address=127.0.0.1",
        "--user=root",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=64M",
        "--max-connections=300",
      ],
      { stdio: "ignore" },
    );
  const client = (...args: string[]) =>
    run("mariadb", ["--no-defaults", `--socket=${socket}`, "-uroot", ...args]);
  const control = childControl(launch, () => client("-e", "SELECT 1").ok, "mariadb");
  await control.start();
  mustRun("mariadb", [
    "--no-defaults",
    `--socket=${socket}`,
    "-uroot",
    "-e",
    "CREATE DATABASE chaos",
  ]);
  return privateServer("mysql", `mysql://root@127.0.0.1:${port}/chaos`, folder, control);
}

/** A private Redis with AOF persistence (`appendonly yes`) in a temp folder on a free port. */
async function startRedis(): Promise<PrivateServer> {
  const folder = mkdtempSync(join(tmpdir(), "belfry-chaos-redis-"));
  const port = await freePort();
  const launch = () =>
    spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--appendonly",
        "yes",
        "--save",
        "",
        "--dir",
        folder,
        "--maxmemory-policy",
        "noeviction",
        "--logfile",
        join(folder, "redis.log"),
      ],
      { stdio: "ignore" },
    );
  const ready = () => run("redis-cli", ["-p", String(port), "ping"]).output.trim() === "PONG";
  const control = childControl(launch, ready, "redis");
  await control.start();
  return privateServer("redis", `redis://127.0.0.1:${port}/0`, folder, control);
}

/** A SQLite file in a temp folder: no server, so no server faults. */
function sqliteFile(): PrivateServer {
  const folder = mkdtempSync(join(tmpdir(), "belfry-chaos-sqlite-"));
  const noServer = () => Promise.reject(new Error("SQLite has no server"));
  return {
    kind: "sqlite",
    url: `sqlite:${join(folder, "chaos.db")}`,
    hasServer: false,
    restart: noServer,
    kill9: noServer,
    folder,
    destroy: async (keep = false) => {
      if (!keep) rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Starts a private server of `kind` (a temp file for SQLite). */
export function startPrivateServer(kind: StoreKind): Promise<PrivateServer> {
  switch (kind) {
    case "postgres":
      return startPostgres();
    case "mysql":
      return startMariadb();
    case "redis":
      return startRedis();
    case "sqlite":
      return Promise.resolve(sqliteFile());
  }
}
