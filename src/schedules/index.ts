/**
 * Schedules: pure functions from a definition and an instant to the next occurrence, one file per
 * kind. See docs/schedules.md for the rules, DST included.
 */
export { assertTimezone } from "./schedule.js";
export type { Schedule, ScheduleContext, ScheduleSpec } from "./schedule.js";
export type { Duration } from "../duration.js";
export type { CalendarOptions } from "./calendar.js";
export { every, type EverySpec } from "./every.js";
export { everyRandom, type EveryRandomSpec } from "./every-random.js";
export { cron, type CronOptions, type CronSpec } from "./cron.js";
export { daily, type DailySpec } from "./daily.js";
export { weekly, type Weekday, type WeekdayName, type WeeklySpec } from "./weekly.js";
export { monthly, type MonthlySpec } from "./monthly.js";
export { once, type InstantInput, type OnceSpec } from "./once.js";
export { preview, type PreviewOptions } from "./preview.js";
export { scheduleFromSpec } from "./spec.js";
