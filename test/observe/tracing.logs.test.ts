import { afterEach, describe, expect, it } from "vitest";
import { every, type Logger } from "../../src/index.js";
import { claimLogEnabled, stderrLogger } from "../../src/observe/claim-log.js";
import { cluster, T0 } from "../scheduler/harness.js";

interface Line {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A plain logger without `child`: belfry must merge the run's fields itself. */
function plainLogger(lines: Line[]): Logger {
  const at = (level: string) => (object: object, message?: string) =>
    void lines.push({ level, fields: { ...object }, message });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A pino-shaped logger: `child(bindings)` returns a logger whose lines carry the bindings. */
function pinoLike(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (object: object, message?: string) =>
    void lines.push({ level, fields: { ...bindings, ...object }, message });
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => pinoLike(lines, { ...bindings, ...more }),
  };
}

const RUN_FIELDS = {
  jobId: "tick",
  scheduledAt: new Date(T0 + 1_000).toISOString(),
  attempt: 1,
  replicaId: "a",
};

const savedDebug = process.env.DEBUG;
afterEach(() => {
  if (savedDebug === undefined) delete process.env.DEBUG;
  else process.env.DEBUG = savedDebug;
});

describe("structured run logs", () => {
  for (const [name, make] of [
    ["a plain logger", plainLogger],
    ["a pino-shaped logger (child bindings)", pinoLike],
  ] as const) {
    it(`every run line carries jobId, runId, scheduledAt, attempt and replicaId with ${name}`, async () => {
      const lines: Line[] = [];
      const c = cluster();
      const scheduler = c.replica({ replicaId: "a", logger: make(lines) });
      scheduler.job("tick", every("1s"), (run) => run.logger.info({ step: 1 }, "handler says hi"), {
        afterRun: () => {
          throw new Error("listener bug");
        },
      });
      await scheduler.start();
      await c.clock.advance(1_000);
      expect(await c.stopAll()).toBe(0);
      const handler = lines.find((l) => l.message === "handler says hi");
      const listener = lines.find((l) => l.message === "belfry: afterRun listener threw");
      for (const line of [handler, listener]) {
        expect(line?.fields).toMatchObject(RUN_FIELDS);
        expect(line?.fields.runId).toEqual(expect.any(String));
      }
      expect(lines.find((l) => l.message === "belfry: scheduler started")?.fields).toMatchObject({
        replicaId: "a",
      });
    });
  }
});

describe("DEBUG=belfry claim log", () => {
  it("reads DEBUG the way the debug package does", () => {
    expect(claimLogEnabled(undefined)).toBe(false);
    expect(claimLogEnabled("")).toBe(false);
    expect(claimLogEnabled("express:*")).toBe(false);
    expect(claimLogEnabled("belfry")).toBe(true);
    expect(claimLogEnabled("express:*,belfry:*")).toBe(true);
    expect(claimLogEnabled("belfry:claims")).toBe(true);
    expect(claimLogEnabled("*")).toBe(true);
    expect(claimLogEnabled("*,-belfry")).toBe(false);
  });

  async function claimLines(debug: string | undefined): Promise<Line[]> {
    if (debug === undefined) delete process.env.DEBUG;
    else process.env.DEBUG = debug;
    const lines: Line[] = [];
    const c = cluster();
    for (const replicaId of ["a", "b"]) {
      const scheduler = c.replica({ replicaId, logger: plainLogger(lines) });
      scheduler.job("tick", every("1s"), () => {});
      await scheduler.start();
    }
    await c.clock.advance(3_000);
    expect(await c.stopAll()).toBe(0);
    return lines.filter((l) => l.level === "debug");
  }

  it("is quiet by default", async () => {
    expect(await claimLines(undefined)).toEqual([]);
  });

  it("logs every claim won and lost at debug level when switched on", async () => {
    const lines = await claimLines("belfry");
    const won = lines.filter((l) => l.message === "belfry: claim won");
    const lost = lines.filter((l) => l.message === "belfry: claim lost to another replica");
    expect(won).toHaveLength(3);
    expect(lost.length).toBeGreaterThan(0);
    expect(won[0]?.fields).toMatchObject({ ...RUN_FIELDS, runId: expect.any(String) });
    expect(won.length + lost.length).toBe(lines.length);
  });

  it("writes pino-style JSON lines to stderr when no logger was given", () => {
    const out: string[] = [];
    const logger = stderrLogger({ now: () => T0, setTimer: () => ({ cancel() {} }) }, (line) =>
      out.push(line),
    );
    logger.debug({ jobId: "tick" }, "belfry: claim won");
    expect(out.map((line) => JSON.parse(line))).toEqual([
      { level: 20, time: T0, jobId: "tick", msg: "belfry: claim won" },
    ]);
  });
});
