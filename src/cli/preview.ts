import { Command } from "commander";
import { Temporal } from "temporal-polyfill";
import { systemClock } from "../clock.js";
import { BelfryError } from "../errors.js";
import { cron } from "../schedules/cron.js";
import { preview } from "../schedules/preview.js";
import { positiveInt, resolveWhen, whenArg, type WhenArg } from "./args.js";
import { describeSchedule } from "../schedules/describe.js";
import { iso, print, printJson } from "./output.js";

interface PreviewArgs {
  readonly tz: string;
  readonly count: number;
  readonly seconds: boolean;
  readonly from?: WhenArg;
  readonly json: boolean;
}

/** `belfry preview "<expr>"`: the next instants of a cron expression, without a store. */
export function previewCommand(): Command {
  return new Command("preview")
    .description("list the next instants of a cron expression (no store needed)")
    .argument("<expr>", 'a cron expression (5 fields, or 6 with seconds first) or "@daily"-style')
    .option("--tz <zone>", "IANA zone the expression is read in (a CRON_TZ= prefix wins)", "UTC")
    .option("--count <n>", "how many instants", positiveInt, 10)
    .option("--seconds", "require a seconds field (6 fields), as gocron's WithSeconds", false)
    .option(
      "--from <when>",
      "list instants at or after this instant or duration ago (default: now)",
      whenArg,
    )
    .option("--json", "print JSON instead of text", false)
    .action((expr: string, args: PreviewArgs) => {
      const schedule = cron(expr);
      if (args.seconds && schedule.spec.seconds !== true) {
        throw new BelfryError(
          "INVALID_CRON",
          `preview: --seconds needs 6 fields (seconds first), got ${JSON.stringify(expr)}`,
        );
      }
      const now = systemClock.now();
      const from = args.from ? resolveWhen(args.from, now) : now;
      const instants = preview(schedule, { count: args.count, from, timezone: args.tz });
      if (args.json) {
        const words = describeSchedule(schedule.spec, args.tz);
        printJson({
          schedule: schedule.spec,
          words,
          instants: instants.map((d) => d.toISOString()),
        });
        return;
      }
      const zone = typeof schedule.spec.timezone === "string" ? schedule.spec.timezone : args.tz;
      print(...instants.map((date) => line(date.getTime(), zone)));
    });
}

/** The instant in UTC, and as a wall time in `zone` unless that is UTC. */
function line(at: number, zone: string): string {
  if (zone === "UTC") return iso(at);
  const zoned = Temporal.Instant.fromEpochMilliseconds(at).toZonedDateTimeISO(zone);
  return `${iso(at)}  ${zoned.toString({ timeZoneName: "never", smallestUnit: "second" })} ${zone}`;
}
