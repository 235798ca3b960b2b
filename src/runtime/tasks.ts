import { BelfryError, quote } from "../errors.js";
import type { Handler, JobOptions } from "../options.js";
import { durationField, functionField, parseOptions, strictOptions } from "../validation.js";

/** Options of `scheduler.task`: code that every schedule of the task shares. */
export type TaskOptions = Pick<JobOptions, "timeout" | "beforeRun" | "afterRun" | "afterError">;

const taskOptions = strictOptions({
  timeout: durationField(1).optional(),
  beforeRun: functionField<JobOptions["beforeRun"]>().optional(),
  afterRun: functionField<JobOptions["afterRun"]>().optional(),
  afterError: functionField<JobOptions["afterError"]>().optional(),
} satisfies Record<keyof TaskOptions, unknown>);

/** A task name: letters, digits, marks and `. _ @ / -`, at most 100 (never `:`). */
const TASK_NAME = /^[\p{L}\p{M}\p{N}_.@/-]{1,100}$/u;

/** A handler defined by name in code, which runtime schedules name as their task. */
export interface TaskEntry {
  readonly name: string;
  readonly handler: Handler;
  /** Hooks and the default timeout of every schedule of the task (a schedule's own wins). */
  readonly options: JobOptions;
}

/** Throws `INVALID_OPTION` unless `name` is a valid task name. */
export function checkTaskName(name: unknown, where: string): asserts name is string {
  if (typeof name !== "string" || !TASK_NAME.test(name)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: a task name is 1-100 letters, digits, marks or . _ @ / - (got ${quote(name)})`,
    );
  }
}

/** The tasks this replica defines (`scheduler.task`): the ones it claims schedules of. */
export class TaskRegistry {
  private readonly tasks = new Map<string, TaskEntry>();
  private namesCache: string[] | null = null;

  /** Defines a task; `DUPLICATE_TASK` for a name already defined here. */
  define(name: string, handler: Handler, options: TaskOptions = {}): void {
    const where = `task(${quote(name)})`;
    checkTaskName(name, where);
    const parsed = parseOptions(taskOptions, options, where);
    if (typeof handler !== "function") {
      throw new BelfryError(
        "INVALID_HANDLER",
        `${where}: the handler must be a function, got ${quote(handler)}`,
      );
    }
    if (this.tasks.has(name)) {
      throw new BelfryError("DUPLICATE_TASK", `${where}: a task with this name is already defined`);
    }
    // Only what was given: an absent timeout leaves the schedule's (or none).
    const given = Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined));
    this.tasks.set(name, { name, handler, options: given as JobOptions });
    this.namesCache = null;
  }

  /** The task named `name`, or undefined when this replica does not define it. */
  get(name: string): TaskEntry | undefined {
    return this.tasks.get(name);
  }

  /** Names of the tasks defined here, sorted. */
  names(): readonly string[] {
    this.namesCache ??= [...this.tasks.keys()].sort();
    return this.namesCache;
  }
}
