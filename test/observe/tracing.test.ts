import { AsyncLocalStorage } from "node:async_hooks";
import {
  context,
  ROOT_CONTEXT,
  trace,
  type Context,
  type ContextManager,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { every } from "../../src/index.js";
import { cluster, T0 } from "../scheduler/harness.js";

/** A span as the in-memory provider below records it. */
interface Recorded {
  readonly name: string;
  readonly attributes: Record<string, unknown>;
  status: { code: number; message?: string } | null;
  exceptions: unknown[];
  ended: boolean;
}

/** Context propagation over AsyncLocalStorage (what the SDK's async-hooks manager does). */
class AlsContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

/** A tracer provider that keeps every span in memory (no SDK package needed). */
function memoryProvider(spans: Recorded[]): TracerProvider {
  const tracer = {
    startSpan(name: string, options?: SpanOptions): Span {
      const record: Recorded = {
        name,
        attributes: { ...options?.attributes },
        status: null,
        exceptions: [],
        ended: false,
      };
      spans.push(record);
      const span = {
        spanContext: () => ({ traceId: "1".repeat(32), spanId: "2".repeat(16), traceFlags: 1 }),
        setAttribute: (key: string, value: unknown) => ((record.attributes[key] = value), span),
        setStatus: (status: { code: number; message?: string }) => ((record.status = status), span),
        recordException: (exception: unknown) => void record.exceptions.push(exception),
        end: () => void (record.ended = true),
        isRecording: () => true,
        name,
      };
      return span as unknown as Span;
    },
  } as unknown as Tracer;
  return { getTracer: () => tracer };
}

const spans: Recorded[] = [];

beforeAll(() => {
  trace.setGlobalTracerProvider(memoryProvider(spans));
  context.setGlobalContextManager(new AlsContextManager());
});

afterAll(() => {
  trace.disable();
  context.disable();
});

describe("a span per run attempt (OpenTelemetry)", () => {
  it("records job, scheduled instant, attempt, replica and outcome, and runs the handler inside it", async () => {
    spans.length = 0;
    const c = cluster();
    const scheduler = c.replica({ replicaId: "a" });
    const activeNames: Array<string | undefined> = [];
    scheduler.job("tick", every("1s"), async () => {
      await Promise.resolve();
      activeNames.push((trace.getActiveSpan() as unknown as { name?: string })?.name);
    });
    await scheduler.start();
    await c.clock.advance(2_000);
    expect(await c.stopAll()).toBe(0);
    expect(spans.map((s) => s.name)).toEqual(["belfry run tick", "belfry run tick"]);
    expect(activeNames).toEqual(["belfry run tick", "belfry run tick"]);
    const [first] = spans;
    expect(first?.attributes).toMatchObject({
      "belfry.job.id": "tick",
      "belfry.run.scheduled_at": new Date(T0 + 1_000).toISOString(),
      "belfry.run.attempt": 1,
      "belfry.replica.id": "a",
      "belfry.run.trigger": "schedule",
      "belfry.run.outcome": "succeeded",
    });
    expect(first?.status).toBeNull();
    expect(spans.every((s) => s.ended)).toBe(true);
  });

  it("gives each attempt its own span; failures carry the error and an error status", async () => {
    spans.length = 0;
    const c = cluster();
    const scheduler = c.replica({ replicaId: "a" });
    scheduler.job(
      "flaky",
      every("1m"),
      () => {
        throw new Error("down");
      },
      { retries: { max: 1, delay: "1s" } },
    );
    await scheduler.start();
    await c.clock.advance(61_000);
    expect(await c.stopAll()).toBe(0);
    expect(
      spans.map((s) => [s.attributes["belfry.run.attempt"], s.attributes["belfry.run.outcome"]]),
    ).toEqual([
      [1, "retrying"],
      [2, "failed"],
    ]);
    expect(spans.map((s) => s.status?.code)).toEqual([2, 2]);
    expect(spans[1]?.exceptions).toEqual([new Error("down")]);
  });
});
