// A run with a password in the store URL, on PostgreSQL, MySQL and Redis: the password must
// appear in no message, log line, inspect output, CLI output or child process argv.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { every, Scheduler, type Logger } from "../../src/index.js";
import { openStore } from "../../src/stores/open.js";
import { belfry } from "../cli/run.js";
import { dropPrefix, MYSQL, POSTGRES, REDIS } from "./servers.js";

const SECRET = `S3cretPw${randomBytes(3).toString("hex")}`;
const tag = randomBytes(4).toString("hex");
const MYSQL_USER = "belfry_secret_test";

/** `base` with user and password set (trust auth on PostgreSQL accepts any password). */
function withSecret(base: string, user: string, prefix: string): string {
  const url = new URL(base);
  url.username = user;
  url.password = SECRET;
  url.searchParams.set("prefix", prefix);
  return url.href;
}

const cases = [
  { name: "postgres", url: withSecret(POSTGRES, "postgres", `sec_${tag}_`) },
  { name: "mysql", url: withSecret(MYSQL, MYSQL_USER, `sec_${tag}_`) },
  { name: "redis", url: withSecret(REDIS, "", `sec_${tag}`) },
];

beforeAll(async () => {
  const admin = mysql.createPool({ uri: MYSQL, connectionLimit: 1 });
  for (const host of ["%", "localhost"]) {
    await admin.query(`CREATE USER IF NOT EXISTS '${MYSQL_USER}'@'${host}' IDENTIFIED BY ?`, [
      SECRET,
    ]);
    await admin.query(`ALTER USER '${MYSQL_USER}'@'${host}' IDENTIFIED BY ?`, [SECRET]);
    await admin.query(
      `GRANT ALL ON \`${new URL(MYSQL).pathname.slice(1)}\`.* TO '${MYSQL_USER}'@'${host}'`,
    );
  }
  await admin.end();
});

afterAll(async () => {
  await dropPrefix(`sec_${tag}_`);
  await dropPrefix(`sec_${tag}:`);
  const admin = mysql.createPool({ uri: MYSQL, connectionLimit: 1 });
  for (const host of ["%", "localhost"]) {
    await admin.query(`DROP USER IF EXISTS '${MYSQL_USER}'@'${host}'`);
  }
  await admin.end();
});

/** A logger that keeps every line as text. */
function captureLogger(lines: string[]): Logger {
  const keep = (level: string) => (object: object, message?: string) =>
    void lines.push(`${level} ${inspect(object, { depth: 8 })} ${message ?? ""}`);
  return { debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") };
}

/** The error `promise` rejects with, inspected whole (message, stack, causes). */
async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "",
    (error: unknown) => `${String(error)}\n${inspect(error, { depth: 8 })}`,
  );
}

/** The argv of every process whose parent is `pid`. */
function childArgv(pid: number): string[] {
  const out: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid)
        out.push(readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " "));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Runs `belfry demo` on `url`; reads its children's argv once both replicas are ready. */
function demo(url: string): Promise<{ output: string; argv: string[]; code: number | null }> {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  // The replicas run src/cli/main.js from sources: NODE_OPTIONS carries tsx to them.
  const child = spawn(
    process.execPath,
    ["src/cli/main.ts", "demo", "--replicas", "2", "--duration", "2", "--store", url],
    { cwd: root, env: { ...process.env, NODE_OPTIONS: "--import tsx" } },
  );
  let output = "";
  let argv: string[] = [];
  let ready = 0;
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    ready = (output.match(/ ready$/gm) ?? []).length;
    if (ready === 2 && argv.length === 0) argv = childArgv(child.pid as number);
  });
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ output, argv, code })));
}

describe.each(cases)("a $name store URL with a password", ({ url }) => {
  it("shows it in no inspect output, log line or error", async () => {
    const lines: string[] = [];
    const store = await openStore(url);
    const scheduler = new Scheduler({ store, logger: captureLogger(lines), replicaId: "secret" });
    scheduler.job("tick", every("1h"), async () => {});
    await scheduler.start();
    const seen = [inspect(store, { depth: 8 }), inspect(scheduler, { depth: 8 })];
    await scheduler.stop();
    const unreachable = new URL(url);
    unreachable.port = "1";
    seen.push(await failure(openStore(unreachable.href).then((s) => s.init())));
    const wrongUser = new URL(url);
    wrongUser.username = "nobody_here";
    seen.push(await failure(openStore(wrongUser.href).then((s) => s.init())));
    const text = [...seen, ...lines].join("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(seen[0]).toContain("target");
    expect(text).not.toContain(SECRET);
  });

  it("shows it in no CLI output, and never in the argv of the demo's replicas", async () => {
    const missing = new URL(url);
    missing.searchParams.set("prefix", `sec_${tag}_none`);
    const history = await belfry("history", "--store", missing.href);
    expect(history.code).not.toBe(0);
    expect(history.stderr).toContain("SCHEMA_MISSING");
    const run = await demo(url);
    expect(run.argv).toHaveLength(2);
    expect(run.argv.join("\n")).toContain("replica");
    expect(run.code, run.output).toBe(0);
    expect([history.stdout, history.stderr, run.output, ...run.argv].join("\n")).not.toContain(
      SECRET,
    );
  });
});
