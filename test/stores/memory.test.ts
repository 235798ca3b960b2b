import { MemoryStore } from "../../src/stores/memory.js";
import { describeStore } from "../conformance/describe-store.js";

// A MemoryStore keeps its state in the instance, so replicas in the concurrency tests are one
// instance racing with itself through Promise.all.
describeStore("memory", async () => new MemoryStore(), { sharedInstances: false });
