import { afterEach, describe, expect, it } from "vitest";
import { BelfryError, once, Scheduler } from "../../src/index.js";
import { cluster, deferred, T0 } from "../scheduler/harness.js";

// SIGUSR2 stands in for SIGTERM: the test listens to it too, so the scheduler drains but does
// not raise the signal again (it never kills the test process).
const SIGNAL = "SIGUSR2";
const appListener = () => {};

describe("shutdownSignals", () => {
  afterEach(() => void process.off(SIGNAL, appListener));

  it("drains running handlers on the signal, then removes its listeners", async () => {
    process.on(SIGNAL, appListener);
    const c = cluster();
    const gate = deferred();
    let finished = false;
    const scheduler = c.replica({ shutdownSignals: [SIGNAL], stopTimeout: "1m" });
    scheduler.job("report", once(T0 + 1_000), async () => {
      await gate.promise;
      finished = true;
    });
    const stopped: string[] = [];
    await scheduler.start();
    expect(process.listenerCount(SIGNAL)).toBe(2);
    await c.clock.advance(1_000);
    process.emit(SIGNAL, SIGNAL);
    const stopping = scheduler.stop().then(() => stopped.push("stop() returned"));
    await c.clock.advance(5_000);
    expect(stopped).toEqual([]);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(process.listenerCount(SIGNAL)).toBe(1);
    const [row] = await c.store.history({ jobId: "report" });
    expect(row?.state).toBe("succeeded");
    expect(c.clock.pendingTimers()).toBe(0);
  });

  it("a second signal while draining lets go of the process at once", async () => {
    process.on(SIGNAL, appListener);
    const c = cluster();
    const gate = deferred();
    const scheduler = c.replica({ shutdownSignals: [SIGNAL] });
    scheduler.job("report", once(T0 + 1_000), () => gate.promise);
    await scheduler.start();
    await c.clock.advance(1_000);
    process.emit(SIGNAL, SIGNAL);
    await c.clock.advance(100);
    expect(process.listenerCount(SIGNAL)).toBe(2);
    process.emit(SIGNAL, SIGNAL);
    expect(process.listenerCount(SIGNAL)).toBe(1);
    gate.resolve();
    await scheduler.stop();
  });

  it("adds no listener without the option, and none after stop()", async () => {
    const before = process.listenerCount("SIGTERM") + process.listenerCount("SIGINT");
    const plain = new Scheduler();
    await plain.start();
    expect(process.listenerCount("SIGTERM") + process.listenerCount("SIGINT")).toBe(before);
    await plain.stop();
    const withSignals = new Scheduler({ shutdownSignals: true });
    await withSignals.start();
    expect(process.listenerCount("SIGTERM") + process.listenerCount("SIGINT")).toBe(before + 2);
    await withSignals.stop();
    expect(process.listenerCount("SIGTERM") + process.listenerCount("SIGINT")).toBe(before);
  });

  it("refuses a name that is not a signal Node can listen to", () => {
    for (const signal of ["SIGTERMINATE", "SIGKILL", ""]) {
      const make = () => new Scheduler({ shutdownSignals: [signal as NodeJS.Signals] });
      expect(make).toThrow(BelfryError);
      expect(make).toThrow(/shutdownSignals/);
    }
  });
});
