/**
 * Held acks grouped by the copy they wait on: by confirmer, then by origin,
 * each group in seq order. A confirmer's `got` covers a prefix of each of
 * its groups (all seqs up to the vector's), so the ack rule
 * (lib/acks/confirm.ts `HeldAcks.due`) visits only what a pass may release,
 * not every held ack after every commit and every `got`. Pure, in memory.
 *
 * @example
 * ```ts
 * const index = new CopyIndex<Held<Copy, Reply>>();
 * index.add(held);                     // held.copy = { origin: "a.1", seq: 7, conf: "b" }
 * for (const [conf, byOrigin] of index.groups()) for (const [origin, list] of byOrigin) list[0];
 * index.remove(held);                  // before held.copy changes, or when it is dropped
 * index.removeAll(answered);           // those a pass answered, in the order it found them
 * ```
 */
import type { Copy } from "./confirm.ts";

/** Held acks (anything naming a `copy`) by confirmer, origin and seq. */
export class CopyIndex<H extends { copy: Copy }> {
  #byConf = new Map<string, Map<string, H[]>>();

  /** Entries indexed. */
  size = 0;

  /** Every group: confirmer → origin → its entries, seq ascending (read, do not change them). */
  groups(): ReadonlyMap<string, ReadonlyMap<string, readonly H[]>> {
    return this.#byConf;
  }

  /** Indexes `h` under its copy as it is now. */
  add(h: H): void {
    const { conf, origin, seq } = h.copy;
    let byOrigin = this.#byConf.get(conf);
    if (byOrigin === undefined) this.#byConf.set(conf, byOrigin = new Map());
    let list = byOrigin.get(origin);
    if (list === undefined) byOrigin.set(origin, list = []);
    // New copies come in seq order: an append, almost always.
    if (list.length === 0 || list[list.length - 1].copy.seq <= seq) list.push(h);
    else list.splice(firstAbove(list, seq), 0, h);
    this.size++;
  }

  /** Takes `h` out (found under its copy as indexed: call before changing `h.copy`); false when it was not there. */
  remove(h: H): boolean {
    const { conf, origin, seq } = h.copy;
    const list = this.#byConf.get(conf)?.get(origin);
    if (list === undefined) return false;
    for (let i = firstAbove(list, seq - 1); i < list.length && list[i].copy.seq === seq; i++) {
      if (list[i] !== h) continue;
      list.splice(i, 1);
      this.size--;
      if (list.length === 0) this.#drop(conf, origin);
      return true;
    }
    return false;
  }

  /** Takes out every entry of `gone` (each indexed under its present copy); a group's first entries first is the cheap order (what a `got` releases). */
  removeAll(gone: readonly H[]): void {
    for (const h of gone) {
      const list = this.#byConf.get(h.copy.conf)?.get(h.copy.origin);
      if (list?.[0] !== h) {
        this.remove(h);
        continue;
      }
      list.shift();
      this.size--;
      if (list.length === 0) this.#drop(h.copy.conf, h.copy.origin);
    }
  }

  #drop(conf: string, origin: string): void {
    const byOrigin = this.#byConf.get(conf)!;
    byOrigin.delete(origin);
    if (byOrigin.size === 0) this.#byConf.delete(conf);
  }
}

/** The index of the first entry of `list` (seq ascending) with a seq above `seq`. */
function firstAbove<H extends { copy: Copy }>(list: readonly H[], seq: number): number {
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].copy.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
