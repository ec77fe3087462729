/**
 * The causal buffer: operations received before they can be delivered
 * (docs/ARCHITECTURE.md "Identifiers and order"), bounded. Private to
 * lib/replication/replicator.ts.
 */
import type { Op } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { get } from "../wire/vector.ts";

/** Every origin counts (the default of `known`). */
const anyOrigin = (_origin: string) => true;

/** True when `a` covers `b` on the origins `known` accepts (others can never be delivered, so they are not waited for). */
function coversKnown(a: Vector, b: Vector, known: (origin: string) => boolean): boolean {
  for (const [k, n] of b) if (known(k) && get(a, k) < n) return false;
  return true;
}

/** True when `op` can be delivered at a node that has delivered `v`. */
export function isReady(v: Vector, op: Op, known: (origin: string) => boolean = anyOrigin): boolean {
  return get(v, op.origin) === op.seq - 1 && coversKnown(v, op.deps, known);
}

export class CausalBuffer {
  /** origin -> seq -> op */
  #byOrigin = new Map<string, Map<number, Op>>();
  #size = 0;
  readonly limit: number;
  #known: (origin: string) => boolean;

  constructor(limit: number, known: (origin: string) => boolean = anyOrigin) {
    this.limit = limit;
    this.#known = known;
  }

  get size(): number {
    return this.#size;
  }

  has(origin: string, seq: number): boolean {
    return this.#byOrigin.get(origin)?.has(seq) ?? false;
  }

  /** Keeps `op`; false when the buffer is full (the op is not kept). */
  add(op: Op): boolean {
    if (this.#size >= this.limit) return false;
    let m = this.#byOrigin.get(op.origin);
    if (m === undefined) this.#byOrigin.set(op.origin, m = new Map());
    if (m.has(op.seq)) return true;
    m.set(op.seq, op);
    this.#size++;
    return true;
  }

  /** Removes and returns one op deliverable at `v`, if any. */
  takeReady(v: Vector): Op | undefined {
    for (const [origin, m] of this.#byOrigin) {
      const next = get(v, origin) + 1;
      const op = m.get(next);
      if (op !== undefined && coversKnown(v, op.deps, this.#known)) {
        m.delete(next);
        this.#size--;
        if (m.size === 0) this.#byOrigin.delete(origin);
        return op;
      }
    }
    return undefined;
  }
}
