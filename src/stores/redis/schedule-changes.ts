import { BelfryError } from "../../errors.js";
import type { RedisClientLike, RedisContext, RedisSubscriberLike } from "./connection.js";

/**
 * Wake-ups of runtime schedules over Redis pub/sub (`ScheduleRecords.onScheduleChange`): a
 * write that made a schedule due earlier publishes an empty message on the prefix's channel
 * (`RedisKeys.scheduleChanges`), and every store listening gets it on a connection of its own
 * (a subscribed connection can run no other command). Both sides are best-effort: a lost
 * message only delays a run until the scheduler's next poll, never loses it.
 */

/**
 * Publishes one change message. A failure is ignored on purpose: the write it follows has
 * happened, and failing the call would make the caller think it had not.
 */
export async function publishScheduleChange(context: RedisContext): Promise<void> {
  await context.client.call("publish", context.keys.scheduleChanges, "").catch(() => undefined);
}

/**
 * The listeners of one store and the subscriber connection they share: opened with the first
 * listener (`duplicate()` of the store's client), closed with the last one or by
 * {@link ScheduleChangeFeed.close}.
 */
export class ScheduleChangeFeed {
  private readonly listeners = new Set<() => void>();
  private subscriber: Promise<RedisSubscriberLike> | null = null;

  constructor(
    private readonly client: RedisClientLike,
    private readonly channel: string,
  ) {}

  /**
   * Calls `listener` on every change message until the returned function is called. Resolves
   * once the channel is subscribed, so a write made after it is heard.
   * @throws BelfryError `UNSUPPORTED` for a given client without `duplicate()`; `STORE_ERROR`
   *   when the subscription fails.
   */
  async listen(listener: () => void): Promise<() => Promise<void>> {
    const entry = (): void => listener();
    this.listeners.add(entry);
    try {
      await this.open();
    } catch (error) {
      this.listeners.delete(entry);
      throw error;
    }
    return async () => {
      this.listeners.delete(entry);
      if (this.listeners.size === 0) await this.close();
    };
  }

  /** Closes the subscriber connection (listeners stay registered for a later `listen`). */
  async close(): Promise<void> {
    const opening = this.subscriber;
    this.subscriber = null;
    const subscriber = await opening?.catch(() => null);
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  private open(): Promise<RedisSubscriberLike> {
    this.subscriber ??= this.subscribe().catch((error: unknown) => {
      this.subscriber = null;
      throw error instanceof BelfryError
        ? error
        : new BelfryError("STORE_ERROR", `RedisStore.onScheduleChange: ${String(error)}`, {
            cause: error,
          });
    });
    return this.subscriber;
  }

  private async subscribe(): Promise<RedisSubscriberLike> {
    if (!this.client.duplicate) {
      throw new BelfryError(
        "UNSUPPORTED",
        "RedisStore.onScheduleChange: the given client has no duplicate() to open a subscriber connection with",
      );
    }
    const subscriber = this.client.duplicate();
    // Connection errors are retried by the client; without a listener they would be unhandled.
    subscriber.on("error", () => undefined);
    subscriber.on("message", (channel) => {
      if (channel !== this.channel) return;
      for (const listener of [...this.listeners]) {
        try {
          listener();
        } catch {
          // A wake-up listener that throws must not stop the others (nor the client's reader).
        }
      }
    });
    try {
      await subscriber.subscribe(this.channel);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    return subscriber;
  }
}
