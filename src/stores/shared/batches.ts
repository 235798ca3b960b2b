import type { JobRegistration, RegisterResult, Store } from "../store.js";

/**
 * Chunking of `Store.registerJobs` batches, shared by the stores: a chunk is one statement,
 * transaction or pipeline of the backend.
 */

/** Registrations per store round trip (one multi-row statement, transaction or pipeline). */
export const REGISTER_CHUNK = 500;

/**
 * Splits `registrations` (jobs, or anything written per job id such as runtime schedules) into
 * runs of at most `size`, in order, starting a new chunk where a job id repeats, so that a chunk
 * names each job once and chunks applied one after another give the same results as writing
 * one job at a time.
 */
export function registrationChunks<T extends Pick<JobRegistration, "jobId">>(
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
 * Writes `registrations` chunk after chunk with `registerChunk` (see {@link registrationChunks});
 * results in request order.
 */
export async function registerInChunks<
  T extends Pick<JobRegistration, "jobId"> = JobRegistration,
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
