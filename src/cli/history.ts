import { Command } from "commander";
import type { RunState } from "../protocol/vocabulary.js";
import type { RunRecord } from "../stores/store.js";
import { positiveInt, resolveWhen, statesArg, whenArg, type WhenArg } from "./args.js";
import {
  iso,
  print,
  printJson,
  storeCommand,
  table,
  withStore,
  type StoreOptions,
} from "./output.js";

interface HistoryArgs extends StoreOptions {
  readonly job?: string;
  readonly state?: RunState[];
  readonly since?: WhenArg;
  readonly until?: WhenArg;
  readonly limit: number;
}

/** `belfry history`: run records, newest first, with filters and each run's last error. */
export function historyCommand(): Command {
  return storeCommand(new Command("history"))
    .description("print run records, newest first, with the error of the run's last attempt")
    .option("--job <id>", "only this job")
    .option(
      "--state <states>",
      "only these states, comma-separated (e.g. failed,abandoned)",
      statesArg,
    )
    .option("--since <when>", "scheduled at or after: instant, date or duration ago", whenArg)
    .option("--until <when>", "scheduled before: instant, date or duration ago", whenArg)
    .option("--limit <n>", "rows", positiveInt, 50)
    .action(async (args: HistoryArgs) => {
      const runs = await withStore(args.store, async (store) => {
        const now = args.since || args.until ? await store.now() : 0;
        return store.history({
          jobId: args.job,
          states: args.state,
          from: args.since && resolveWhen(args.since, now),
          to: args.until && resolveWhen(args.until, now),
          limit: args.limit,
        });
      });
      if (args.json) printJson(runs);
      else print(...table(runs.map(row)));
    });
}

function row(run: RunRecord): string[] {
  return [
    iso(run.scheduledAt),
    run.jobId,
    run.state,
    `attempt ${run.attempt}${run.trigger === "schedule" ? "" : ` (${run.trigger})`}`,
    run.replicaId ?? "-",
    run.runId,
    run.error ? `error: ${run.error}` : "",
  ];
}
