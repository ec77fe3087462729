/**
 * A count per key that forgets keys whose count falls to zero: live things
 * per session or per IP address (held polls, waiting responses, sockets),
 * and the counters of /metrics.
 *
 * @example
 * ```ts
 * const perIp = new Counts<string>();
 * perIp.add("10.0.0.1"); perIp.get("10.0.0.1"); // 1
 * perIp.remove("10.0.0.1"); perIp.size;         // 0
 * ```
 */
export class Counts<K> {
  #m = new Map<K, number>();

  /** The count of `key` (0 when absent). */
  get(key: K): number {
    return this.#m.get(key) ?? 0;
  }

  /** Adds `n` (default 1) to the count of `key`. */
  add(key: K, n = 1): void {
    this.#m.set(key, this.get(key) + n);
  }

  /** Takes `n` (default 1) from the count of `key`; the key goes when it reaches zero. */
  remove(key: K, by = 1): void {
    const n = this.get(key) - by;
    if (n > 0) this.#m.set(key, n);
    else this.#m.delete(key);
  }

  /** Keys with a count. */
  get size(): number {
    return this.#m.size;
  }

  clear(): void {
    this.#m.clear();
  }

  /** Every key and its count, in the order keys first came. */
  entries(): IterableIterator<[K, number]> {
    return this.#m.entries();
  }
}
