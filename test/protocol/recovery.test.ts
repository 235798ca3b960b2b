import { describe, expect, it } from "vitest";
import {
  recoveryAction,
  recoveryDependsOnBusy,
  type RecoveryAction,
} from "../../src/protocol/recovery.js";
import type { JobRecord } from "../../src/stores/store.js";

type Policies = Pick<JobRecord, "onAbandoned" | "maxAttempts" | "overlap">;

const retry = (overlap: Policies["overlap"]): Policies => ({
  onAbandoned: "retry",
  maxAttempts: 3,
  overlap,
});
const abandon: Policies = { onAbandoned: "abandon", maxAttempts: 3, overlap: "allow" };

interface Case {
  readonly name: string;
  readonly job: Policies | null;
  readonly attempt: number;
  /** What recovery does when another run of the job is active, and when none is. */
  readonly busy: RecoveryAction;
  readonly idle: RecoveryAction;
  /** Whether a store that cannot tell "busy" for sure must leave the run for a later pass. */
  readonly depends: boolean;
}

const cases: Case[] = [
  {
    name: "job no longer registered",
    job: null,
    attempt: 1,
    busy: "abandoned",
    idle: "abandoned",
    depends: false,
  },
  {
    name: "onAbandoned abandon",
    job: abandon,
    attempt: 1,
    busy: "abandoned",
    idle: "abandoned",
    depends: false,
  },
  {
    name: "onAbandoned abandon under overlap skip",
    job: { ...abandon, overlap: "skip" },
    attempt: 1,
    busy: "abandoned",
    idle: "abandoned",
    depends: false,
  },
  {
    name: "retry, attempts left, overlap allow",
    job: retry("allow"),
    attempt: 2,
    busy: "retried",
    idle: "retried",
    depends: false,
  },
  {
    name: "retry, attempts left, overlap skip",
    job: retry("skip"),
    attempt: 1,
    busy: "superseded",
    idle: "retried",
    depends: true,
  },
  {
    name: "retry, attempts left, overlap queueOne",
    job: retry("queueOne"),
    attempt: 2,
    busy: "superseded",
    idle: "retried",
    depends: true,
  },
  {
    name: "retry, last attempt used (attempt = maxAttempts)",
    job: retry("allow"),
    attempt: 3,
    busy: "abandoned",
    idle: "abandoned",
    depends: false,
  },
  {
    name: "retry, last attempt used under overlap skip",
    job: retry("skip"),
    attempt: 3,
    busy: "abandoned",
    idle: "abandoned",
    depends: false,
  },
  {
    name: "retry, attempt beyond maxAttempts",
    job: retry("queueOne"),
    attempt: 4,
    busy: "abandoned",
    idle: "abandoned",
    depends: false,
  },
];

describe("recoveryAction", () => {
  it.each(cases)("$name: $busy while busy, $idle while idle", (c) => {
    expect(recoveryAction(c.job, c.attempt, true)).toBe(c.busy);
    expect(recoveryAction(c.job, c.attempt, false)).toBe(c.idle);
  });
});

describe("recoveryDependsOnBusy", () => {
  it.each(cases)("$name: $depends", (c) => {
    expect(recoveryDependsOnBusy(c.job, c.attempt)).toBe(c.depends);
  });
});
