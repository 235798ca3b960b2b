import type { JobRegistration, RegisterResult, Store } from "../store.js";

/**
 * Chunking of `Store.registerJobs` batches, shared by the stores: a chunk is one statement,
 * transaction or pipeline of the backend.
 */

/** Registrations per store round trip (one multi-row statement, transaction or pipeline). */
export const REGISTER_CHUNK = 500;

/**
 * Splits `registrations` into runs of at most `size`, in order, starting a new chunk where a
 * job id repeats, so that a chunk names each job once and chunks applied one after another
 * give the same results as registering one job at a time. Any per-job item works (schedule
 * writes, `advanceSchedules` items, job ids wrapped as `{ jobId }`).
 */
export function registrationChunks<T extends { readonly jobId: string }>(
  registrations: readonly T[],
  size: number = REGISTER_CHUNK,
): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let ids = new Set<string>();
  for (const registration of registrations) {
    if (chunk.length >= size || ids.has(registration.jobId)) {
      chunks.push(chunk);
      chunk = [];
      ids = new Set();
    }
    chunk.push(registration);
    ids.add(registration.jobId);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Splits `items` into runs of at most `size`, in order: the chunking of batched writes whose
 * items a backend applies one after another inside a chunk (so a repeated id needs no split).
 */
export function chunksOf<T>(items: readonly T[], size: number = REGISTER_CHUNK): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    chunks.push(items.slice(start, start + size));
  }
  return chunks;
}

/**
 * Registers `registrations` chunk after chunk with `registerChunk`; results in request order.
 * Also applies other per-job batches the same way (e.g. `putSchedules`).
 */
export async function registerInChunks<
  T extends { readonly jobId: string } = JobRegistration,
  R = RegisterResult,
>(
  registrations: readonly T[],
  registerChunk: (chunk: readonly T[]) => Promise<R[]>,
  size: number = REGISTER_CHUNK,
): Promise<R[]> {
  const results: R[] = [];
  for (const chunk of registrationChunks(registrations, size)) {
    results.push(...(await registerChunk(chunk)));
  }
  return results;
}

/** `Store.registerJob` as a batch of one. */
export async function registerOne(
  store: Pick<Store, "registerJobs">,
  registration: JobRegistration,
): Promise<RegisterResult> {
  const [result] = await store.registerJobs([registration]);
  return result as RegisterResult;
}
