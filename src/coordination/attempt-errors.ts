import type { ClaimedRun, Store } from "../stores/store.js";

/** Longest error text written to a run row; older attempts are cut first. */
const MAX_ERROR_CHARS = 4_000;

/**
 * The errors of a run's attempts, kept for its row: `attempt 1: Error: …; attempt 2: …`. The
 * run's outcome writes the whole text, so a run that failed, was retried and then succeeded
 * (or failed again) still shows why each earlier attempt failed.
 */
export class AttemptErrors {
  private readonly parts: string[] = [];

  /** `previous`: what the row already said (a recovered run: why its lease expired). */
  constructor(previous: string | null = null) {
    if (previous) this.parts.push(previous);
  }

  /** Records why `attempt` failed. */
  add(attempt: number, error: unknown): void {
    this.parts.push(`attempt ${attempt}: ${describeError(error)}`);
  }

  /** Adds a line as is (`beforeRun: …`, `skipped by beforeRun`). */
  note(text: string): void {
    this.parts.push(text);
  }

  /** The text for the run's `error` column, or null when nothing failed. */
  text(): string | null {
    if (this.parts.length === 0) return null;
    const all = this.parts.join("; ");
    return all.length <= MAX_ERROR_CHARS ? all : `…${all.slice(-(MAX_ERROR_CHARS - 1))}`;
  }
}

/** `Error: message` for an Error, `String(error)` otherwise, cut to a row's length. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, MAX_ERROR_CHARS);
}

/**
 * The `error` column of a run taken over by recovery (it names the replica whose lease
 * expired and, when that replica wrote one, the errors before): the new attempts append to it.
 * Null when the row cannot be read; the run goes on without it.
 */
export async function previousError(
  store: Pick<Store, "history">,
  run: ClaimedRun,
): Promise<string | null> {
  try {
    const rows = await store.history({
      jobId: run.jobId,
      from: run.scheduledAt,
      to: run.scheduledAt + 1,
      limit: 10,
    });
    return rows.find((row) => row.runId === run.runId)?.error ?? null;
  } catch {
    return null;
  }
}
