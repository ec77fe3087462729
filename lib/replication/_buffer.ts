/**
 * The causal buffer: operations received before they can be delivered
 * (docs/ARCHITECTURE.md "Identifiers and order"), bounded so that no peer —
 * however broken or hostile — can make it grow past its share or stall
 * delivery. Private to lib/replication/replicator.ts.
 *
 * - Indexed by origin, then seq: delivery looks up the one seq each origin
 *   needs next (`takeReady` costs O(origins), never a scan of the ops).
 * - Bounded in ops overall, and in ops and bytes per sending peer: a peer
 *   past its share has its ops refused (the gap is asked for again later).
 * - An op more than `maxAhead` seqs past what its origin needs is refused:
 *   far-future seqs can only come from a broken or hostile sender.
 * - Entries expire after `ttlMs`; what they held is asked for again like
 *   any lost datagram.
 */
import type { Op } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { get } from "../wire/vector.ts";

/** Every origin counts (the default of `known`). */
const anyOrigin = (_origin: string) => true;
/** The most held ops past the delivered vector `covers` looks up per origin (past that, a catch-up: ask). */
const MAX_HELD_RUN = 64;

/** True when `a` covers `b` on the origins `known` accepts (others can never be delivered, so they are not waited for). */
function coversKnown(a: Vector, b: Vector, known: (origin: string) => boolean): boolean {
  for (const [k, n] of b) if (get(a, k) < n && known(k)) return false; // `known` (a string slice and a look-up) only for what `a` lacks
  return true;
}

/** True when `op` can be delivered at a node that has delivered `v`. */
export function isReady(v: Vector, op: Op, known: (origin: string) => boolean = anyOrigin): boolean {
  return get(v, op.origin) === op.seq - 1 && coversKnown(v, op.deps, known);
}

export type BufferLimits = {
  /** Ops held in all. */
  maxOps: number;
  /** Ops held from one sending peer. */
  maxOpsPerPeer: number;
  /** Bytes (wire size) held from one sending peer. */
  maxBytesPerPeer: number;
  /** Largest seq past the next one its origin needs. */
  maxAhead: number;
  /** How long an op is held, ms. */
  ttlMs: number;
};

type Entry = { op: Op; from: string; bytes: number; at: number };

/** Why an op was not kept (the replicator counts it under this name), or null when it was. */
export type Refusal = "buffer-full" | "peer-buffer-full" | "too-far-ahead" | null;

export class CausalBuffer {
  /** origin -> seq -> entry */
  #byOrigin = new Map<string, Map<number, Entry>>();
  /** Entries in arrival order, for expiry (removed ones are skipped when reached). */
  #fifo: Entry[] = [];
  #fifoHead = 0;
  #perPeer = new Map<string, { ops: number; bytes: number }>();
  #size = 0;
  readonly limits: BufferLimits;
  #known: (origin: string) => boolean;

  constructor(limits: BufferLimits, known: (origin: string) => boolean = anyOrigin) {
    this.limits = limits;
    this.#known = known;
  }

  get size(): number {
    return this.#size;
  }

  has(origin: string, seq: number): boolean {
    return this.#byOrigin.get(origin)?.has(seq) ?? false;
  }

  /**
   * True when every op `v` names is in `base` or held here (at most
   * MAX_HELD_RUN past `base` per origin are looked up): a peer whose vector
   * this covers has nothing for us that a repair of our own gap would not
   * bring too (lib/replication/replicator.ts `#askForGaps`).
   */
  covers(base: Vector, v: Vector): boolean {
    for (const [origin, n] of v) {
      const from = get(base, origin);
      if (n <= from) continue;
      if (n - from > MAX_HELD_RUN) return false;
      for (let seq = from + 1; seq <= n; seq++) if (!this.has(origin, seq)) return false;
    }
    return true;
  }

  /** Keeps `op` (sent by peer `from`, `bytes` long) at a node that has delivered `v`; says why not when it is refused. */
  add(op: Op, from: string, bytes: number, v: Vector, now: number): Refusal {
    const l = this.limits;
    if (op.seq - get(v, op.origin) > l.maxAhead) return "too-far-ahead";
    let m = this.#byOrigin.get(op.origin);
    if (m?.has(op.seq)) return null;
    if (this.#size >= l.maxOps) return "buffer-full";
    const p = this.#perPeer.get(from) ?? { ops: 0, bytes: 0 };
    if (p.ops >= l.maxOpsPerPeer || p.bytes + bytes > l.maxBytesPerPeer) return "peer-buffer-full";
    if (m === undefined) this.#byOrigin.set(op.origin, m = new Map());
    const e: Entry = { op, from, bytes, at: now };
    m.set(op.seq, e);
    this.#fifo.push(e);
    p.ops++;
    p.bytes += bytes;
    this.#perPeer.set(from, p);
    this.#size++;
    return null;
  }

  /** Removes and returns one op deliverable at `v`, if any. */
  takeReady(v: Vector): Op | undefined {
    for (const [origin, m] of this.#byOrigin) {
      const e = m.get(get(v, origin) + 1);
      if (e !== undefined && coversKnown(v, e.op.deps, this.#known)) {
        this.#remove(e);
        return e.op;
      }
    }
    return undefined;
  }

  /** Drops entries held longer than `ttlMs`, and those `v` has made stale; returns how many expired. */
  expire(v: Vector, now: number): number {
    let expired = 0;
    while (this.#fifoHead < this.#fifo.length) {
      const e = this.#fifo[this.#fifoHead];
      const live = this.#byOrigin.get(e.op.origin)?.get(e.op.seq) === e;
      if (live && now - e.at < this.limits.ttlMs) break;
      this.#fifoHead++;
      if (!live) continue;
      this.#remove(e);
      if (e.op.seq > get(v, e.op.origin)) expired++;
    }
    // Delivered entries stay in the queue until its head passes them: compact now and then.
    if (this.#fifoHead > 1024 && this.#fifoHead * 2 > this.#fifo.length || this.#fifo.length > 4 * this.limits.maxOps + 1024) {
      this.#fifo = this.#fifo.slice(this.#fifoHead).filter((x) => this.#byOrigin.get(x.op.origin)?.get(x.op.seq) === x);
      this.#fifoHead = 0;
    }
    return expired;
  }

  #remove(e: Entry): void {
    const m = this.#byOrigin.get(e.op.origin);
    if (m?.get(e.op.seq) !== e) return;
    m.delete(e.op.seq);
    if (m.size === 0) this.#byOrigin.delete(e.op.origin);
    this.#size--;
    const p = this.#perPeer.get(e.from);
    if (p) {
      p.ops--;
      p.bytes -= e.bytes;
      if (p.ops === 0) this.#perPeer.delete(e.from);
    }
  }
}
