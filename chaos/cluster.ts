import { fileURLToPath } from "node:url";
import { spawnReplica, type ReplicaProcess } from "../src/cli/cluster.js";
import type { ReplicaWindow } from "../src/cli/replica.js";
import { sleep, systemClock } from "../src/clock.js";
import { runSources } from "../test/integration/harness/sources.js";
import type { FaultKind, PlannedFault } from "./faults.js";
import type { TcpProxy } from "./proxy.js";
import type { ChaosReplicaArgs, ClockCommand } from "./replica.js";
import type { PrivateServer } from "./servers.js";

/** A fault as it happened (wall-clock ms of this process). */
export interface FaultRecord {
  readonly kind: FaultKind;
  /** The replica id it hit; null for a store fault. */
  readonly replica: string | null;
  readonly startedAt: number;
  /** When the fault was over: restart spawned, SIGCONT sent, server up, partition healed, clock back. */
  readonly endedAt: number;
  readonly detail: string;
}

/** A replica process that exited when nobody killed it; the harness starts it again. */
export interface CrashRecord {
  readonly replica: string;
  readonly at: number;
  readonly exitCode: number | null;
  /** The first error line it printed. */
  readonly reason: string;
}

/** The message line of a Node crash report (`BelfryError: …`, `error: …`), without the stack. */
function crashReason(stderr: string): string | undefined {
  const lines = stderr.split("\n");
  return (
    lines.find((line) => /^\w*(Error|error)(\s\[\w+\])?: /.test(line)) ??
    lines.find((l) => /error/i.test(l))
  );
}

/** How long the harness waits before it restarts a crashed replica (a process supervisor's delay). */
const RESTART_DELAY_MS = 1_000;

const REPLICA = runSources(fileURLToPath(new URL("./replica.ts", import.meta.url)));

/**
 * Three (or more) chaos replica processes and the means to hurt them: each replica has its own
 * settings (and its own TCP proxy, when the store is a server), and can be killed, restarted,
 * paused, partitioned and skewed while the others run on.
 */
export class ChaosCluster {
  private readonly live = new Map<string, ReplicaProcess>();
  /** Every process ever started, restarts included. */
  readonly processes: ReplicaProcess[] = [];
  private window: ReplicaWindow | undefined;
  /** Processes this harness killed or stopped on purpose. */
  private readonly intended = new Set<ReplicaProcess>();
  private stopping = false;
  /** Replica processes that died on their own. */
  readonly crashes: CrashRecord[] = [];

  constructor(
    private readonly args: readonly ChaosReplicaArgs[],
    private readonly proxies: readonly (TcpProxy | undefined)[],
    private readonly server: PrivateServer | undefined,
  ) {}

  /** Starts every replica, waits until all have loaded, and sends them the window. */
  async start(leadMs: number, durationMs: number): Promise<ReplicaWindow> {
    for (const args of this.args) this.spawn(args);
    await Promise.all([...this.live.values()].map((r) => r.loaded));
    const startAt = Math.ceil((systemClock.now() + leadMs) / 1000) * 1000;
    this.window = { startAt, stopAt: startAt + durationMs - 1 };
    for (const replica of this.live.values()) this.send(replica, this.window);
    return this.window;
  }

  /** Runs one planned fault to its end and says what happened. */
  async inject(fault: PlannedFault): Promise<FaultRecord> {
    const args = this.args[fault.replica]!;
    const id = args.replicaId;
    const startedAt = systemClock.now();
    const done = (replica: string | null, detail: string): FaultRecord => ({
      kind: fault.kind,
      replica,
      startedAt,
      endedAt: systemClock.now(),
      detail,
    });
    switch (fault.kind) {
      case "replica kill -9": {
        const victim = this.live.get(id)!;
        this.intended.add(victim);
        victim.child.kill("SIGKILL");
        await victim.exited;
        await sleep(systemClock, fault.durationMs);
        this.send(this.spawn(args), this.window!);
        return done(id, `down ${fault.durationMs} ms, then restarted`);
      }
      case "replica SIGSTOP": {
        const victim = this.live.get(id)!;
        victim.child.kill("SIGSTOP");
        await sleep(systemClock, fault.durationMs);
        victim.child.kill("SIGCONT");
        return done(id, `stopped ${fault.durationMs} ms (lease ${args.leaseMs} ms)`);
      }
      case "store restart":
        await this.server!.restart(fault.durationMs);
        return done(null, `down ${fault.durationMs} ms + start`);
      case "store kill -9":
        await this.server!.kill9(fault.durationMs);
        return done(null, `down ${fault.durationMs} ms + start`);
      case "partition": {
        const proxy = this.proxies[fault.replica]!;
        proxy.partition();
        await sleep(systemClock, fault.durationMs);
        proxy.heal();
        return done(id, `cut off ${fault.durationMs} ms (lease ${args.leaseMs} ms)`);
      }
      case "clock skew": {
        const victim = this.live.get(id)!;
        this.send(victim, { skewMs: fault.skewMs } satisfies ClockCommand);
        await sleep(systemClock, fault.durationMs);
        this.send(victim, { skewMs: 0 } satisfies ClockCommand);
        return done(
          id,
          `${fault.skewMs > 0 ? "+" : ""}${fault.skewMs / 1000} s for ${fault.durationMs} ms`,
        );
      }
    }
  }

  /** SIGTERM to every live replica (drain), and waits for all to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    const replicas = [...this.live.values()];
    for (const replica of replicas) {
      replica.child.stdin!.end();
      replica.child.kill("SIGTERM");
    }
    await Promise.all(replicas.map((r) => r.exited));
  }

  /** Counts of the scheduler events the replicas reported, by name. */
  eventCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const report of this.processes.flatMap((p) => p.reports)) {
      if (report.type === "event") counts[report.name] = (counts[report.name] ?? 0) + 1;
    }
    return counts;
  }

  /**
   * Starts a replica process; one that dies on its own (an unhandled error, a failed start
   * while the store is down) is recorded and started again, as a process supervisor would.
   */
  private spawn(args: ChaosReplicaArgs): ReplicaProcess {
    const replica = spawnReplica(REPLICA, args);
    this.live.set(args.replicaId, replica);
    this.processes.push(replica);
    let stderr = "";
    replica.child.stderr!.on(
      "data",
      (chunk: Buffer) => (stderr = (stderr + String(chunk)).slice(-4_000)),
    );
    void replica.exited.then(async (exitCode) => {
      if (this.stopping || this.intended.has(replica)) return;
      const reason = crashReason(stderr) ?? `exit ${exitCode}`;
      this.crashes.push({
        replica: args.replicaId,
        at: systemClock.now(),
        exitCode,
        reason: reason.trim(),
      });
      await sleep(systemClock, RESTART_DELAY_MS);
      if (this.stopping || this.live.get(args.replicaId) !== replica) return;
      this.send(this.spawn(args), this.window!);
    });
    return replica;
  }

  private send(replica: ReplicaProcess, line: object): void {
    replica.child.stdin!.write(`${JSON.stringify(line)}\n`);
  }
}
