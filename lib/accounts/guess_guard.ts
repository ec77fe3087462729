/**
 * Slows password guessing (docs/SECURITY.md "Accounts"): wrong proofs are
 * counted per user name and per source address; after `free` of them in a
 * row, that name (or address) must wait before its next attempt, twice as
 * long after each further miss, up to `maxWaitMs`. A right proof clears the
 * name's count. Names that are not registered count the same, so a
 * lockout tells nothing about whether a name exists. Pure: time is passed in.
 *
 * @example
 * ```ts
 * const g = new GuessGuard();
 * g.wait("bob", "10.0.0.7", now);   // 0: may try
 * g.miss("bob", "10.0.0.7", now);   // a wrong password
 * ```
 */
type Count = { misses: number; until: number; at: number };

export class GuessGuard {
  /** Wrong proofs since start (for /metrics). */
  failures = 0;
  /** Attempts refused because their name or address had to wait. */
  lockedOut = 0;
  #names = new Map<string, Count>();
  #sources = new Map<string, Count>();
  #free: number;
  #baseMs: number;
  #maxWaitMs: number;
  #max: number;

  constructor(o: { free?: number; baseMs?: number; maxWaitMs?: number; maxEntries?: number } = {}) {
    this.#free = o.free ?? 5;
    this.#baseMs = o.baseMs ?? 1000;
    this.#maxWaitMs = o.maxWaitMs ?? 15 * 60_000;
    this.#max = o.maxEntries ?? 100_000;
  }

  /** Ms this name or source must still wait before trying (0: may try now). */
  wait(name: string, source: string, now: number): number {
    const w = Math.max(this.#names.get(name)?.until ?? 0, this.#sources.get(source)?.until ?? 0) - now;
    if (w > 0) this.lockedOut++;
    return Math.max(0, w);
  }

  /** A wrong proof for `name` from `source`. */
  miss(name: string, source: string, now: number): void {
    this.failures++;
    this.#bump(this.#names, name, now);
    this.#bump(this.#sources, source, now);
  }

  /** A right proof: the name's misses are forgiven (the source's stay). */
  hit(name: string): void {
    this.#names.delete(name);
  }

  #bump(map: Map<string, Count>, k: string, now: number): void {
    const c = map.get(k) ?? { misses: 0, until: 0, at: now };
    // Misses an hour old are forgotten.
    if (now - c.at > 3_600_000) c.misses = 0;
    c.misses++;
    c.at = now;
    const over = c.misses - this.#free;
    if (over >= 0) c.until = now + Math.min(this.#maxWaitMs, this.#baseMs * 2 ** Math.min(over, 30));
    map.delete(k);
    map.set(k, c);
    if (map.size > this.#max) map.delete(map.keys().next().value!);
  }
}
