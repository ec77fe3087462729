/**
 * A reference op log in memory (the `OpLog` of lib/replication/replicator.ts), for unit
 * and simulation tests. It refuses what a correct engine never does — an op
 * applied out of causal order, or twice — by throwing, so a test that
 * breaks causality fails loudly.
 *
 * @example
 * ```ts
 * const log = new MemoryLog();
 * const op: Op = { ...nextOpHead(log.vector(), "a"), kind: "touch" };
 * log.appendLocal(op);
 * log.opsAfter(EMPTY, 10); // [op]
 * ```
 */
import type { Op } from "../lib/wire/messages.ts";
import type { OpLog } from "../lib/replication/replicator.ts";
import type { Vector } from "../lib/wire/vector.ts";
import { advance, covers, EMPTY, get } from "../lib/wire/vector.ts";

/** The fields every op has, as a server fills them for its next op. */
export type OpHead = { origin: string; seq: number; deps: Vector; at: number; session: string };

/** The head of the next op `self` makes at a node that has delivered `v`, as a server fills it. */
export function nextOpHead(v: Vector, self: string, at = 0, session = "0".repeat(64)): OpHead {
  const deps = new Map(v);
  deps.delete(self);
  return { origin: self, seq: get(v, self) + 1, deps, at, session };
}

export class MemoryLog implements OpLog {
  /** Every op, in delivery order. */
  readonly ops: Op[] = [];
  #vector: Vector = EMPTY;
  /** origin -> index in `ops` of seq 1, 2, ... */
  #index = new Map<string, number[]>();
  /** Origins that exist: deps on others are not waited for (none by default: every origin exists). */
  #isOrigin: (origin: string) => boolean;

  constructor(isOrigin: (origin: string) => boolean = () => true) {
    this.#isOrigin = isOrigin;
  }

  vector(): Vector {
    return this.#vector;
  }

  applyRemote(op: Op): void {
    // Checked here independently of the engine under test.
    const deps = new Map([...op.deps].filter(([k]) => this.#isOrigin(k)));
    if (get(this.#vector, op.origin) !== op.seq - 1 || !covers(this.#vector, deps)) {
      throw new Error(`MemoryLog: ${op.origin}.${op.seq} is not causally ready`);
    }
    let idx = this.#index.get(op.origin);
    if (idx === undefined) this.#index.set(op.origin, idx = []);
    idx.push(this.ops.length);
    this.ops.push(op);
    this.#vector = advance(this.#vector, op.origin, op.seq);
  }

  /** Stores an op made here (see nextOpHead). */
  appendLocal(op: Op): void {
    this.applyRemote(op);
  }

  opsAfter(v: Vector, limit: number): Op[] {
    let start = this.ops.length;
    for (const [origin, idx] of this.#index) {
      const n = get(v, origin);
      if (n < idx.length && idx[n] < start) start = idx[n];
    }
    const out: Op[] = [];
    for (let i = start; i < this.ops.length && out.length < limit; i++) {
      const op = this.ops[i];
      if (op.seq > get(v, op.origin)) out.push(op);
    }
    return out;
  }
}
