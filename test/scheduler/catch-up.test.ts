import { describe, expect, it } from "vitest";
import { claimDeadlines, type DeadlineInput } from "../../src/coordination/catch-up.js";

/** Occurrences at 1 s, 2 s and 3 s; 500 ms late is still on time, the catch-up window is 2 s. */
const base: DeadlineInput = {
  claims: [1_000, 2_000, 3_000],
  policy: "skip",
  missedAfterMs: () => 500,
  catchUpWindowMs: 2_000,
};

describe("claimDeadlines: the store-time deadline of each claim", () => {
  it.each<{ name: string; input: Partial<DeadlineInput>; expected: (number | undefined)[] }>([
    {
      name: "skip: each occurrence plus missedAfter",
      input: {},
      expected: [1_500, 2_500, 3_500],
    },
    {
      name: "latest: the newest claim has none, older ones missedAfter",
      input: { policy: "latest" },
      expected: [1_500, 2_500, undefined],
    },
    {
      name: "latest with one claim (the rescued newest): none",
      input: { policy: "latest", claims: [1_000] },
      expected: [undefined],
    },
    {
      name: "all: the catch-up window when it is longer",
      input: { policy: "all" },
      expected: [3_000, 4_000, 5_000],
    },
    {
      name: "all: missedAfter when it is longer than the window",
      input: { policy: "all", catchUpWindowMs: 100 },
      expected: [1_500, 2_500, 3_500],
    },
    {
      name: "missedAfter per occurrence",
      input: { missedAfterMs: (at) => at / 10 },
      expected: [1_100, 2_200, 3_300],
    },
    { name: "no claims", input: { claims: [] }, expected: [] },
  ])("$name", ({ input, expected }) => {
    expect(claimDeadlines({ ...base, ...input })).toEqual(expected);
  });
});
