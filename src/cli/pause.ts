import { Command } from "commander";
import { BelfryError } from "../errors.js";
import { print, printJson, storeCommand, withStore, type StoreOptions } from "./output.js";

/** `belfry pause <job>` or `belfry resume <job>`: for every replica sharing the store. */
export function pauseCommand(name: "pause" | "resume"): Command {
  const paused = name === "pause";
  return storeCommand(new Command(name))
    .description(paused ? "pause a job on every replica" : "resume a paused job on every replica")
    .argument("<job>", "job id")
    .action(async (jobId: string, args: StoreOptions) => {
      const found = await withStore(args.store, (store) => store.setPaused(jobId, paused));
      if (!found) {
        throw new BelfryError(
          "UNKNOWN_JOB",
          `${name}: the store has no job ${JSON.stringify(jobId)}`,
        );
      }
      if (args.json) printJson({ jobId, paused });
      else print(`${paused ? "paused" : "resumed"} ${jobId}`);
    });
}
