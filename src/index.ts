// Public exports only.
export { Scheduler } from "./scheduler.js";
export type { JobInfo, ManualRun, AuditReport } from "./scheduler.js";
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
export type { SchedulerEvents, SchedulerEventName, Listener } from "./observe/events.js";
export { MemoryStore } from "./stores/memory/index.js";
export type { MemoryStoreOptions } from "./stores/memory/index.js";
export type * from "./stores/store.js";
export { MemoryLocker, StoreElector } from "./coordination/modes.js";
export type { Coordination, Elector, Locker, Lock } from "./coordination/modes.js";
