import { Command, InvalidArgumentError } from "commander";
import { isBelfryError } from "../errors.js";
import { openStore, redact } from "../stores/open.js";
import { dashboardCommand } from "./dashboard.js";
import { runDemo } from "./demo.js";
import { runReplica, type ReplicaArgs } from "./replica.js";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number ≥ 1");
  return n;
}

const program = new Command("belfry")
  .description("Each scheduled occurrence runs exactly once across replicas.")
  .showHelpAfterError();

program
  .command("demo")
  .description("start replica processes sharing a store and show each occurrence running once")
  .option("--replicas <n>", "replica processes", positiveInt, 3)
  .option("--duration <seconds>", "how long the jobs run", positiveInt, 20)
  .option(
    "--store <url>",
    "store URL (sqlite:<path>, postgres://…, mysql://…, redis://…); default: SQLite in a temp folder",
  )
  .option("--uncoordinated", "give each replica its own memory store (the bug belfry fixes)", false)
  .option("--json", "print only the summary, as JSON", false)
  .action(
    async (opts: {
      replicas: number;
      duration: number;
      store?: string;
      uncoordinated: boolean;
      json: boolean;
    }) => {
      process.exitCode = await runDemo({
        replicas: opts.replicas,
        durationS: opts.duration,
        uncoordinated: opts.uncoordinated,
        json: opts.json,
        store: opts.store,
      });
    },
  );

program
  .command("history")
  .description("print the newest run records of a store")
  .requiredOption("--store <url>", "store URL")
  .option("--job <id>", "only this job")
  .option("--limit <n>", "rows", positiveInt, 50)
  .action(async (opts: { store: string; job?: string; limit: number }) => {
    const store = await openStore(opts.store);
    await store.init();
    try {
      for (const run of await store.history({ jobId: opts.job, limit: opts.limit })) {
        const at = new Date(run.scheduledAt).toISOString();
        process.stdout.write(
          `${at}  ${run.jobId}  ${run.state}  attempt ${run.attempt}  ${run.replicaId ?? "-"}${run.error ? `  ${run.error}` : ""}\n`,
        );
      }
    } finally {
      await store.close();
    }
  });

program.addCommand(dashboardCommand());

program.addCommand(
  new Command("replica")
    .description("run one replica of a scenario (used by demo and the multi-process tests)")
    .argument("<json>", "ReplicaArgs as JSON")
    .action(async (json: string) => runReplica(JSON.parse(json) as ReplicaArgs)),
  { hidden: true },
);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = isBelfryError(error)
    ? `belfry: ${error.code}: ${redact(error.message)}`
    : `belfry: ${String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exitCode = 2;
});
