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
  /** Each key's slot in the order below. */
  #at = new Map<string, number>();
  /**
   * Keys and answers in the order they were stored, side by side; a key
   * stored again leaves its old slot empty (undefined), skipped when
   * reached. Eviction takes the front slot in O(1) without a look-up, and
   * no object is made per set (docs/PERFORMANCE_NOTES.md §2 "addcpu"; the
   * first ring of change 16 made two and looked the front key up).
   */
  #keys: (string | undefined)[] = [];
  #answers: (Answer | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;

  constructor(maxEntries = 8192, maxBytes = 16 << 20) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  get(key: string): Answer | undefined {
    const i = this.#at.get(key);
    return i === undefined ? undefined : this.#answers[i];
  }

  set(key: string, answer: Answer): void {
    const old = this.#at.get(key);
    if (old !== undefined) {
      this.#bytes -= this.#answers[old]!.text.length;
      this.#keys[old] = this.#answers[old] = undefined;
    }
    this.#at.set(key, this.#keys.length);
    this.#keys.push(key);
    this.#answers.push(answer);
    this.#bytes += answer.text.length;
    while (this.#at.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const k = this.#keys[this.#head];
      if (k !== undefined) {
        this.#at.delete(k);
        this.#bytes -= this.#answers[this.#head]!.text.length;
        this.#keys[this.#head] = this.#answers[this.#head] = undefined;
      }
      this.#head++;
    }
    // Empty and popped slots at most as many as live ones (plus a slack): amortized O(1) a set.
    if (this.#keys.length > 2 * this.#at.size + 1024) this.#compact();
  }

  /** Drops the popped and emptied slots, keeping the order. */
  #compact(): void {
    const keys: string[] = [], answers: Answer[] = [];
    for (let i = this.#head; i < this.#keys.length; i++) {
      const k = this.#keys[i];
      if (k === undefined) continue;
      this.#at.set(k, keys.length);
      keys.push(k);
      answers.push(this.#answers[i]!);
    }
    this.#keys = keys;
    this.#answers = answers;
    this.#head = 0;
  }

  get size(): number {
    return this.#at.size;
  }

  /** Slots of the eviction order, empty ones included: at most 2 × size + 1,025. */
  get orderLength(): number {
    return this.#keys.length - this.#head;
  }
}
