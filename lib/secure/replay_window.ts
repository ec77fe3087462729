/**
 * The sliding window of received counters of one transport session (RFC
 * 6479, as WireGuard uses it): a counter is accepted once, and only when it
 * is above the highest accepted counter or at most `size − 32` below it and
 * not seen yet. Memory is `size` bits whatever the counters.
 *
 * Check before decrypting (cheap, and a forged datagram must not move the
 * window), accept after the datagram authenticated.
 *
 * @example
 * ```ts
 * const w = new ReplayWindow(1024);
 * w.check(5); // "ok"
 * w.accept(5);
 * w.check(5); // "replay"
 * w.accept(2000);
 * w.check(6); // "stale": more than 992 below 2000
 * ```
 */

/** What a counter would be: new, already accepted, or too far below the window's top. */
export type WindowVerdict = "ok" | "replay" | "stale";

/** RFC 6479 bitmap of `size` bits (a multiple of 32, at least 64). */
export class ReplayWindow {
  readonly #blocks: Uint32Array;
  /** How far below the highest accepted counter a counter may still be. */
  readonly span: number;
  #top = -1;

  /** A window of `size` bits: counters down to `size − 32` below the highest are judged exactly. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 64 || size % 32 !== 0) throw new RangeError(`A replay window is a multiple of 32 bits, at least 64, not ${size}`);
    this.#blocks = new Uint32Array(size / 32);
    this.span = size - 32;
  }

  /** The highest counter accepted, or -1. */
  get top(): number {
    return this.#top;
  }

  /** Whether `counter` (a safe integer ≥ 0) may be accepted. Changes nothing. */
  check(counter: number): WindowVerdict {
    if (counter > this.#top) return "ok";
    if (this.#top - counter >= this.span) return "stale";
    const block = this.#blocks[Math.floor(counter / 32) % this.#blocks.length];
    return (block >>> (counter % 32)) & 1 ? "replay" : "ok";
  }

  /** Records `counter` as received; call only after `check` said "ok" and the datagram authenticated. */
  accept(counter: number): void {
    const n = this.#blocks.length;
    if (counter > this.#top) {
      const from = Math.floor(this.#top / 32), to = Math.floor(counter / 32);
      const clear = Math.min(to - from, n);
      for (let i = 1; i <= clear; i++) this.#blocks[(from + i) % n] = 0;
      this.#top = counter;
    }
    const at = Math.floor(counter / 32) % n;
    this.#blocks[at] = (this.#blocks[at] | (1 << (counter % 32))) >>> 0;
  }
}
