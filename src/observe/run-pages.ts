import type { RunRecord, Store } from "../stores/store.js";

/**
 * Every run row with `from ≤ scheduledAt < to`, newest first, one page (about `pageSize` rows)
 * at a time. Pages are cut between instants, never inside one: the rows of the instant a full
 * page ends on are read together (however many there are) before moving to older instants, so
 * no row is read twice or skipped.
 */
export async function* runPages(
  store: Store,
  from: number,
  to: number,
  pageSize: number,
): AsyncGenerator<RunRecord[]> {
  let upper = to;
  while (upper > from) {
    const page = await store.history({ from, to: upper, limit: pageSize });
    if (page.length < pageSize) {
      if (page.length > 0) yield page;
      return;
    }
    const edge = (page[page.length - 1] as RunRecord).scheduledAt;
    const newer = page.filter((run) => run.scheduledAt > edge);
    yield [...newer, ...(await runsAt(store, edge, pageSize))];
    upper = edge;
  }
}

/** All rows scheduled at exactly `at`. */
async function runsAt(store: Store, at: number, pageSize: number): Promise<RunRecord[]> {
  for (let limit = pageSize; ; limit *= 4) {
    const rows = await store.history({ from: at, to: at + 1, limit });
    if (rows.length < limit) return rows;
  }
}
