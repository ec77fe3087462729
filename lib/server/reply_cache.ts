/**
 * A bounded in-memory cache of recent answers (lib/server/answers.ts), so
 * a retransmitted request is answered exactly as before (docs/PROTOCOL.md
 * "Retransmission"). Least recently stored entries go first once either
 * bound is reached; an answer counts the length of its text.
 *
 * @example
 * ```ts
 * const cache = new ReplyCache(1000, 1 << 20);
 * cache.set("session tag", { text: "ok\n7\nlogout\n", error: null });
 * cache.get("session tag")?.text; // "ok\n7\nlogout\n"
 * ```
 */
import type { ErrorCode } from "../wire/messages.ts";

/** A reply as sent: its text, and its error code when it is an error (null: ok). */
export type Answer = { readonly text: string; readonly error: ErrorCode | null };

export class ReplyCache {
  #map = new Map<string, { answer: Answer; stamp: number }>();
  /**
   * Keys in the order they were stored, each with the stamp it was stored
   * under (a key stored again leaves a stale entry, skipped when reached):
   * eviction pops from the front in O(1), where `map.keys().next()` walks
   * over every deleted slot at the front of a full Map (3 µs a set at
   * 8,192 entries; docs/PERFORMANCE_NOTES.md, change 16).
   */
  #order: { key: string; stamp: number }[] = [];
  #head = 0;
  #stamp = 0;
  #bytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;

  constructor(maxEntries = 8192, maxBytes = 16 << 20) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  get(key: string): Answer | undefined {
    return this.#map.get(key)?.answer;
  }

  set(key: string, answer: Answer): void {
    const old = this.#map.get(key);
    if (old !== undefined) this.#bytes -= old.answer.text.length;
    const stamp = ++this.#stamp;
    this.#map.set(key, { answer, stamp });
    this.#order.push({ key, stamp });
    this.#bytes += answer.text.length;
    while (this.#map.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const { key: k, stamp: n } = this.#order[this.#head++];
      const e = this.#map.get(k);
      if (e === undefined || e.stamp !== n) continue; // stored again later: not the oldest
      this.#map.delete(k);
      this.#bytes -= e.answer.text.length;
    }
    // Stale and popped entries at most as many as live ones (plus a slack): amortized O(1) a set.
    if (this.#order.length > 2 * this.#map.size + 1024) {
      this.#order = this.#order.slice(this.#head).filter((e) => this.#map.get(e.key)?.stamp === e.stamp);
      this.#head = 0;
    }
  }

  get size(): number {
    return this.#map.size;
  }

  /** Entries of the eviction order, stale ones included: at most 2 × size + 1,025. */
  get orderLength(): number {
    return this.#order.length - this.#head;
  }
}
