import { createRequire } from "node:module";

/** What a run span is about. */
export interface RunSpanInfo {
  readonly jobId: string;
  readonly runId: string;
  readonly scheduledAt: number;
  readonly attempt: number;
  readonly replicaId: string;
  readonly trigger: string;
}

/** How an attempt ended, as the span's `belfry.run.outcome` attribute says it. */
export type SpanOutcome = "succeeded" | "failed" | "retrying" | "leaseLost" | "stopped";

/** One attempt's span: `run` executes the handler inside its context, `end` closes it. */
export interface RunSpan {
  run<T>(fn: () => Promise<T>): Promise<T>;
  end(outcome: SpanOutcome, error?: unknown): void;
}

/** Starts a span per run attempt (a no-op when OpenTelemetry is not installed). */
export interface RunTracer {
  start(info: RunSpanInfo): RunSpan;
}

// The few parts of `@opentelemetry/api` used here, typed structurally so that belfry's types
// never require the package (it is an optional peer).
interface OtelSpan {
  setAttribute(key: string, value: string | number): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error | string): void;
  end(): void;
}
interface OtelContextApi {
  active(): unknown;
  with<T>(context: unknown, fn: () => T): T;
}
/** The subset of the `@opentelemetry/api` module belfry uses. */
export interface OtelApi {
  readonly trace: {
    getTracer(name: string): {
      startSpan(name: string, options?: { attributes?: Record<string, string | number> }): OtelSpan;
    };
    setSpan(context: unknown, span: OtelSpan): unknown;
  };
  readonly context: OtelContextApi;
}

const STATUS_ERROR = 2; // SpanStatusCode.ERROR

const noopSpan: RunSpan = { run: (fn) => fn(), end: () => {} };

/** The tracer used when `@opentelemetry/api` is not installed. */
export const noopTracer: RunTracer = { start: () => noopSpan };

/**
 * Loads `@opentelemetry/api` if the application installed it; null otherwise. The package
 * keeps its global registrations (tracer provider, context manager) on `globalThis`, so the
 * copy loaded here sees what the application's SDK registered.
 */
export function loadOtelApi(): OtelApi | null {
  try {
    return createRequire(import.meta.url)("@opentelemetry/api") as OtelApi;
  } catch {
    return null;
  }
}

/**
 * A tracer over the OpenTelemetry API: one span per run attempt, named `belfry run <jobId>`,
 * with the run's attributes; the handler runs inside the span's context, so spans it starts
 * (HTTP, SQL) become its children.
 */
export function otelTracer(api: OtelApi): RunTracer {
  const tracer = api.trace.getTracer("belfry");
  return {
    start(info) {
      const span = tracer.startSpan(`belfry run ${info.jobId}`, {
        attributes: {
          "belfry.job.id": info.jobId,
          "belfry.run.id": info.runId,
          "belfry.run.scheduled_at": new Date(info.scheduledAt).toISOString(),
          "belfry.run.attempt": info.attempt,
          "belfry.run.trigger": info.trigger,
          "belfry.replica.id": info.replicaId,
        },
      });
      const context = api.trace.setSpan(api.context.active(), span);
      return {
        run: (fn) => api.context.with(context, fn),
        end(outcome, error) {
          span.setAttribute("belfry.run.outcome", outcome);
          if (error !== undefined) {
            span.recordException(error instanceof Error ? error : String(error));
            span.setStatus({ code: STATUS_ERROR, message: describe(error) });
          }
          span.end();
        },
      };
    },
  };
}

/** The run tracer for this process: OpenTelemetry when installed, else a no-op. */
export function defaultTracer(): RunTracer {
  const api = loadOtelApi();
  return api ? otelTracer(api) : noopTracer;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
