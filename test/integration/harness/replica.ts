// One replica process of the multi-process tests, run from sources (`node --import tsx`):
// argv[2] is its TestReplicaArgs as JSON; the window comes on stdin.
import { runReplica } from "../../../src/cli/replica.js";
import { scenarioJobs, type TestReplicaArgs } from "./scenarios.js";

const args = JSON.parse(process.argv[2] as string) as TestReplicaArgs;
await runReplica(args, (window) => scenarioJobs(args, window));
