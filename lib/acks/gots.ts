/**
 * Who must hear this server's `got` (what is on its disk), and when
 * (docs/ARCHITECTURE.md "Acks"):
 *
 * - after a commit that delivered messages naming this server confirmer,
 *   their origins, which hold those acks until then, and the near servers,
 *   whose long polls hold those copies back until then (stable delivery;
 *   `delivered` is the replicator's hook for each op it delivers;
 *   `afterCommit` says whom to tell) — every peer in a cluster of at most
 *   LIVENESS.gotAllAfterCommitUpTo servers, whose far ones' readers would
 *   otherwise wait for the periodic `got`;
 * - every LIVENESS.gotNearEveryMs the `near` servers of the ring (the ones
 *   that may name this one), every LIVENESS.gotAllEveryMs every peer: that
 *   is how they know it is alive, and how a lost `got` is made good. A
 *   `got` after a commit counts: a peer told within its period is not told
 *   again by the timer (every `got` carries the whole disk vector), so
 *   under load the confirming commits' `got`s stand for the periodic ones;
 *   a fan-out that carries the `got` (peer protocol version 3, `toldAll`)
 *   tells every peer at once, so a server that keeps making ops sends
 *   hardly any `got` of its own.
 *
 * Pure: the peer port sends what it is told, and never from inside an open
 * batch.
 *
 * @example
 * ```ts
 * const gots = new GotSchedule(new Ring(ids, "a"), "a");
 * gots.delivered(op);          // from the replicator, for each op it applies
 * send(gots.afterCommit(now)); // after the commit: the origins waiting
 * send(gots.tick(now) ?? []);  // from the timer
 * ```
 */
import type { Op } from "../wire/messages.ts";
import { serverOf } from "../rules/incarnation.ts";
import { LIVENESS } from "./liveness.ts";
import type { Ring } from "./ring.ts";

/** When and to whom this server sends its `got`. */
export class GotSchedule {
  #ring: Ring;
  #self: string;
  #peers: Set<string>;
  #near: Set<string>;
  /** Who waits for the `got` after a commit that confirmed messages, besides their origins. */
  #waiting: readonly string[];
  /** Origins of delivered messages naming this server confirmer, not yet told. */
  #due = new Set<string>();
  /** When each peer was last sent a `got`. */
  #told = new Map<string, number>();
  #lastAll = -Infinity;

  constructor(ring: Ring, self: string) {
    this.#ring = ring;
    this.#self = self;
    this.#peers = new Set(ring.peers);
    this.#near = new Set(ring.near);
    this.#waiting = ring.peers.length < LIVENESS.gotAllAfterCommitUpTo ? ring.peers : ring.near;
  }

  /**
   * An op was delivered here: a message naming this server its confirmer
   * makes its origin wait for a `got` (its ack), and the near servers too
   * (their readers wait for this server's word: stable delivery) — in a
   * small cluster every peer.
   */
  delivered(op: Op): void {
    if (op.kind !== "msg" || op.conf !== this.#self) return;
    const id = serverOf(op.origin);
    if (this.#peers.has(id)) this.#due.add(id);
    for (const peer of this.#waiting) this.#due.add(peer);
  }

  /** After a commit at `now`: the peers waiting for a `got` (then none are). */
  afterCommit(now: number): string[] {
    if (this.#due.size === 0) return [];
    const to = [...this.#due];
    this.#due.clear();
    for (const id of to) this.#told.set(id, now);
    return to;
  }

  /**
   * This server just told every peer its disk vector at `now` another way
   * (a fan-out carrying `got`, peer protocol version 3, sent after a commit
   * with no batch open): no one waits for a `got` any more, and the timer
   * tells each peer again only a period after this.
   */
  toldAll(now: number): void {
    this.#due.clear();
    for (const id of this.#ring.peers) this.#told.set(id, now);
  }

  /**
   * On a tick at `now`: the peers to tell now, or null when none is due —
   * the near ones not told for LIVENESS.gotNearEveryMs, and every
   * LIVENESS.gotAllEveryMs the others not told since the previous such
   * tick (give or take a near period, so the period does not slip a tick).
   */
  tick(now: number): readonly string[] | null {
    const { gotNearEveryMs, gotAllEveryMs } = LIVENESS;
    const all = now - this.#lastAll >= gotAllEveryMs;
    if (all) this.#lastAll = now;
    const stale = (id: string, ms: number) => now - (this.#told.get(id) ?? -Infinity) >= ms;
    const to = this.#ring.peers.filter((id) => this.#near.has(id) ? stale(id, gotNearEveryMs) : all && stale(id, gotAllEveryMs - gotNearEveryMs));
    if (to.length === 0) return null;
    for (const id of to) {
      this.#due.delete(id);
      this.#told.set(id, now);
    }
    return to;
  }
}
