import { constants } from "node:os";
import { keepAlive } from "./clock.js";
import { BelfryError, quote } from "./errors.js";
import type { Logger } from "./observe/logger.js";

/** The signals `shutdownSignals: true` listens to. */
export const DEFAULT_SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"];

/**
 * Validates the `shutdownSignals` scheduler option: `true` for SIGTERM and SIGINT, a list of
 * signal names, or nothing (`false`, the default).
 */
export function toShutdownSignals(
  value: boolean | readonly string[] | undefined,
): readonly NodeJS.Signals[] {
  if (value === undefined || value === false) return [];
  if (value === true) return DEFAULT_SHUTDOWN_SIGNALS;
  if (!Array.isArray(value)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `Scheduler({ shutdownSignals }): must be true, false or a list of signal names, got ${quote(value)}`,
    );
  }
  for (const signal of value as readonly unknown[]) {
    if (
      typeof signal !== "string" ||
      !Object.hasOwn(constants.signals, signal) ||
      signal === "SIGKILL" ||
      signal === "SIGSTOP"
    ) {
      throw new BelfryError(
        "INVALID_OPTION",
        `Scheduler({ shutdownSignals }): ${quote(signal)} is not a signal Node can listen to (e.g. "SIGTERM", "SIGINT")`,
      );
    }
  }
  return [...new Set(value)] as NodeJS.Signals[];
}

/** What a started scheduler holds on its process. */
export interface ProcessHooksOptions {
  /** Hold the process open while started (false with `unref: true`). */
  readonly keepAlive: boolean;
  /** Signals that drain the scheduler and then let the process end. */
  readonly signals: readonly NodeJS.Signals[];
  readonly logger: Logger;
  /** `stop({ drain: true })`: resolves once the scheduler stopped. */
  readonly drain: () => Promise<void>;
}

/**
 * A started scheduler's hold on its Node process: it keeps the process alive until `stop()`
 * (as a server or croner's cron jobs do), and with `shutdownSignals` it drains on the first
 * signal and then raises the signal again so the process ends as it would have (graphile-worker's
 * runner does the same). A second signal while draining ends the process at once; runs still
 * going are recovered by another replica once their lease expires.
 */
export class ProcessHooks {
  private release: (() => void) | null = null;
  private readonly listeners = new Map<NodeJS.Signals, () => void>();
  private draining = false;

  constructor(private readonly options: ProcessHooksOptions) {}

  /** Takes the hold (on `start()`). */
  attach(): void {
    if (this.options.keepAlive && !this.release) this.release = keepAlive();
    this.draining = false;
    for (const signal of this.options.signals) {
      if (this.listeners.has(signal)) continue;
      const listener = () => void this.onSignal(signal);
      this.listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }

  /** Lets go of the process: no keep-alive, no signal listeners (on `stop()`). */
  detach(): void {
    this.release?.();
    this.release = null;
    for (const [signal, listener] of this.listeners) process.off(signal, listener);
    this.listeners.clear();
  }

  private async onSignal(signal: NodeJS.Signals): Promise<void> {
    const { logger } = this.options;
    if (this.draining) {
      logger.warn({ signal }, `belfry: ${signal} again while draining; exiting now`);
      this.detach();
      return this.raise(signal);
    }
    this.draining = true;
    logger.info({ signal }, `belfry: ${signal} received; draining running jobs`);
    try {
      await this.options.drain();
    } catch (error) {
      logger.error({ err: error, signal }, "belfry: stopping on a signal failed");
    }
    this.detach();
    this.raise(signal);
  }

  /** Raises `signal` again so the process ends, unless the application listens to it too. */
  private raise(signal: NodeJS.Signals): void {
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  }
}
