import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { main as fakeClockExample } from "../examples/fake-clock.js";
import { SqliteStore } from "../src/stores/sqlite/index.js";

const QUICKSTART = fileURLToPath(new URL("../examples/quickstart.ts", import.meta.url));
const SRC = pathToFileURL(fileURLToPath(new URL("../src/", import.meta.url))).href;
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** Runs a TypeScript program in a child Node process, in `cwd`. */
function runProgram(file: string, cwd: string) {
  const child = spawn(process.execPath, ["--import", TSX, file], { cwd, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  const lineWaiters: (() => void)[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const wake of lineWaiters.splice(0)) wake();
  });
  child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    /** Resolves once stdout holds `count` lines equal to `line` (the test's timeout bounds it). */
    async waitForLines(line: string, count: number): Promise<void> {
      while (stdout.split("\n").filter((l) => l === line).length < count) {
        await new Promise<void>((resolve) => lineWaiters.push(resolve));
      }
    },
  };
}

describe("examples", () => {
  it("fake-clock runs an every(1m) job 60 times in one simulated hour", async () => {
    expect(await fakeClockExample()).toBe(60);
  });

  it("the README quickstart runs as written: its job runs twice, SIGTERM drains and exits", async () => {
    const folder = mkdtempSync(join(tmpdir(), "belfry-quickstart-"));
    const program = runProgram(QUICKSTART, folder);
    await program.waitForLines("inbox polled", 2);
    program.child.kill("SIGTERM");
    const exit = await program.exited;
    expect(exit, program.output().stderr).toEqual({ code: null, signal: "SIGTERM" });
    const store = new SqliteStore({ path: join(folder, "belfry.db") });
    await store.init();
    const rows = await store.history({ jobId: "poll-inbox" });
    await store.close();
    expect(rows.filter((row) => row.state === "succeeded").length).toBeGreaterThanOrEqual(2);
  });

  it("the quickstart with unref: true exits on its own", async () => {
    const folder = mkdtempSync(join(tmpdir(), "belfry-quickstart-"));
    const source = readFileSync(QUICKSTART, "utf8")
      .replaceAll('"../src/', `"${SRC}`)
      .replace("shutdownSignals: true,", "unref: true,");
    expect(source).toContain("unref: true,");
    const file = join(folder, "quickstart-unref.mts");
    writeFileSync(file, source);
    const exit = await runProgram(file, folder).exited;
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
