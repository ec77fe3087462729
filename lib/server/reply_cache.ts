/**
 * A bounded in-memory cache of recent reply texts, so a retransmitted
 * request is answered exactly as before (docs/PROTOCOL.md "Retransmission").
 * Least recently stored entries go first once either bound is reached.
 *
 * @example
 * ```ts
 * const cache = new ReplyCache(1000, 1 << 20);
 * cache.set("session tag", "ok\n7\nlogout\n");
 * cache.get("session tag"); // "ok\n7\nlogout\n"
 * ```
 */
export class ReplyCache {
  #map = new Map<string, string>();
  #bytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;

  constructor(maxEntries = 8192, maxBytes = 16 << 20) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  set(key: string, text: string): void {
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#bytes -= old.length;
      this.#map.delete(key);
    }
    this.#map.set(key, text);
    this.#bytes += text.length;
    while (this.#map.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const [k, v] = this.#map.entries().next().value as [string, string];
      this.#map.delete(k);
      this.#bytes -= v.length;
    }
  }

  get size(): number {
    return this.#map.size;
  }
}
