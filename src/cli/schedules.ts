import { Command, Option } from "commander";
import {
  storeSchedules,
  unknownSchedule,
  type ScheduleInfo,
  type Schedules,
} from "../runtime/schedules.js";
import { describeSchedule } from "../schedules/describe.js";
import type { Store } from "../stores/store.js";
import { positiveInt } from "./args.js";
import {
  iso,
  print,
  printJson,
  storeCommand,
  table,
  withStore,
  type StoreOptions,
} from "./output.js";

interface ListArgs extends StoreOptions {
  readonly task?: string;
  readonly prefix?: string;
  readonly paused?: boolean;
  readonly active?: boolean;
  readonly limit: number;
  readonly cursor?: string;
}

/** What `pause`, `resume`, `remove` and `trigger` do to one schedule, and how they say it. */
const ACTIONS = {
  pause: {
    description: "pause a runtime schedule on every replica (occurrences are recorded skipped)",
    done: "paused",
  },
  resume: { description: "resume a paused runtime schedule on every replica", done: "resumed" },
  remove: {
    description: "remove a runtime schedule (its run records stay)",
    done: "removed",
  },
  trigger: {
    description: "run a runtime schedule once now, on a replica that defines its task",
    done: "triggered",
  },
} as const;

type ActionName = keyof typeof ACTIONS;

/**
 * `belfry schedules list|get|pause|resume|remove|trigger`: the runtime schedules
 * (`scheduler.schedules`) of a store, through the same `Schedules` API the replicas use.
 */
export function schedulesCommand(): Command {
  const command = new Command("schedules").description(
    "list, show, pause, resume, remove or trigger runtime schedules (scheduler.schedules)",
  );
  command.addCommand(listCommand());
  command.addCommand(getCommand());
  for (const name of Object.keys(ACTIONS) as ActionName[]) command.addCommand(actionCommand(name));
  return command;
}

function listCommand(): Command {
  return storeCommand(new Command("list"))
    .description("list runtime schedules, ordered by task and key, a page at a time")
    .option("--task <task>", "only this task's schedules")
    .option("--prefix <keyPrefix>", "only keys starting with this (needs --task)")
    .addOption(new Option("--paused", "only paused schedules").conflicts("active"))
    .addOption(new Option("--active", "only schedules that are not paused"))
    .option("--limit <n>", "schedules per page (at most 1000)", positiveInt, 100)
    .option("--cursor <cursor>", "the next page: the cursor the previous page printed")
    .action(async (args: ListArgs, self: Command) => {
      if (args.prefix !== undefined && args.task === undefined) {
        self.error("error: --prefix needs --task (keys are unique per task)");
      }
      const page = await withSchedules(args.store, (schedules) =>
        schedules.list({
          task: args.task,
          keyPrefix: args.prefix,
          paused: args.paused ? true : args.active ? false : undefined,
          limit: args.limit,
          cursor: args.cursor,
        }),
      );
      if (args.json) {
        printJson({ ...page, schedules: page.schedules.map(jsonOf) });
        return;
      }
      const header = ["task", "key", "schedule", "zone", "next run", "paused", "runs"];
      print(
        ...table([header, ...page.schedules.map(row)]),
        ...page.unreadable.map((job) => `${job.jobId}  (unreadable row: ${job.message})`),
        ...(page.next === null ? [] : [`next page: --cursor ${page.next}`]),
      );
    });
}

function getCommand(): Command {
  return storeCommand(new Command("get"))
    .description("show one runtime schedule: definition, data, next run, runs")
    .argument("<task>", "the schedule's task")
    .argument("<key>", "the schedule's key")
    .action(async (task: string, key: string, args: StoreOptions) => {
      const info = await withSchedules(args.store, (schedules) => schedules.get(task, key));
      if (!info) throw unknownSchedule("get", task, key);
      if (args.json) printJson(jsonOf(info));
      else print(...render(info));
    });
}

function actionCommand(name: ActionName): Command {
  return storeCommand(new Command(name))
    .description(ACTIONS[name].description)
    .argument("<task>", "the schedule's task")
    .argument("<key>", "the schedule's key")
    .action(async (task: string, key: string, args: StoreOptions) => {
      await withSchedules(args.store, async (schedules) => {
        if (name !== "remove") return schedules[name](task, key);
        if (!(await schedules.remove(task, key))) throw unknownSchedule("remove", task, key);
      });
      if (args.json) printJson({ task, key, [ACTIONS[name].done]: true });
      else print(`${ACTIONS[name].done} ${task}/${key}`);
    });
}

/** Runs `fn` with `Schedules` on the store at `url` (opened without migrating, then closed). */
function withSchedules<T>(url: string, fn: (schedules: Schedules) => Promise<T>): Promise<T> {
  return withStore(url, async (store: Store) => fn(await storeSchedules(store)));
}

/** The zone the schedule's times are read in: its spec's own zone, else the stored one. */
function zoneOf(info: ScheduleInfo): string {
  const own = info.schedule.timezone;
  return typeof own === "string" ? own : info.timezone;
}

/** The schedule in words without its zone (the table shows the zone in a column of its own). */
function words(info: ScheduleInfo): string {
  return describeSchedule({ ...info.schedule, timezone: "UTC" });
}

/** A date as ISO 8601 UTC, or `-`. */
function at(date: Date | null): string {
  return iso(date?.getTime());
}

function row(info: ScheduleInfo): string[] {
  const next = info.triggeredAt ? `${at(info.nextRun)} (triggered)` : at(info.nextRun);
  const paused = info.paused ? "yes" : "no";
  return [info.task, info.key, words(info), zoneOf(info), next, paused, String(info.runCount)];
}

function render(info: ScheduleInfo): string[] {
  return [
    `${info.task}/${info.key}${info.paused ? "  (paused)" : ""}`,
    `  job id     ${info.jobId}`,
    `  schedule   ${words(info)} (${zoneOf(info)})`,
    `  next run   ${at(info.nextRun)}${info.triggeredAt ? ` · triggered at ${at(info.triggeredAt)}, not yet run` : ""}`,
    `  last       ${at(info.lastScheduledAt)} · ${info.runCount} runs · version ${info.version}`,
    `  data       ${info.data === undefined ? "-" : JSON.stringify(info.data)}`,
    `  options    ${JSON.stringify(info.options)}`,
    `  created    ${at(info.createdAt)} · updated ${at(info.updatedAt)}`,
  ];
}

/** A schedule as `--json` prints it: instants as epoch ms, as every `--json` output does. */
function jsonOf(info: ScheduleInfo): Record<string, unknown> {
  const ms = (date: Date | null) => (date === null ? null : date.getTime());
  return {
    ...info,
    nextRun: ms(info.nextRun),
    triggeredAt: ms(info.triggeredAt),
    lastScheduledAt: ms(info.lastScheduledAt),
    createdAt: ms(info.createdAt),
    updatedAt: ms(info.updatedAt),
  };
}
