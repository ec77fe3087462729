/**
 * Peer liveness, one table for the whole server (docs/ARCHITECTURE.md
 * "Acks"): when each peer was last heard (any authenticated datagram), when
 * its last `got` came and what it said is on its disk, how far its clock is
 * from ours, and what its last `got` said of the others' silence. The replicator (lib/replication/replicator.ts), the
 * peer port, the choice of a confirmer (ring.ts) and the ack rule
 * (confirm.ts) all read this one table, and every threshold they read it
 * with is named in LIVENESS below. Pure: times come in as arguments.
 *
 * @example
 * ```ts
 * const peers = new PeerLiveness();
 * peers.heard("b", now);                         // any authenticated datagram of b
 * peers.got("b", vector, bClockAt, now);         // b's `got`: its disk, its clock
 * peers.silentFor("b", now) >= LIVENESS.confirmerDownMs;
 * peers.told("b", silent, now);                  // b's `got` said it has not heard c for 2,000 ms
 * peers.quietFor("c", now, started) >= LIVENESS.confirmerDownMs; // true: c never heard here, and b says so
 * ```
 */
import type { Vector } from "../wire/vector.ts";
import { covers, merge } from "../wire/vector.ts";

/** Every period and threshold of peer liveness, in ms (or in heartbeat periods, for the replicator's). */
export const LIVENESS = {
  /**
   * Servers that may name this one their confirmer: the NEAR servers before
   * it in servers.txt order (a server picks the first live one after itself).
   * They hear its `got` every gotNearEveryMs, every other peer every gotAllEveryMs.
   */
  near: 3,
  /** A server tells its near servers what is on its disk at least this often (also how they know it is alive). */
  gotNearEveryMs: 250,
  /** Every server tells every peer at least this often. */
  gotAllEveryMs: 1000,
  /**
   * In a cluster of at most this many servers, the `got` after a commit that
   * confirmed messages goes to every peer, not only to their origins and the
   * near servers: a far server's readers would otherwise wait for the
   * periodic one (a lost one costs another gotAllEveryMs; issue 27's chaos
   * tail). Wider meshes keep the narrow `got` (the 25-server simulation).
   */
  gotAllAfterCommitUpTo: 8,
  /** A near peer whose `got` came within this long is live, a confirmer candidate: three near periods. */
  liveNearMs: 750,
  /** The same for a peer further on, which sends its `got` every gotAllEveryMs: three of those. */
  liveFarMs: 3000,
  /** A confirmer not heard from for this long is down: another server's disk may stand in for its. */
  confirmerDownMs: 1500,
  /**
   * A `got` passes on the last `got` of each peer its sender has not heard
   * from for at least this long (and less than liveFarMs: then `silent`
   * says it is down), for a server that restarted since and never heard it
   * (peer protocol version 4, `gotof`): two near periods, so a live near
   * peer is seldom passed on.
   */
  passGotAfterMs: 500,
  /** At most this many peers' `got`s are passed on in one `got` (a vector each: a `got` of 25 servers stays well under MAX_DATAGRAM). */
  maxGotsOf: 4,
  /** Clock offsets of peers whose `got` came within this long set chat time (the slowest restarting must not make it jump). */
  clockWithinMs: 3_600_000,
  /** The most a fast server sets its chat time back to follow a slow peer (a day). */
  maxClockLeadMs: 86_400_000,
  /** The replicator answers a datagram of a peer silent this many heartbeat periods with a heartbeat at once (it restarted, or was cut off). */
  staleHeartbeats: 2,
  /** A peer heard within this many heartbeat periods is alive: an ask to it is retried after askRetryMs, not a heartbeat period. */
  aliveHeartbeats: 3,
  /**
   * A peer's `got`s kept until the ack rule can use them (PeerLiveness.usableGot):
   * past this many, the newest waiting one is replaced (the older ones become
   * usable first, the newest covers most).
   */
  maxWaitingGots: 16,
} as const;

type Peer = {
  heardAt?: number;
  gotAt?: number;
  got?: Vector;
  clockOffset?: number;
  /** The `got`s not yet usable by the ack rule, oldest first. */
  waiting?: Vector[];
  /** The merge of the `got`s the ack rule could use. */
  usable?: Vector;
};

/** What this server knows of each peer's liveness (see the file comment). */
export class PeerLiveness {
  #peers = new Map<string, Peer>();
  #lead = 0;
  /** Each peer's last word on the others' silence (`told`): id → when it last heard that one, in this server's clock. */
  #words = new Map<string, Map<string, number>>();

  #peer(id: string): Peer {
    let p = this.#peers.get(id);
    if (!p) this.#peers.set(id, p = {});
    return p;
  }

  /** An authenticated datagram of `peer` came at `now`. */
  heard(peer: string, now: number): void {
    this.#peer(peer).heardAt = now;
  }

  /**
   * A `got` of `peer` came at `now`: `vector` is on its disk, and its clock
   * read `at` when it sent it (one-way delay included: a few ms). Returns
   * the peer's clock minus ours.
   */
  got(peer: string, vector: Vector, at: number, now: number): number {
    const p = this.#peer(peer);
    p.heardAt = now;
    p.gotAt = now;
    p.got = vector;
    // A `got` below the word kept: the peer lost what it said it held (a lost disk) — or the UDP order flipped; its word is this `got` only.
    if (p.usable !== undefined && !covers(vector, p.usable)) [p.usable, p.waiting] = [undefined, []];
    const waiting = p.waiting ??= [];
    if (waiting.length >= LIVENESS.maxWaitingGots) waiting.pop();
    waiting.push(vector);
    p.clockOffset = at - now;
    this.updateLead(now);
    return p.clockOffset;
  }

  /**
   * Peer `teller`'s `got` at `now` said how long it has not heard from each
   * peer it finds silent (`silent`: id → ms, peer protocol version 4; empty
   * for a `got` without the line — none silent, or a teller of an older
   * version). It replaces the teller's earlier word. Only silences of at
   * least LIVENESS.confirmerDownMs are kept: a word counts only when its
   * teller itself takes that peer for down (`quietFor`).
   */
  told(teller: string, silent: Vector, now: number): void {
    this.#words.delete(teller);
    if (silent.size === 0) return;
    const word = new Map<string, number>();
    for (const [id, ms] of silent) if (id !== teller && ms >= LIVENESS.confirmerDownMs) word.set(id, now - ms);
    if (word.size > 0) this.#words.set(teller, word);
  }

  /**
   * How long `peer` has been silent at `now` as the ack rule counts it
   * (docs/ARCHITECTURE.md "A confirmer that dies"): since this server last
   * heard it; never heard since this server started at `started`, since then
   * — or since further back when a peer's last word (`told`) says it has not
   * heard it for that long: the longest silence told counts.
   */
  quietFor(peer: string, now: number, started: number): number {
    const heard = this.heardAt(peer);
    if (heard !== undefined) return now - Math.max(heard, started);
    let since = started;
    for (const word of this.#words.values()) since = Math.min(since, word.get(peer) ?? Infinity);
    return now - since;
  }

  /**
   * Peer `peer`'s last `got` as another peer had it (`gotof`, version 4):
   * kept with `peer`'s own `got`s for the ack rule (`usableGot`: still
   * only once this server has delivered `peer`'s own ops up to it) — not
   * as hearing `peer`, nor as its disk for a stand-in, nor its clock. Only
   * while this server has not heard `peer` since it started: from then on
   * `peer`'s own `got`s say it (a word passed on cannot outlive a lost disk
   * that `got` would show).
   */
  gotOf(peer: string, vector: Vector): void {
    const p = this.#peer(peer);
    if (p.heardAt !== undefined || (p.usable !== undefined && covers(p.usable, vector))) return;
    const waiting = p.waiting ??= [];
    if (waiting.some((w) => covers(w, vector))) return;
    if (waiting.length >= LIVENESS.maxWaitingGots) waiting.pop();
    waiting.push(vector);
  }

  /**
   * What this server passes on in its `got` (version 4): the last `got` of
   * each of `peers` it has not heard from for LIVENESS.passGotAfterMs (nor
   * for liveFarMs or more), as that peer sent it; at most
   * LIVENESS.maxGotsOf of them.
   */
  gotsOf(peers: Iterable<string>, now: number): Map<string, Vector> {
    const out = new Map<string, Vector>();
    for (const id of peers) {
      if (out.size >= LIVENESS.maxGotsOf) break;
      const p = this.#peers.get(id), silent = now - (p?.heardAt ?? now);
      if (p?.got !== undefined && silent >= LIVENESS.passGotAfterMs && silent < LIVENESS.liveFarMs) out.set(id, p.got);
    }
    return out;
  }

  /**
   * What this server tells its peers in its `got` (version 4): each of
   * `peers` not heard from for at least LIVENESS.confirmerDownMs at `now`
   * (counted from `started` when never heard), with for how long (whole
   * ms). Its own hearing only — never a word it was told, so a word is
   * never passed on and outlives nothing.
   */
  silences(peers: Iterable<string>, now: number, started: number): Vector {
    const out = new Map<string, number>();
    for (const id of peers) {
      const ms = Math.floor(now - Math.max(this.heardAt(id) ?? -Infinity, started));
      if (ms >= LIVENESS.confirmerDownMs) out.set(id, ms);
    }
    return out;
  }

  /** When `peer` was last heard at all, or undefined. */
  heardAt(peer: string): number | undefined {
    return this.#peers.get(peer)?.heardAt;
  }

  /** How long `peer` has been silent at `now` (Infinity: never heard). */
  silentFor(peer: string, now: number): number {
    const at = this.heardAt(peer);
    return at === undefined ? Infinity : now - at;
  }

  /** When the last `got` of `peer` came, or undefined. */
  gotAt(peer: string): number | undefined {
    return this.#peers.get(peer)?.gotAt;
  }

  /** What the last `got` of `peer` said is on its disk, or undefined. */
  disk(peer: string): Vector | undefined {
    return this.#peers.get(peer)?.got;
  }

  /**
   * The merge of every `got` of `peer` that passed `usable` (the ack rule's
   * test: this server has delivered the peer's own ops up to it), or
   * undefined. A `got` that fails is kept (up to LIVENESS.maxWaitingGots)
   * and tried again on the next call, so a newer `got` still ahead of this
   * server does not throw away an older one it can use. `usable` must stay
   * true once true (it reads a delivered vector, which only grows): a word
   * that passed is merged for good. A `got` vector only grows, so the merge
   * of usable ones is the newest usable one, whatever order they came in
   * — unless the peer lost its disk: a `got` that does not cover the merge
   * drops it (`got`), so a lost disk's old word does not outlive it.
   */
  usableGot(peer: string, usable: (got: Vector) => boolean): Vector | undefined {
    const p = this.#peers.get(peer);
    if (!p?.waiting) return p?.usable;
    const still: Vector[] = [];
    for (const v of p.waiting) {
      if (usable(v)) p.usable = p.usable ? merge(p.usable, v) : v;
      else still.push(v);
    }
    p.waiting = still;
    return p.usable;
  }

  /** Every peer that sent a `got`, with what it said is on its disk and when. */
  *disks(): Generator<[peer: string, vector: Vector, at: number]> {
    for (const [id, p] of this.#peers) if (p.got && p.gotAt !== undefined) yield [id, p.got, p.gotAt];
  }

  /** The clock of `peer` minus ours, ms, from its last `got`; null when not known. */
  clockOffset(peer: string): number | null {
    return this.#peers.get(peer)?.clockOffset ?? null;
  }

  /**
   * How far this server's clock runs ahead of the slowest peer's, ms (0 when
   * none is slower; at most maxClockLeadMs), among peers whose `got` came
   * within clockWithinMs: the chat clock reads its time this much earlier
   * (docs/ARCHITECTURE.md "Time"). Kept up to date by `got` and `updateLead`.
   */
  get clockLead(): number {
    return this.#lead;
  }

  /** Recomputes clockLead at `now` (the peer port does it every second, as peers fall out of the hour). */
  updateLead(now: number): void {
    let lead = 0;
    for (const p of this.#peers.values()) {
      if (p.clockOffset === undefined || now - (p.gotAt ?? -Infinity) > LIVENESS.clockWithinMs) continue;
      lead = Math.max(lead, -p.clockOffset);
    }
    this.#lead = Math.min(lead, LIVENESS.maxClockLeadMs);
  }
}
