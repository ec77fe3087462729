/**
 * The `got`s of two-disk acks in the simulated full mesh of
 * bench/scaling_breakdown.ts (private to bench/): one real GotSchedule
 * (lib/acks/gots.ts) per server on the simulation's clock, every server
 * live, so each message names the first server after its origin as its
 * confirmer; a server's fan-out of its own ops carries its `got`
 * (`fannedOut`). Every op of the simulation counts as a chat message (the
 * simulation's ops are of random kinds; the bench calls them all messages). A delivery is one commit: the `got`s it makes due go out at
 * the end of that moment; the timer ticks every 25 ms, as the peer port's.
 * Counts every `got` datagram (one per recipient).
 *
 * @example
 * ```ts
 * const g = new GotSim(ids, (t, run) => cluster.net.at(t, run));
 * const sim = timedSim(25, 0.01, (server, op) => g.delivered(server, op));
 * g.start(cluster.now);
 * cluster.runUntil(cluster.now + 10_000);
 * g.sent; // { commit, periodic }: read it before and after a window
 * ```
 */
import type { Op } from "../lib/wire/messages.ts";
import { GotSchedule } from "../lib/acks/gots.ts";
import { Ring } from "../lib/acks/ring.ts";
import { serverOf } from "../lib/rules/incarnation.ts";

/** The peer port's tick, ms (lib/server/peer_port.ts). */
const TICK_MS = 25;

/** Every server's `got` schedule in a simulation (see the file comment). */
export class GotSim {
  #at: (t: number, run: () => void) => void;
  #gots = new Map<string, GotSchedule>();
  #rings = new Map<string, Ring>();
  #flushing = new Set<string>();
  #now = 0;
  /** `got` datagrams sent so far after commits, and by the timer. */
  readonly sent = { commit: 0, periodic: 0 };

  /** `ids`: the servers, in servers.txt order; `at` schedules on the simulation's clock. */
  constructor(ids: readonly string[], at: (t: number, run: () => void) => void) {
    this.#at = at;
    for (const id of ids) {
      this.#rings.set(id, new Ring(ids, id));
      this.#gots.set(id, new GotSchedule(new Ring(ids, id), id));
    }
  }

  /** Server `server` delivered `op` at `now` (its confirmer: the first server after its origin). */
  delivered(server: string, op: Op, now: number): void {
    const conf = this.#rings.get(serverOf(op.origin))!.successors[0];
    this.#gots.get(server)!.delivered({ ...op, kind: "msg", conf } as Op);
    if (this.#flushing.has(server)) return;
    this.#flushing.add(server);
    this.#at(now, () => {
      this.#flushing.delete(server);
      this.sent.commit += this.#gots.get(server)!.afterCommit(now).length;
    });
  }

  /**
   * Server `server` fanned out ops it made at `now`: the fan-out carries its
   * `got` (peer protocol version 3; the simulation's commits are synced at
   * once and hold no open batch), as lib/server/peer_port.ts sends it.
   */
  fannedOut(server: string, now: number): void {
    this.#gots.get(server)!.toldAll(now);
  }

  /** Ticks every server's timer from `from` on, for as long as the simulation runs. */
  start(from: number): void {
    this.#now = from;
    const tick = () => {
      for (const g of this.#gots.values()) this.sent.periodic += g.tick(this.#now)?.length ?? 0;
      this.#now += TICK_MS;
      this.#at(this.#now, tick);
    };
    this.#at(from, tick);
  }
}
