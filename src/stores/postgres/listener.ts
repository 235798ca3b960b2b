import type { Clock, Timer } from "../../clock.js";
import { BelfryError, wrapError } from "../../errors.js";
import type { PgListenClientLike } from "./connection.js";
import { quoteChannel } from "./notify.js";

/**
 * The `LISTEN` side of `PostgresStore.onScheduleChange`: one dedicated connection per store,
 * opened by the first subscriber and closed by the last one (or by `store.close()`). A lost
 * connection (server restart, failover, a killed backend) is reopened after a growing delay;
 * once it listens again every listener is called, because changes made while it was down were
 * announced to nobody. Notifications are best-effort: a missed one only delays a replica until
 * its next poll.
 */

/** First delay before reopening a lost connection; doubled per failure up to the maximum. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/** One `onScheduleChange` registration (an object, so one function can be added twice). */
interface Subscription {
  readonly listener: () => void;
}

/** Calls its subscribers when the store's schedule channel is notified. */
export class ScheduleListener {
  private readonly subscriptions = new Set<Subscription>();
  /** The connection while it listens; null while (re)connecting or idle. */
  private client: PgListenClientLike | null = null;
  private starting: Promise<void> | null = null;
  private retry: Timer | null = null;
  private retryMs = FIRST_RETRY_MS;
  private closed = false;

  /**
   * @param open opens a connected client (see `openListenClient`).
   * @param channel the channel `LISTEN`ed to (see `scheduleChannel`).
   * @param clock times the reconnection delays.
   * @param where names the store in errors.
   */
  constructor(
    private readonly open: () => Promise<PgListenClientLike>,
    private readonly channel: string,
    private readonly clock: Clock,
    private readonly where: string,
  ) {}

  /**
   * Adds `listener`; resolves once the connection listens (so a change committed after that is
   * announced) and returns the function that removes it again.
   * @throws BelfryError `STORE_ERROR` when the connection cannot be opened (nothing is kept).
   */
  async subscribe(listener: () => void): Promise<() => Promise<void>> {
    if (this.closed) {
      throw new BelfryError("NOT_STARTED", `${this.where}.onScheduleChange: the store is closed`);
    }
    const subscription: Subscription = { listener };
    this.subscriptions.add(subscription);
    try {
      // While a lost connection waits to be reopened, the new subscriber joins the others: the
      // reconnection calls every listener anyway.
      if (!this.client && !this.retry) await this.start();
    } catch (error) {
      await this.unsubscribe(subscription);
      throw wrapError("STORE_ERROR", `${this.where}.onScheduleChange`, error);
    }
    return () => this.unsubscribe(subscription);
  }

  /** Stops listening for good: cancels a pending reconnection and ends the connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.subscriptions.clear();
    await this.stop();
  }

  private async unsubscribe(subscription: Subscription): Promise<void> {
    this.subscriptions.delete(subscription);
    if (this.subscriptions.size === 0) await this.stop();
  }

  /** Ends the connection (an attempt in flight ends its own once it sees nobody listens). */
  private async stop(): Promise<void> {
    this.retry?.cancel();
    this.retry = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
    await this.starting?.catch(() => undefined);
  }

  /** Opens and `LISTEN`s, sharing an attempt already in flight. */
  private start(): Promise<void> {
    this.starting ??= this.connect().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async connect(): Promise<void> {
    const client = await this.open();
    client.on("notification", (message) => {
      if (message.channel === this.channel) this.emit();
    });
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    try {
      await client.query(`LISTEN ${quoteChannel(this.channel)}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed || this.subscriptions.size === 0) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  /** The listening connection failed or ended: drop it and reopen it later. */
  private lost(client: PgListenClientLike): void {
    if (client !== this.client) return;
    this.client = null;
    void client.end().catch(() => undefined);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.subscriptions.size === 0 || this.retry) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(delay * 2, MAX_RETRY_MS);
    this.retry = this.clock.setTimer(delay, () => {
      this.retry = null;
      void this.reconnect();
    });
  }

  private async reconnect(): Promise<void> {
    try {
      await this.start();
    } catch {
      this.scheduleRetry();
      return;
    }
    if (!this.client) return;
    this.retryMs = FIRST_RETRY_MS;
    this.emit();
  }

  /** Calls every listener; one that throws neither stops the others nor the connection. */
  private emit(): void {
    for (const { listener } of [...this.subscriptions]) {
      try {
        listener();
      } catch {
        // A listener's failure is its own business; the notification was only a hint.
      }
    }
  }
}
