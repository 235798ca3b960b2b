import type { MemoryDb } from "../../src/stores/memory/connection.js";
import { MemoryStore } from "../../src/stores/memory/index.js";
import type { JobRecord, Store } from "../../src/stores/store.js";
import { describeStore } from "../conformance/describe-store.js";

/** Writes `overlap = 'bogus'` into the job record behind the store's back (its private tables). */
async function corrupt(store: Store, _prefix: string, jobId: string) {
  const jobs = (store as unknown as { db: MemoryDb }).db.jobs;
  const job = jobs.get(jobId) as JobRecord;
  jobs.set(jobId, { ...job, overlap: "bogus" as JobRecord["overlap"] });
  return { column: "overlap", value: "bogus" };
}

// A MemoryStore keeps its state in the instance, so replicas in the concurrency tests are one
// instance racing with itself through Promise.all.
describeStore("memory", async () => new MemoryStore(), { sharedInstances: false, corrupt });
