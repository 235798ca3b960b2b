// One replica process of the multi-process tests, run from sources (`node --import tsx`):
// its TestReplicaArgs come in the environment (spawnReplica); the window comes on stdin.
import { replicaArgsFromEnv, runReplica } from "../../../src/cli/replica.js";
import { scenarioJobs, type TestReplicaArgs } from "./scenarios.js";

const args = replicaArgsFromEnv<TestReplicaArgs>();
await runReplica(args, (window) => scenarioJobs(args, window));
