import { Command } from "commander";
import { resolveWhen, whenArg, type WhenArg } from "./args.js";
import { iso, print, printJson, storeCommand, withStore, type StoreOptions } from "./output.js";
import { capability } from "./output.js";

/** `belfry prune --before <when>`: deletes finished run rows; watermarks stay. */
export function pruneCommand(): Command {
  return storeCommand(new Command("prune"))
    .description("delete finished run rows scheduled before an instant (watermarks are kept)")
    .requiredOption("--before <when>", "an instant, a date, or a duration ago such as 30d", whenArg)
    .action(async (args: StoreOptions & { before: WhenArg }) => {
      const result = await withStore(args.store, async (store) => {
        const before = resolveWhen(args.before, await store.now());
        return { before, deleted: await capability(store, "retention").prune(before) };
      });
      if (args.json) printJson(result);
      else print(`deleted ${result.deleted} run rows scheduled before ${iso(result.before)}`);
    });
}
