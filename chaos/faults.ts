/** The fault classes a chaos run injects. */
export const FAULT_KINDS = [
  "replica kill -9",
  "replica SIGSTOP",
  "store restart",
  "store kill -9",
  "partition",
  "clock skew",
] as const;

/** One fault class. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Fault classes that hit the store server rather than one replica. */
export const STORE_FAULTS: readonly FaultKind[] = ["store restart", "store kill -9"];

/** A fault in the seeded plan. */
export interface PlannedFault {
  readonly kind: FaultKind;
  /** When it starts, ms after the window's start (later if the previous fault ran long). */
  readonly atMs: number;
  /** How long the fault lasts: down time, pause, partition or skew. */
  readonly durationMs: number;
  /** Which replica (index) a replica fault hits. */
  readonly replica: number;
  /** For `clock skew`: the offset, ±30 s. */
  readonly skewMs: number;
}

/** What shapes a plan. */
export interface PlanOptions {
  readonly seed: number;
  readonly windowMs: number;
  readonly leaseMs: number;
  readonly replicas: number;
  /** The classes this store can take (no server faults on SQLite or a shared server). */
  readonly kinds: readonly FaultKind[];
  /** One fault of each class, back to back (CI), instead of faults until the window ends. */
  readonly once: boolean;
}

/** mulberry32: a small seeded PRNG, enough to make a fault schedule reproducible. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * A reproducible fault schedule: the classes in a seeded order (each class once per round, so
 * every class is hit), one at a time with a pause between. A pause past the lease and a
 * partition last longer than the lease, so that the victim's runs are taken over.
 */
export function planFaults(options: PlanOptions): PlannedFault[] {
  const random = prng(options.seed);
  // A short (once) plan keeps every fault at its shortest.
  const between = (min: number, max: number) =>
    options.once ? min : Math.round(min + random() * (max - min));
  const { leaseMs } = options;
  const durations: Record<FaultKind, () => number> = {
    "replica kill -9": () => between(500, 3_000),
    "replica SIGSTOP": () => leaseMs + between(1_000, 3_000),
    "store restart": () => between(500, 3_000),
    "store kill -9": () => between(500, 3_000),
    partition: () => leaseMs + between(1_000, 4_000),
    "clock skew": () => between(3_000, 10_000),
  };
  const gap = () => (options.once ? 1_000 : between(3_000, 8_000));
  const plan: PlannedFault[] = [];
  let atMs = options.once ? 1_000 : between(2_000, 5_000);
  for (;;) {
    const round = shuffle(options.kinds, random);
    for (const kind of round) {
      const durationMs = durations[kind]();
      if (!options.once && atMs + durationMs > options.windowMs - 5_000) return plan;
      plan.push({
        kind,
        atMs,
        durationMs,
        replica: Math.floor(random() * options.replicas),
        skewMs: random() < 0.5 ? -30_000 : 30_000,
      });
      atMs += durationMs + gap();
    }
    if (options.once) return plan;
  }
}
