import { describe, expect, it } from "vitest";
import { FakeClock, MemoryStore } from "../../src/index.js";
import { runPages } from "../../src/observe/run-pages.js";
import { fill, T0 } from "./fill.js";

describe("runPages", () => {
  it("reads every row of the window exactly once, whatever the page size", async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    await fill(store, clock, 30);
    const from = T0 + 5_000;
    const to = T0 + 25_000;
    const all = await store.history({ from, to, limit: 10_000 });
    expect(all.length).toBeGreaterThan(20);
    // Page sizes 1-3 end pages inside instants that hold several rows (tick, five, flaky, broken).
    for (const pageSize of [1, 2, 3, 7, 1000]) {
      const read: string[] = [];
      for await (const page of runPages(store, from, to, pageSize)) {
        read.push(...page.map((run) => run.runId));
      }
      expect(read).toEqual(all.map((run) => run.runId));
    }
  });
});
