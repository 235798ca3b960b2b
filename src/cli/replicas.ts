import { Command } from "commander";
import { resolveWhen, whenArg, type WhenArg } from "./args.js";
import {
  capability,
  formatMs,
  iso,
  print,
  printJson,
  storeCommand,
  table,
  withStore,
  type StoreOptions,
} from "./output.js";

/** `belfry replicas`: the replicas seen recently, with their clock offset to the store. */
export function replicasCommand(): Command {
  return storeCommand(new Command("replicas"))
    .description("list the replicas seen recently: id, host, pid, started, last seen, clock offset")
    .option("--since <when>", "seen at or after: instant, date or duration ago", whenArg, {
      ago: 86_400_000,
    })
    .action(async (args: StoreOptions & { since: WhenArg }) => {
      const replicas = await withStore(args.store, async (store) =>
        capability(store, "replicas").listReplicas(resolveWhen(args.since, await store.now())),
      );
      if (args.json) {
        printJson(replicas);
        return;
      }
      const header = ["REPLICA", "HOST", "PID", "STARTED", "LAST SEEN", "CLOCK OFFSET"];
      const rows = replicas.map((r) => [
        r.replicaId,
        r.host,
        String(r.pid),
        iso(r.startedAt),
        iso(r.lastSeenAt),
        formatMs(r.clockOffsetMs),
      ]);
      print(...table([header, ...rows]));
    });
}
