/**
 * Per-source token buckets (docs/PROTOCOL.md `rate-limited`): each source
 * address:port may send `rate` requests per second on average, `burst` at
 * once. Time is passed in.
 *
 * @example
 * ```ts
 * const limit = new RateLimiter(2, 2);
 * limit.allow("127.0.0.1:5000", 0); // true
 * limit.allow("127.0.0.1:5000", 0); // true
 * limit.allow("127.0.0.1:5000", 0); // false
 * ```
 */
/**
 * Requests per second per source IP address (bursts of twice that). A
 * request costs this server 60–400 µs of CPU over UDP (docs/OPERATIONS.md
 * "Defaults"), so one address at this rate takes at most about a fifth of a
 * core; a NAT or a reverse proxy that many users share needs more.
 */
export const DEFAULT_RATE_LIMIT = 2000;

export class RateLimiter {
  readonly rate: number;
  readonly burst: number;
  #buckets = new Map<string, { tokens: number; at: number }>();

  /** `rate` ≤ 0 turns limiting off. */
  constructor(rate: number, burst = rate * 2) {
    this.rate = rate;
    this.burst = Math.max(1, burst);
  }

  /** Takes one token from `source`'s bucket; false when it is empty. */
  allow(source: string, now: number): boolean {
    if (this.rate <= 0) return true;
    let b = this.#buckets.get(source);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.#buckets.set(source, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets buckets that are full again. */
  prune(now: number): void {
    for (const [k, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.#buckets.delete(k);
    }
  }
}
