/**
 * The two-disk ack rule as a state machine (docs/ARCHITECTURE.md "Acks"):
 * the `ok` of an add is held until the copy it names is on the disks of two
 * servers — its origin and its confirmer, the server the origin named in the
 * op — and that confirmer has not refused it. Pure: the server's port
 * (lib/server/ack_gate.ts) holds the reply callbacks, calls `due` after each
 * commit and sends what it returns.
 *
 * A copy C (op `o.n`, confirmer `f`) may be acked here when, after a commit:
 * - `f` is this server (this commit holds C and it was not refused), or
 * - `f` told us (`got`, sent after its commits) a durable vector covering
 *   `o.n`, and we have delivered `f`'s own ops up to that vector — so any
 *   hide op `f` made for C when it stored it is applied here, and C would
 *   no longer be the visible copy (not only `f`'s last `got`: the newest
 *   one passing that test, PeerLiveness.usableGot — a server catching up
 *   lags a busy confirmer's last `got`, issue 27), or
 * - `f` is down — nothing heard from it for LIVENESS.confirmerDownMs (new
 *   adds name another confirmer sooner); a server that has not heard `f`
 *   since it started counts from its start, or from further back when a
 *   peer's `got` says that peer has not heard `f` for that long itself
 *   (PeerLiveness.quietFor; peer protocol version 4) — and the copy is on a second disk
 *   all the same: this server's, when it is not the origin, or that of a
 *   live peer other than the origin whose `got` covers it. Without this a
 *   copy stored in the moment its confirmer died would wait for that server
 *   to come back, and its client with it.
 * A copy without a confirmer (a one-server cluster, `--one-disk-acks`), or
 * naming one no longer in servers.txt, is acked at once. The ack always
 * names the copy visible here at that moment.
 *
 * @example
 * ```ts
 * const acks = new HeldAcks<StoredAdd, Reply>({ self: "a", isServer, liveness, started: now });
 * acks.hold(key, { session, tag, copy, until: now + 10_000, data: release });
 * for (const h of acks.due(now, store.vector(), (s, t) => store.messages.byTag(s, t))) h.data(h.copy);
 * ```
 */
import type { Vector } from "../wire/vector.ts";
import { get } from "../wire/vector.ts";
import { serverOf } from "../rules/incarnation.ts";
import { LIVENESS, type PeerLiveness } from "./liveness.ts";
import { CopyIndex } from "./held_index.ts";

/** What the rule reads of a stored copy of an add: its op id and its confirmer ("" for none). */
export type Copy = { origin: string; seq: number; conf: string };

/** A confirmer's word as the rule reads it (see HeldAcks.#word). */
type Word = { needed: boolean; got: Vector | undefined; down: boolean };
const NO_WORD_NEEDED: Word = { needed: false, got: undefined, down: false };

/** An ack being held: the add's (session, tag), the copy last seen visible, when it is dropped unanswered, and what the holder keeps with it. */
export type Held<C extends Copy, T> = { session: string; tag: string; copy: C; until: number; data: T };

export type HeldAcksOptions = {
  /** This server's id (not its incarnation). */
  self: string;
  /** False for an id no longer in servers.txt (its copies are acked on their origin's disk). Default: every id is a server. */
  isServer?: (id: string) => boolean;
  /** The peer liveness table (the confirmer's `got`, other peers' `got`s, when each was heard). */
  liveness: PeerLiveness;
  /** When this server started: a confirmer never heard from counts as heard then (or when a peer last heard it, by the peer's word). */
  started: number;
  /** Most acks held at once; the oldest is dropped past it. Default 50,000. */
  maxHeld?: number;
};

/** The acks a server holds (each with a `T` of its holder's), and the rule that releases them. */
export class HeldAcks<C extends Copy, T> {
  #o: HeldAcksOptions;
  /** By key, in the order held (so `until` ascends: expiry reads from the front). */
  #held = new Map<string, Held<C, T>>();
  /** The same, by confirmer, origin and seq: what a `got` covers is a prefix of each group. */
  #index = new CopyIndex<Held<C, T>>();
  #keyOf = new Map<Held<C, T>, string>();

  constructor(o: HeldAcksOptions) {
    this.#o = o;
  }

  /** Acks held. */
  get size(): number {
    return this.#held.size;
  }

  /** The ack held under retransmission key `key`, if any. */
  get(key: string): Held<C, T> | undefined {
    return this.#held.get(key);
  }

  /** Holds an ack under `key` (nothing when one is held there already); the oldest goes past maxHeld. */
  hold(key: string, held: Held<C, T>): void {
    if (this.#held.has(key)) return;
    if (this.#held.size >= (this.#o.maxHeld ?? 50_000)) this.#forget(this.#held.keys().next().value as string);
    this.#held.set(key, held);
    this.#keyOf.set(held, key);
    this.#index.add(held);
  }

  #forget(key: string): void {
    const h = this.#held.get(key);
    if (h === undefined) return;
    this.#held.delete(key);
    this.#keyOf.delete(h);
    this.#index.remove(h);
  }

  /** True when `copy` may be acked here now (see the file comment); `mine` is this server's delivered vector. */
  confirmed(copy: Copy, mine: Vector, now: number): boolean {
    return this.#confirmedBy(copy, this.#word(copy.conf, mine, now), now);
  }

  /**
   * What confirmer `conf`'s word says, the same for every copy naming it (so
   * read once per check of the table, not once per held ack): whether a word
   * is needed at all (not without a confirmer, from this server, or from an
   * id no longer a server); its newest `got` that we have delivered
   * `conf`'s own ops up to; and whether it is down (silent for
   * LIVENESS.confirmerDownMs), when a second disk may stand in for its.
   */
  #word(conf: string, mine: Vector, now: number): Word {
    const { self, isServer, liveness, started } = this.#o;
    if (conf === "" || conf === self || isServer?.(conf) === false) return NO_WORD_NEEDED;
    // Never heard since this server started: the peers' word may say it has been silent longer (PeerLiveness.quietFor).
    const down = liveness.quietFor(conf, now, started) >= LIVENESS.confirmerDownMs;
    // Not only the last `got`: the newest one whose own-op entries this server has delivered (a catching-up server lags the last).
    const got = liveness.usableGot(conf, (v) => {
      for (const [origin, n] of v) if (serverOf(origin) === conf && get(mine, origin) < n) return false;
      return true;
    });
    return { needed: true, got, down };
  }

  #confirmedBy(copy: Copy, w: Word, now: number): boolean {
    if (!w.needed || (w.got !== undefined && get(w.got, copy.origin) >= copy.seq)) return true;
    return w.down && this.#standIn(copy, now);
  }

  /** The copy's confirmer is down (the caller checked) and a second disk, not the origin's, holds the copy. */
  #standIn(copy: Copy, now: number): boolean {
    const { self, liveness } = this.#o;
    const origin = serverOf(copy.origin);
    if (origin !== self) return true; // this server's disk (checked after a commit) and the origin's
    for (const [peer, v, at] of liveness.disks()) {
      if (peer === copy.conf || peer === origin) continue;
      if (now - at < LIVENESS.confirmerDownMs && get(v, copy.origin) >= copy.seq) return true;
    }
    return false;
  }

  /**
   * After a commit, at `now`: the held acks that may be answered, each with
   * the copy of its (session, tag) visible now (`visible`, given the held
   * ack too; a hide op may have changed it), taken off the table. Those past their `until` and not
   * answered are dropped unanswered (read from the oldest: acks are held in
   * the order of their `until`, unless the clock stepped back — then one
   * is dropped at most that step late). Visits only the acks the rule confirms —
   * each confirmer's `got` covers a prefix of its groups in the index — and,
   * for a confirmer that is down, every ack naming it (the stand-in rule).
   */
  due(now: number, mine: Vector, visible: (session: string, tag: string, held: Held<C, T>) => C | null): Held<C, T>[] {
    // Each confirmer's word once per call (a busy server holds dozens of acks, checked after every commit and `got`).
    const words = new Map<string, Word>();
    const wordOf = (conf: string) => {
      let word = words.get(conf);
      if (word === undefined) words.set(conf, word = this.#word(conf, mine, now));
      return word;
    };
    const out: Held<C, T>[] = [];
    for (const h of this.#confirmedNow(wordOf, now)) {
      // The confirmer's word is in: read which copy is visible now.
      const copy = visible(h.session, h.tag, h);
      if (copy === null) continue;
      if (copy.origin !== h.copy.origin || copy.seq !== h.copy.seq || copy.conf !== h.copy.conf) {
        this.#index.remove(h);
        h.copy = copy;
        this.#index.add(h);
        if (!this.#confirmedBy(copy, wordOf(copy.conf), now)) continue;
      }
      out.push(h);
    }
    this.#index.removeAll(out);
    for (const h of out) {
      this.#held.delete(this.#keyOf.get(h)!);
      this.#keyOf.delete(h);
    }
    for (const [key, h] of this.#held) {
      if (now <= h.until) break;
      this.#forget(key);
    }
    return out;
  }

  /** The held acks the rule confirms now, as the index groups them (a list made before any is changed). */
  #confirmedNow(wordOf: (conf: string) => Word, now: number): Held<C, T>[] {
    const out: Held<C, T>[] = [];
    for (const [conf, byOrigin] of this.#index.groups()) {
      const w = wordOf(conf);
      for (const [origin, list] of byOrigin) {
        const upTo = !w.needed ? Infinity : w.got === undefined ? 0 : get(w.got, origin);
        let i = 0;
        for (; i < list.length && list[i].copy.seq <= upTo; i++) out.push(list[i]);
        if (w.needed && w.down) for (; i < list.length; i++) if (this.#standIn(list[i].copy, now)) out.push(list[i]);
      }
    }
    return out;
  }
}
