import { describe, expect, it } from "vitest";
import { everyRandom, type Duration } from "../../src/schedules/index.js";
import { cyrb53 } from "../../src/schedules/every-random.js";
import { at, context, expectError, random } from "./helpers.js";

function chain(
  min: Duration,
  max: Duration,
  jobId: string,
  from: number,
  count: number,
  anchor = 0,
) {
  const schedule = everyRandom(min, max);
  const ctx = context({ jobId, anchor });
  const found: number[] = [];
  let after = from;
  for (let i = 0; i < count; i++) {
    after = schedule.next(after, ctx) as number;
    found.push(after);
  }
  return found;
}

const gapsOf = (instants: number[]) =>
  instants.slice(1).map((instant, i) => instant - (instants[i] as number));

describe("everyRandom", () => {
  it("uses cyrb53 as published (its values are part of every schedule's definition)", () => {
    expect(cyrb53("a")).toBe(7929297801672961);
    expect(cyrb53("b")).toBe(8684336938537663);
    expect(cyrb53("revenge")).toBe(4051478007546757);
  });

  it("gives the same sequence for the same job id, on any replica", () => {
    const from = at("2026-03-01T00:00:00Z");
    expect(chain("1m", "5m", "report", from, 50)).toEqual(chain("1m", "5m", "report", from, 50));
  });

  it("pins its instants: changing them would move every job's occurrences", () => {
    expect(chain(1000, 3000, "golden", -1, 4)).toEqual([0, 1590, 3820, 5623]);
    expect(
      chain("1m", "5m", "golden", at("2026-03-01T00:00:00Z"), 3).map((t) =>
        new Date(t).toISOString(),
      ),
    ).toEqual(["2026-03-01T00:01:02.167Z", "2026-03-01T00:04:35.660Z", "2026-03-01T00:06:47.498Z"]);
  });

  it("gives a different sequence for a different job id", () => {
    const from = at("2026-03-01T00:00:00Z");
    expect(chain("1m", "5m", "a", from, 20)).not.toEqual(chain("1m", "5m", "b", from, 20));
  });

  it("keeps every gap within [min, max), across block boundaries", () => {
    for (const [min, max] of [
      [10, 30],
      [100, 103],
      [1, 2_000],
      [999, 1_000],
    ] as const) {
      const gaps = gapsOf(chain(min, max, `job-${min}`, 0, 6000));
      expect(Math.min(...gaps), `${min}-${max}`).toBeGreaterThanOrEqual(min);
      expect(Math.max(...gaps), `${min}-${max}`).toBeLessThan(max);
    }
  });

  it("starts at the anchor", () => {
    const anchor = at("2026-03-01T12:00:00Z");
    const schedule = everyRandom("10s", "20s");
    expect(schedule.next(0, context({ anchor }))).toBe(anchor);
    const second = schedule.next(anchor, context({ anchor })) as number;
    expect(second - anchor).toBeGreaterThanOrEqual(10_000);
    expect(second - anchor).toBeLessThan(20_000);
  });

  it("answers any `after` as a walk along the one chain would", () => {
    const anchor = at("2026-03-01T00:00:00Z");
    const walked = chain(1_000, 3_000, "walk", anchor - 1, 20_000, anchor);
    const next = random(7);
    for (let i = 0; i < 200; i++) {
      const after = anchor + Math.floor(next() * ((walked.at(-1) as number) - anchor - 5_000));
      const fresh = everyRandom(1_000, 3_000); // no memo: starts from the anchor or a block boundary
      expect(fresh.next(after, context({ jobId: "walk", anchor }))).toBe(
        walked.find((t) => t > after),
      );
    }
  });

  it("continues the same chain when the anchor is a later occurrence of it", () => {
    const walked = chain("1s", "3s", "resume", -1, 5000);
    const newest = walked[4000] as number;
    const resumed = chain("1s", "3s", "resume", newest, 999, newest);
    expect(resumed).toEqual(walked.slice(4001));
  });

  it("is fast even far from the anchor", () => {
    const schedule = everyRandom("1s", "2s");
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      schedule.next(at("2026-03-01T00:00:00Z") + i * 1e9, context({ jobId: `far-${i}` }));
    }
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("degenerates to a fixed gap when max is min + 1 ms", () => {
    expect(new Set(gapsOf(chain(500, 501, "fixed", 0, 100)))).toEqual(new Set([500]));
  });

  it("keeps min and max in ms in its spec", () => {
    expect(everyRandom("1m", "90s").spec).toEqual({
      kind: "everyRandom",
      minMs: 60_000,
      maxMs: 90_000,
    });
  });

  it("rejects min ≥ max and a min that is not above 0", () => {
    expectError(() => everyRandom("5m", "5m"), "INVALID_RANGE", '"5m"', "300000");
    expectError(() => everyRandom("5m", "1m"), "INVALID_RANGE", "min must be less than max");
    expectError(() => everyRandom(0, 1000), "INVALID_INTERVAL", "everyRandom(0, 1000)");
    expectError(() => everyRandom(-1, 1000), "INVALID_INTERVAL", "-1");
  });
});
