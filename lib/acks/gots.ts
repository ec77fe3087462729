/**
 * Who must hear this server's `got` (what is on its disk), and when
 * (docs/ARCHITECTURE.md "Acks"):
 *
 * - after a commit that delivered messages naming this server confirmer,
 *   their origins, which hold those acks until then, and the near servers,
 *   whose long polls hold those copies back until then (stable delivery;
 *   `delivered` is the replicator's hook for each op it delivers;
 *   `afterCommit` says whom to tell);
 * - every LIVENESS.gotNearEveryMs the `near` servers of the ring (the ones
 *   that may name this one), every LIVENESS.gotAllEveryMs every peer: that
 *   is how they know it is alive, and how a lost `got` is made good.
 *
 * Pure: the peer port sends what it is told, and never from inside an open
 * batch.
 *
 * @example
 * ```ts
 * const gots = new GotSchedule(new Ring(ids, "a"), "a");
 * gots.delivered(op);          // from the replicator, for each op it applies
 * send(gots.afterCommit());    // after the commit: the origins waiting
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
  /** Origins of delivered messages naming this server confirmer, not yet told. */
  #due = new Set<string>();
  #last = -Infinity;
  #lastAll = -Infinity;

  constructor(ring: Ring, self: string) {
    this.#ring = ring;
    this.#self = self;
    this.#peers = new Set(ring.peers);
  }

  /**
   * An op was delivered here: a message naming this server its confirmer
   * makes its origin wait for a `got` (its ack), and the near servers too
   * (their readers wait for this server's word: stable delivery).
   */
  delivered(op: Op): void {
    if (op.kind !== "msg" || op.conf !== this.#self) return;
    const id = serverOf(op.origin);
    if (this.#peers.has(id)) this.#due.add(id);
    for (const near of this.#ring.near) this.#due.add(near);
  }

  /** After a commit: the peers waiting for a `got` (then none are). */
  afterCommit(): string[] {
    if (this.#due.size === 0) return [];
    const to = [...this.#due];
    this.#due.clear();
    return to;
  }

  /** On a tick at `now`: the peers to tell now (every peer, or the near ones), or null when no period is due. */
  tick(now: number): readonly string[] | null {
    if (now - this.#last < LIVENESS.gotNearEveryMs) return null;
    const all = now - this.#lastAll >= LIVENESS.gotAllEveryMs;
    this.#last = now;
    if (all) this.#lastAll = now;
    const to = all ? this.#ring.peers : this.#ring.near;
    for (const id of to) this.#due.delete(id);
    return to;
  }
}
