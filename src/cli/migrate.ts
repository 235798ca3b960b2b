import { Command } from "commander";
import { redact } from "../stores/open.js";
import { migrateStore, print, printJson, storeCommand, type StoreOptions } from "./output.js";

/**
 * `belfry migrate --store <url>`: creates or updates belfry's tables (or keys) and exits, for
 * teams that migrate in a deploy step and start their schedulers with `autoMigrate: false`.
 * Every other store command only reads the schema and never creates it.
 */
export function migrateCommand(): Command {
  return storeCommand(new Command("migrate"))
    .description("create or update belfry's tables (or Redis keys) in a store, then exit")
    .action(async (args: StoreOptions) => {
      const kind = await migrateStore(args.store);
      const shown = redact(args.store);
      if (args.json) printJson({ store: shown, kind, migrated: true });
      else print(`migrated ${kind} store ${shown}`);
    });
}
