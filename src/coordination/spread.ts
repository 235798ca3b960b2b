/**
 * Where each replica starts on a burst. Jobs and replicas sit on one hash ring; a replica walks
 * the due jobs clockwise from its own point, so replicas racing for one burst start on different
 * jobs, and no replica sorts the jobs to find its order (the dispatch queue orders jobs due at
 * the same instant by {@link ringRank}).
 */

/**
 * FNV-1a with murmur3's final mix, 32 bits: a stable spread of ids (not a secret); the mix makes
 * ids that differ in one character (`r1`, `r2`, `job-1`, `job-2`) land far apart.
 */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/**
 * The distance from the replica's point to the job's point, clockwise on the ring: the replica
 * claims jobs due at the same instant in ascending rank.
 */
export function ringRank(jobId: string, replicaPoint: number): number {
  return (hash32(jobId) - replicaPoint) >>> 0;
}
