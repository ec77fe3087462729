/**
 * A server's sessions by local index, bounded: *pending* sessions (a
 * responder's, made by a handshake and not yet confirmed by a datagram from
 * the initiator) live at most `pendingMs` and number at most `maxPending`;
 * *live* ones at most `maxLive`. When a map is full its oldest entry goes;
 * expired entries are swept from the front as new ones come (entries are
 * kept in creation order, which is nearly their expiry order). Indices are
 * random 32-bit numbers, unique among the table's sessions and the indices
 * reserved for handshakes in flight.
 *
 * @example
 * ```ts
 * const table = new SessionTable<{ address: string }>({ random });
 * const i = table.newIndex();
 * table.addPending(session, { address: "192.0.2.1:5000" }, now);
 * table.get(i);         // { session, meta, pending: true }
 * table.confirm(i);     // now live
 * ```
 */
import { randomIndex } from "./envelope.ts";
import type { TransportSession } from "./session.ts";

/** A session and what its owner keeps beside it. */
export type TableEntry<M> = { session: TransportSession; meta: M; pending: boolean };

/** Bounds of a SessionTable. */
export type TableOptions = {
  /** `n` random bytes. */
  random: (n: number) => Uint8Array;
  /** Most confirmed sessions (default 100,000). */
  maxLive?: number;
  /** Most unconfirmed sessions (default 20,000). */
  maxPending?: number;
  /** How long an unconfirmed session waits for its first datagram, ms (default 10,000). */
  pendingMs?: number;
};

/** Sessions by local index. */
export class SessionTable<M> {
  readonly #random: (n: number) => Uint8Array;
  readonly #maxLive: number;
  readonly #maxPending: number;
  readonly #pendingMs: number;
  readonly #live = new Map<number, TableEntry<M>>();
  readonly #pending = new Map<number, TableEntry<M>>();
  readonly #reserved = new Set<number>();
  /** Sessions dropped because a map was full. */
  evicted = 0;

  /** An empty table bounded as `o` says. */
  constructor(o: TableOptions) {
    this.#random = o.random;
    this.#maxLive = o.maxLive ?? 100_000;
    this.#maxPending = o.maxPending ?? 20_000;
    this.#pendingMs = o.pendingMs ?? 10_000;
  }

  /** Confirmed sessions held. */
  get liveCount(): number {
    return this.#live.size;
  }

  /** Unconfirmed sessions held. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** A random index no session of the table and no reserved index has; it is reserved until used or released. */
  newIndex(): number {
    for (;;) {
      const i = randomIndex(this.#random);
      if (!this.#live.has(i) && !this.#pending.has(i) && !this.#reserved.has(i)) {
        this.#reserved.add(i);
        return i;
      }
    }
  }

  /** Gives back an index from newIndex that no session was made with. */
  release(index: number): void {
    this.#reserved.delete(index);
  }

  /** The session with local index `index`, when the table has it and it has not expired. */
  get(index: number, now: number): TableEntry<M> | undefined {
    const live = this.#live.get(index);
    if (live !== undefined) return live.session.expired(now) ? undefined : live;
    const p = this.#pending.get(index);
    return p === undefined || now - p.session.createdAt >= this.#pendingMs ? undefined : p;
  }

  /** Adds a responder's session that waits for its first datagram. */
  addPending(session: TransportSession, meta: M, now: number): void {
    this.#add(this.#pending, this.#maxPending, { session, meta, pending: true }, now);
  }

  /** Adds a confirmed session (an initiator's, whose handshake just completed). */
  addLive(session: TransportSession, meta: M, now: number): void {
    this.#add(this.#live, this.#maxLive, { session, meta, pending: false }, now);
  }

  /** Moves a pending session to the live ones (its first datagram authenticated). */
  confirm(index: number, now: number): void {
    const e = this.#pending.get(index);
    if (e === undefined) return;
    this.#pending.delete(index);
    this.#add(this.#live, this.#maxLive, { ...e, pending: false }, now);
  }

  /** Forgets a session. */
  delete(index: number): void {
    this.#live.delete(index);
    this.#pending.delete(index);
    this.#reserved.delete(index);
  }

  #add(map: Map<number, TableEntry<M>>, max: number, e: TableEntry<M>, now: number): void {
    this.sweep(now, 4);
    const i = e.session.localIndex;
    this.#reserved.delete(i);
    map.delete(i);
    map.set(i, e);
    while (map.size > max) {
      map.delete(map.keys().next().value!);
      this.evicted++;
    }
  }

  /** Drops expired sessions from the front of both maps, at most `max` of each (every add sweeps 4). */
  sweep(now: number, max = Infinity): void {
    for (let n = 0; n < max; n++) {
      const first = this.#pending.values().next();
      if (first.done || now - first.value.session.createdAt < this.#pendingMs) break;
      this.#pending.delete(first.value.session.localIndex);
    }
    for (let n = 0; n < max; n++) {
      const first = this.#live.values().next();
      if (first.done || !first.value.session.expired(now)) break;
      this.#live.delete(first.value.session.localIndex);
    }
  }
}
