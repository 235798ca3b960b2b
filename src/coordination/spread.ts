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

/**
 * The order in which this replica claims jobs due at the same instant, given the replicas it
 * knows of (rows seen recently in the store). With peers, each job has one owner (the replica
 * whose `hash32(replica, job)` is highest: rendezvous hashing, even shares); a replica claims its
 * own jobs first, nearest its points first, then helps with the others' from the far end of
 * their owners' walks, so an owner and its helpers meet in the middle and lose few claims.
 * Alone (or before it has seen a peer) it walks its own points. The order only spreads work:
 * the store's claim decides who runs what, so replicas that disagree on who is there lose
 * claims, never run one twice.
 */
export class BurstOrder {
  private readonly points = new Map<string, number[]>();
  private replicas: readonly string[] = [];

  constructor(private readonly self: string) {}

  /** Takes the replicas seen; true when the set changed (ranks change with it). */
  setReplicas(replicaIds: readonly string[]): boolean {
    const next = [...new Set([...replicaIds, this.self])].sort();
    if (next.join("\n") === this.replicas.join("\n")) return false;
    this.replicas = next;
    return true;
  }

  /** The job's rank: jobs due at the same instant are claimed in ascending rank. */
  rank(jobId: string): number {
    const own = ringRank(jobId, this.pointsOf(this.self));
    if (this.replicas.length < 2) return own;
    let owner = this.self;
    let best = -1;
    for (const replica of this.replicas) {
      const score = hash32(`${replica}\n${jobId}`);
      if (score > best || (score === best && replica < owner)) [owner, best] = [replica, score];
    }
    if (owner === this.self) return own;
    return 2 ** 32 + (2 ** 32 - ringRank(jobId, this.pointsOf(owner)));
  }

  private pointsOf(replicaId: string): number[] {
    let points = this.points.get(replicaId);
    if (!points) this.points.set(replicaId, (points = replicaPoints(replicaId)));
    return points;
  }
}
