import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { isBelfryError } from "../errors.js";
import { redactUrlsIn } from "../stores/shared/url.js";
import { positiveInt } from "./args.js";
import { auditCommand } from "./audit.js";
import { dashboardCommand } from "./dashboard.js";
import { runDemo, runDemoReplica, type DemoReplicaArgs } from "./demo.js";
import { historyCommand } from "./history.js";
import { jobsCommand } from "./jobs.js";
import { migrateCommand } from "./migrate.js";
import { EXIT } from "./output.js";
import { pauseCommand } from "./pause.js";
import { previewCommand } from "./preview.js";
import { pruneCommand } from "./prune.js";
import { replicasCommand } from "./replicas.js";
import { replicaArgsFromEnv } from "./replica.js";
import { schedulesCommand } from "./schedules.js";

const { version } = JSON.parse(
  readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string };

const program = new Command("belfry")
  .description("Each scheduled occurrence runs exactly once across replicas.")
  .version(version, "-V, --version");

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
  .option(
    "--schedules <n>",
    "instead of the demo jobs, create n runtime schedules (one per user, in 8 time zones) for the replicas to run",
    positiveInt,
  )
  .option("--json", "print only the summary, as JSON", false)
  .action(
    async (opts: {
      replicas: number;
      duration: number;
      store?: string;
      uncoordinated: boolean;
      schedules?: number;
      json: boolean;
    }) => {
      process.exitCode = await runDemo({
        replicas: opts.replicas,
        durationS: opts.duration,
        uncoordinated: opts.uncoordinated,
        json: opts.json,
        store: opts.store,
        schedules: opts.schedules,
      });
    },
  );

for (const command of [
  previewCommand(),
  jobsCommand(),
  historyCommand(),
  auditCommand(),
  replicasCommand(),
  pauseCommand("pause"),
  pauseCommand("resume"),
  schedulesCommand(),
  pruneCommand(),
  migrateCommand(),
]) {
  program.addCommand(command);
}

program.addCommand(dashboardCommand());

program.addCommand(
  new Command("replica")
    .description("run one replica of the demo's jobs or schedules (started by demo)")
    .action(async () => runDemoReplica(replicaArgsFromEnv<DemoReplicaArgs>())),
  { hidden: true },
);

// Usage errors exit 2 (commander's default is 1, which `audit` keeps for its findings), in
// nested commands (`schedules list`) too.
const withSubcommands = (command: Command): Command[] => [
  command,
  ...command.commands.flatMap(withSubcommands),
];
for (const command of withSubcommands(program)) command.exitOverride().showHelpAfterError();

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  const message = isBelfryError(error)
    ? `belfry: ${error.code}: ${redactUrlsIn(error.message)}`
    : `belfry: ${redactUrlsIn(String(error))}`;
  process.stderr.write(`${message}\n`);
  process.exitCode = isUsageError(error) ? EXIT.usage : EXIT.failure;
});

/** Bad input on the command line (an expression, a zone, a job id, a schedule), not a failing store. */
function isUsageError(error: unknown): boolean {
  return (
    isBelfryError(error) &&
    (error.code.startsWith("INVALID_") ||
      error.code === "UNKNOWN_JOB" ||
      error.code === "UNKNOWN_SCHEDULE")
  );
}
