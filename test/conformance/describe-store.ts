import { describe } from "vitest";
import { claimCases } from "./claim.cases.js";
import { concurrencyCases } from "./concurrency.cases.js";
import { Harness, type DescribeStoreOptions, type MakeStore } from "./harness.js";
import { leaseCases } from "./lease.cases.js";
import { lifecycleCases } from "./lifecycle.cases.js";
import { overlapCases } from "./overlap.cases.js";
import { recordCases } from "./records.cases.js";
import { registrationCases } from "./registration.cases.js";
import { scheduleCases } from "./schedules.cases.js";

export type { DescribeStoreOptions, MakeStore, StoreFactoryContext } from "./harness.js";

/**
 * The one conformance suite every {@link Store} passes (DESIGN §2, invariants 1–9 at the store
 * level). Each test gets its own prefix, so tests never see each other's rows and can share a
 * database server with other test files; the stores a test opened are closed after it.
 *
 * Tests are clock-agnostic: instants are based on `await store.now()`, and lease expiry uses
 * 50 ms leases with a short real wait, so server stores run on their own clocks.
 *
 * @param name backend name shown in the test report.
 * @param makeStore builds a store on the given prefix, not yet initialised; called again with
 *   the same prefix when a test needs several replicas (separate connections) on one store.
 * @param options see {@link DescribeStoreOptions}.
 * @example
 * ```ts
 * describeStore("sqlite", async ({ prefix }) => new SqliteStore({ path: file, tablePrefix: prefix }), {
 *   corrupt: async (_store, prefix, jobId) => { … return { column: "overlap", value: "bogus" }; },
 * });
 * ```
 */
export function describeStore(
  name: string,
  makeStore: MakeStore,
  options: DescribeStoreOptions = {},
): void {
  describe(`Store conformance: ${name}`, () => {
    const harness = new Harness(makeStore, options);
    harness.install();
    describe("registration", () => registrationCases(harness));
    describe("claim", () => claimCases(harness));
    describe("overlap", () => overlapCases(harness));
    describe("lease and recovery", () => leaseCases(harness));
    describe("records", () => recordCases(harness));
    describe("concurrency", () => concurrencyCases(harness));
    describe("lifecycle", () => lifecycleCases(harness));
    describe("runtime schedules", () => scheduleCases(harness));
  });
}
