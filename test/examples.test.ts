import { describe, expect, it } from "vitest";
import { main as fakeClockExample } from "../examples/fake-clock.js";

describe("examples", () => {
  it("fake-clock runs an every(1m) job 60 times in one simulated hour", async () => {
    expect(await fakeClockExample()).toBe(60);
  });
});
