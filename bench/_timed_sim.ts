/**
 * The simulated full mesh of bench/scaling.ts and bench/scaling_breakdown.ts:
 * N servers (s0, s1, …) running the real replication engine on
 * testing/sim_network.ts with 100–102 ms links, timing each message from
 * when it was made to when the last server applied it. Private to bench/.
 *
 * @example
 * ```ts
 * const sim = timedSim(25, 0.01);
 * for (const op of sim.cluster.createOp("s3")) sim.made(op, sim.cluster.now);
 * sim.cluster.runUntil(5000);
 * sim.reached.get("s3.1"); // { count: 25, at: … }
 * ```
 */
import type { Op } from "../lib/wire/messages.ts";
import { MemoryLog } from "../testing/memory_log.ts";
import { SimCluster } from "../testing/sim_network.ts";

/** One-way link latency of the simulation, ms (plus up to 2 ms). */
export const LATENCY_MS = 100;

/**
 * A seeded cluster of `n` servers losing `loss` of its datagrams; `made`
 * starts timing an op made at `at`; `onApply` hears each op a server
 * applies from a peer, with the simulation's time.
 */
export function timedSim(n: number, loss: number, onApply?: (server: string, op: Op, now: number) => void) {
  const ids = Array.from({ length: n }, (_, i) => `s${i}`);
  /** op id → when it was made. */
  const madeAt = new Map<string, number>();
  /** op id → how many servers have it, and when the last one got it. */
  const reached = new Map<string, { count: number; at: number }>();
  let cluster: SimCluster<MemoryLog>;
  class TimedLog extends MemoryLog {
    readonly server: string;
    constructor(server: string) {
      super();
      this.server = server;
    }
    override applyRemote(op: Op): void {
      super.applyRemote(op);
      onApply?.(this.server, op, cluster.now);
      const r = reached.get(`${op.origin}.${op.seq}`);
      if (r) (r.count++, r.at = cluster.now);
    }
  }
  cluster = new SimCluster({
    ids,
    seed: 1000 + n,
    makeLog: (id) => new TimedLog(id),
    faults: { loss, dup: 0, minLatencyMs: LATENCY_MS, maxLatencyMs: LATENCY_MS + 2 },
  });
  return {
    ids,
    cluster,
    madeAt,
    reached,
    made(op: Op, at: number): void {
      const id = `${op.origin}.${op.seq}`;
      madeAt.set(id, at);
      reached.set(id, { count: 1, at: cluster.now });
    },
  };
}
