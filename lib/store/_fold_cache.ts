/**
 * A cache of folds kept up to date op by op: the state of a room's
 * moderation or of a name's account is a fold of its ops in conflict-key
 * order (lib/moderation/rules.ts, lib/accounts/ledger.ts). Folding the whole
 * history again for each new op costs O(its ops) per op, which one session
 * sending `mod topic` 500 times a second turned into a full core; but a new
 * op almost always sorts after every op already folded (it was made after
 * them), and then the fold is the cached state with one step more. Only an
 * op that lands in the past of the order (a concurrent op from a peer) makes
 * the entry be read and folded again from all its ops. Either way the state
 * is the one the full fold gives (tests/fold_cache_test.ts). Private to
 * lib/store/.
 *
 * @example
 * ```ts
 * const rooms = new FoldCache<RoomMod, ModOp>({ load: (k) => readAndSettle(k), step: foldMod });
 * rooms.get("lobby");           // read and folded once
 * rooms.applied("lobby", op);   // one step more (or forgotten, if op sorts before the last folded)
 * ```
 */
import { type Key, keyLess } from "./rules.ts";

/** A folded state and the key of the last op folded into it (null: none). */
export type Folded<S> = { state: S; last: Key | null };

export type FoldCacheOptions<S, O extends { key: Key }> = {
  /** Reads every op of `k` and folds them (a full fold). */
  load(k: string): Folded<S>;
  /** Folds one more op, which sorts after every op folded into `state`; returns the new state (may be `state`, changed). */
  step(state: S, op: O): S;
  /** Entries kept; the oldest goes first. Default 10,000. */
  max?: number;
};

export class FoldCache<S, O extends { key: Key }> {
  #o: FoldCacheOptions<S, O>;
  #max: number;
  #entries = new Map<string, Folded<S>>();
  /** Entries read and folded from all their ops (for tests and benchmarks). */
  loads = 0;

  constructor(o: FoldCacheOptions<S, O>) {
    this.#o = o;
    this.#max = o.max ?? 10_000;
  }

  /** The folded state of `k`. Read it now: a later op may change it in place. */
  get(k: string): S {
    const hit = this.#entries.get(k);
    if (hit !== undefined) return hit.state;
    const folded = this.#o.load(k);
    this.loads++;
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(k, folded);
    return folded.state;
  }

  /**
   * Op `op` of `k` was stored (after what `get` may have read): folded in
   * when it sorts after every op folded so far, else the entry is forgotten
   * and the next `get` folds all of them again.
   */
  applied(k: string, op: O): void {
    const e = this.#entries.get(k);
    if (e === undefined) return;
    if (e.last !== null && !keyLess(e.last, op.key)) {
      this.#entries.delete(k);
      return;
    }
    e.state = this.#o.step(e.state, op);
    e.last = op.key;
  }

  /** Something else the fold depends on changed (a room's owner): fold `k` again when next asked. */
  forget(k: string): void {
    this.#entries.delete(k);
  }
}

/** The largest key of `keys`, or null when there is none. */
export function lastKey(keys: Iterable<Key>): Key | null {
  let last: Key | null = null;
  for (const k of keys) if (last === null || keyLess(last, k)) last = k;
  return last;
}
