// Public exports only.
export { Scheduler } from "./scheduler.js";
export type { JobInfo } from "./scheduler.js";
export type { Schedules } from "./runtime/schedules.js";
export type {
  ScheduleInfo,
  ScheduleChange,
  ScheduleListQuery,
  ScheduleList,
  ScheduleRef,
  CreateManyResult,
} from "./runtime/schedules.js";
export type { Backfill, BackfillResult } from "./runtime/backfill.js";
export type { ScheduleInput, ScheduleOptions } from "./runtime/definition.js";
export type { TaskOptions } from "./runtime/tasks.js";
export { scheduleJobId } from "./stores/shared/schedules.js";
export { auditStore } from "./observe/audit.js";
export type * from "./observe/audit.js";
export type { ManualRun } from "./coordination/coordinator.js";
export type { SchedulerOptions } from "./scheduler-options.js";
export type { Handler, RunContext, JobOptions, RetryOptions, MissedPolicy } from "./options.js";
export * from "./schedules/index.js";
export type { Schedule, ScheduleSpec, ScheduleContext } from "./schedules/schedule.js";
export { FakeClock, OffsetClock, systemClock } from "./clock.js";
export type { Clock, Timer } from "./clock.js";
export { BelfryError, isBelfryError } from "./errors.js";
export type { BelfryErrorCode } from "./errors.js";
export type { Duration } from "./duration.js";
export type { Logger } from "./observe/logger.js";
export type { HealthReport } from "./observe/health.js";
export type { HistoryRetention } from "./observe/retention.js";
export type { SchedulerEvents, SchedulerEventName, Listener } from "./observe/events.js";
export { MemoryStore } from "./stores/memory/index.js";
export type { MemoryStoreOptions } from "./stores/memory/index.js";
export type * from "./stores/store.js";
export { MemoryLocker, StoreElector } from "./coordination/modes.js";
export type { Coordination, Elector, Locker, Lock } from "./coordination/modes.js";
