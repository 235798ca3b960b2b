import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { main as fakeClockExample } from "../examples/fake-clock.js";
import { SqliteStore } from "../src/stores/sqlite/index.js";
import { runProgram } from "./lifecycle/child.js";

const QUICKSTART = fileURLToPath(new URL("../examples/quickstart.ts", import.meta.url));
const RUNTIME = fileURLToPath(new URL("../examples/runtime-schedules.ts", import.meta.url));
const SRC = pathToFileURL(fileURLToPath(new URL("../src/", import.meta.url))).href;

describe("examples", () => {
  it("fake-clock runs an every(1m) job 60 times in one simulated hour", async () => {
    expect(await fakeClockExample()).toBe(60);
  });

  it("the README quickstart runs as written: its job runs twice, SIGTERM drains and exits", async () => {
    const folder = mkdtempSync(join(tmpdir(), "belfry-quickstart-"));
    const program = runProgram(QUICKSTART, folder);
    await program.waitFor((lines) => lines.filter((l) => l === "inbox polled").length >= 2);
    program.kill("SIGTERM");
    const exit = await program.exited;
    expect(exit, program.stderr()).toEqual({ code: null, signal: "SIGTERM" });
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

  it("docs/runtime-schedules.md shows the runtime schedules example as it is", () => {
    const doc = readFileSync(new URL("../docs/runtime-schedules.md", import.meta.url), "utf8");
    const shown = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
    const example = readFileSync(RUNTIME, "utf8")
      .split("\n")
      .filter((line, i) => i > 2 || !line.startsWith("//"))
      .join("\n")
      .replace('"../src/index.js"', '"belfry"')
      .replace('"../src/stores/sqlite/index.js"', '"belfry/sqlite"');
    expect(shown).toBe(example);
  });

  it("the README's runtime schedules block is an excerpt of the example", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Runtime schedules"));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? "missing";
    expect(readFileSync(RUNTIME, "utf8")).toContain(block);
  });

  it("the runtime schedules example runs as written: zones, a trigger, runs, then it exits", async () => {
    const folder = mkdtempSync(join(tmpdir(), "belfry-runtime-"));
    const program = runProgram(RUNTIME, folder);
    const exit = await program.exited;
    expect(exit, program.stderr()).toEqual({ code: 0, signal: null });
    const lines = program.lines();
    // 09:00 in each user's own zone, as a UTC instant.
    expect(lines.find((l) => l.startsWith("user-1:"))).toMatch(
      /T0[78]:00:00\.000Z \(Europe\/Berlin\)$/,
    );
    expect(lines.find((l) => l.startsWith("user-3:"))).toMatch(/T00:00:00\.000Z \(Asia\/Tokyo\)$/);
    expect(lines.filter((l) => l.startsWith("digest for user 1 (manual,"))).toHaveLength(1);
    expect(
      lines.filter((l) => l.startsWith("digest for user 4 (schedule,")).length,
    ).toBeGreaterThanOrEqual(1);
    const store = new SqliteStore({ path: join(folder, "belfry.db") });
    await store.init();
    const { schedules } = await store.listSchedules({ task: "send-digest" });
    await store.close();
    expect(schedules.map((s) => s.key)).toEqual(["user-1", "user-2", "user-3"]);
  });
});
