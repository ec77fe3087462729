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
  #map = new Map<string, Answer>();
  #bytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;

  constructor(maxEntries = 8192, maxBytes = 16 << 20) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  get(key: string): Answer | undefined {
    return this.#map.get(key);
  }

  set(key: string, answer: Answer): void {
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#bytes -= old.text.length;
      this.#map.delete(key);
    }
    this.#map.set(key, answer);
    this.#bytes += answer.text.length;
    while (this.#map.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const [k, v] = this.#map.entries().next().value as [string, Answer];
      this.#map.delete(k);
      this.#bytes -= v.text.length;
    }
  }

  get size(): number {
    return this.#map.size;
  }
}
