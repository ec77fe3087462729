/**
 * How many connections the web listener holds: at most `perAddress` of one
 * IP address and `total` in all. When the total is reached, a newcomer
 * from an address holding fewer than the heaviest address (by two or more)
 * still gets in: the heaviest address's oldest connection makes room. So
 * many addresses that each stay under the per-address cap cannot shut out
 * an address that holds one or none (the row 5 attack of SECURITY.md).
 * Pure: the caller closes what it is told to evict.
 *
 * @example
 * ```ts
 * const b = new ConnectionBudget<string>({ perAddress: 2, total: 2 });
 * b.add("10.0.0.1", "c1"); b.add("10.0.0.1", "c2");
 * b.admit("10.0.0.1"); // { admit: false, reason: "address" }
 * b.admit("10.0.0.2"); // { admit: true, evict: "c1" }
 * ```
 */

/** The answer for a newcomer: refused, admitted, or admitted once `evict` is closed and removed. */
export type Admission<C> = { admit: true; evict?: C } | { admit: false; reason: "address" | "total" };

/** Connections `C` counted per address and in all, with the busiest address found in O(1). */
export class ConnectionBudget<C> {
  readonly perAddress: number;
  readonly total: number;
  #byAddress = new Map<string, Set<C>>();
  /** Addresses by how many connections each holds (only counts ≥ 1). */
  #byCount = new Map<number, Set<string>>();
  #max = 0;
  #size = 0;

  /** `perAddress`, `total`: Infinity for no limit. */
  constructor(o: { perAddress: number; total: number }) {
    this.perAddress = o.perAddress;
    this.total = o.total;
  }

  /** Connections held. */
  get size(): number {
    return this.#size;
  }

  /** Connections held of `address`. */
  count(address: string): number {
    return this.#byAddress.get(address)?.size ?? 0;
  }

  /** Whether a new connection of `address` may be taken (and what must go first). */
  admit(address: string): Admission<C> {
    const n = this.count(address);
    if (n >= this.perAddress) return { admit: false, reason: "address" };
    if (this.#size < this.total) return { admit: true };
    if (this.#max < n + 2) return { admit: false, reason: "total" };
    const heaviest = this.#byCount.get(this.#max)!.values().next().value as string;
    return { admit: true, evict: this.#byAddress.get(heaviest)!.values().next().value as C };
  }

  /** Counts `conn` of `address` (after `admit` said yes). */
  add(address: string, conn: C): void {
    let set = this.#byAddress.get(address);
    if (!set) this.#byAddress.set(address, set = new Set());
    if (set.has(conn)) return;
    this.#move(address, set.size, set.size + 1);
    set.add(conn);
    this.#size++;
  }

  /** Forgets `conn` of `address`; nothing when it is not counted. */
  remove(address: string, conn: C): void {
    const set = this.#byAddress.get(address);
    if (!set?.delete(conn)) return;
    this.#move(address, set.size + 1, set.size);
    if (set.size === 0) this.#byAddress.delete(address);
    this.#size--;
  }

  #move(address: string, from: number, to: number): void {
    if (from > 0) {
      const bucket = this.#byCount.get(from)!;
      bucket.delete(address);
      if (bucket.size === 0) this.#byCount.delete(from);
    }
    if (to > 0) {
      let bucket = this.#byCount.get(to);
      if (!bucket) this.#byCount.set(to, bucket = new Set());
      bucket.add(address);
    }
    if (to > this.#max) this.#max = to;
    else if (from === this.#max && !this.#byCount.has(from)) this.#max = to;
  }
}
