/**
 * Where each replica works on a burst, without a coordinator. Jobs and replicas sit on one hash
 * ring, each replica on {@link POINTS_PER_REPLICA} points; a replica claims the due jobs nearest
 * its own points first, widening a window around each point in both directions. Racing replicas
 * start on different jobs, each window grows until it meets a neighbour's (only there do claims
 * collide and lose), and with a few points per replica the shares even out (one point leaves a
 * replica between two close neighbours a small share).
 * No replica sorts the jobs: the dispatch queue orders jobs due at the same instant by
 * {@link ringRank}.
 */

/** Points of a replica on the ring: more points, more even shares of a burst. */
export const POINTS_PER_REPLICA = 4;

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

/** The points of `replicaId` on the ring. */
export function replicaPoints(replicaId: string): number[] {
  return Array.from({ length: POINTS_PER_REPLICA }, (_, i) => hash32(`${replicaId}#${i}`));
}

/**
 * The distance on the ring (either way round) from the job to the nearest of the replica's
 * `points`: the replica claims jobs due at the same instant in ascending rank.
 */
export function ringRank(jobId: string, points: readonly number[]): number {
  const at = hash32(jobId);
  let nearest = Number.POSITIVE_INFINITY;
  for (const point of points) {
    const clockwise = (at - point) >>> 0;
    nearest = Math.min(nearest, clockwise, 2 ** 32 - clockwise);
  }
  return nearest;
}
