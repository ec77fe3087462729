/**
 * Slows password guessing without handing strangers a lock
 * (docs/SECURITY.md "Accounts"; OWASP Authentication Cheat Sheet, "Protect
 * Against Automated Attacks": a lockout a stranger can trigger is a denial
 * of service of its own). Wrong proofs are counted three ways:
 *
 * - **per source** (an IPv4 address, an IPv6 /64: `guessSource`): after
 *   `sourceFree` misses over all names, that source waits before each next
 *   proof, twice as long after each further miss, up to `maxWaitMs`;
 * - **per name and source**: the same after `pairFree` misses for one name;
 * - **per name**, from every source: this never locks anyone out. Once a
 *   name has `attackMisses` recent misses it is *under attack*, and sources
 *   that have not logged in to it before must send a proof of work with
 *   their proof (lib/accounts/work.ts): `baseBits` zero bits, one more for
 *   each doubling of the misses past `attackMisses`, at most `maxBits`. A source that proved
 *   the password for a name is *known* for it (for `knownMs`) and is never
 *   asked; a forger of its UDP address never sees the challenge it asked
 *   for, so cannot answer it.
 *
 * The owner, from anywhere, pays at most one bounded puzzle; a guesser pays
 * a puzzle per guess and waits per source. Misses older than `forgetMs`
 * are forgotten; a right proof forgives its name+source count. Names that
 * are not registered count alike, so nothing here tells whether a name
 * exists. Counts live in memory, per server. Pure: time is passed in.
 *
 * @example
 * ```ts
 * const g = new GuessGuard();
 * g.wait("bob", "10.0.0.7", now);   // 0: may try now
 * g.work("bob", "10.0.0.7", now);   // 0: no puzzle (bob is not under attack)
 * g.miss("bob", "10.0.0.7", now);   // a wrong password
 * g.hit("bob", "10.0.0.9", now);    // a right one: 10.0.0.9 is known for bob
 * ```
 */

/** The guard's thresholds (DEFAULT_GUARD: the server's). */
export type GuardLimits = {
  /** Misses one source may make (over all names) before it waits. */
  sourceFree: number;
  /** Misses one source may make for one name before it waits. */
  pairFree: number;
  /** The first wait, ms; it doubles with each further miss. */
  baseMs: number;
  /** The longest wait, ms. */
  maxWaitMs: number;
  /** Misses this long ago (ms) no longer count. */
  forgetMs: number;
  /** Recent misses of one name (any source) that put it under attack. */
  attackMisses: number;
  /** Work asked of an unknown source while its name is under attack (zero bits of SHA-256). */
  baseBits: number;
  /** The most work ever asked. */
  maxBits: number;
  /** How long a source that proved a name's password stays known for it, ms. */
  knownMs: number;
  /** Entries kept per table; the least recently touched go first. */
  maxEntries: number;
};

/**
 * The server's thresholds. 20 free misses per source let a shared address
 * (a NAT) mistype; 5 per name and source is OWASP's usual lockout count, as
 * a wait rather than a lock; 10 misses of one name in an hour is past what
 * its owner mistypes; 14 to 20 bits cost a client about 0.04 to 2.6 s
 * (2 to 3 µs a hash) once per login (docs/OPERATIONS.md "Accounts under
 * attack").
 */
export const DEFAULT_GUARD: GuardLimits = {
  sourceFree: 20,
  pairFree: 5,
  baseMs: 1000,
  maxWaitMs: 15 * 60_000,
  forgetMs: 3_600_000,
  attackMisses: 10,
  baseBits: 14,
  maxBits: 20,
  knownMs: 30 * 86_400_000,
  maxEntries: 100_000,
};

type Count = { misses: number; until: number; at: number };

/** The key a source is counted under: an IPv4 address as is, an IPv6 address by its /64 (one host's usual share). */
export function guessSource(host: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return mapped[1];
  if (!host.includes(":")) return host;
  const [head, tail = ""] = host.toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = host.includes("::") ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right] : left;
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":") + "::/64";
}

export class GuessGuard {
  /** Wrong proofs since start (for /metrics). */
  failures = 0;
  /** Attempts refused because their source (or name and source) had to wait. */
  lockedOut = 0;
  /** Challenges that asked for a proof of work. */
  puzzles = 0;
  readonly limits: GuardLimits;
  #sources = new Map<string, Count>();
  #pairs = new Map<string, Count>();
  #names = new Map<string, Count>();
  #known = new Map<string, number>();

  constructor(limits: Partial<GuardLimits> = {}) {
    this.limits = { ...DEFAULT_GUARD, ...limits };
  }

  /** Ms this source must still wait before its next proof for `name` (0: may try now). */
  wait(name: string, source: string, now: number): number {
    const until = Math.max(this.#live(this.#sources, source, now)?.until ?? 0, this.#live(this.#pairs, pair(name, source), now)?.until ?? 0);
    if (until > now) this.lockedOut++;
    return Math.max(0, until - now);
  }

  /** Zero bits of work a challenge for `name` asks of `source` now (0: none). */
  work(name: string, source: string, now: number): number {
    const misses = this.#live(this.#names, name, now)?.misses ?? 0;
    const l = this.limits;
    if (misses < l.attackMisses || this.known(name, source, now)) return 0;
    return Math.min(l.maxBits, l.baseBits + Math.floor(Math.log2(misses / l.attackMisses)));
  }

  /** True when `source` proved the password of `name` within `knownMs`. */
  known(name: string, source: string, now: number): boolean {
    const at = this.#known.get(pair(name, source));
    return at !== undefined && now - at <= this.limits.knownMs;
  }

  /** A wrong proof for `name` from `source`. */
  miss(name: string, source: string, now: number): void {
    this.failures++;
    const l = this.limits;
    this.#bump(this.#sources, source, now, l.sourceFree);
    this.#bump(this.#pairs, pair(name, source), now, l.pairFree);
    this.#bump(this.#names, name, now, Infinity);
  }

  /** A right proof: the name+source count is forgiven, and the source is known for the name. */
  hit(name: string, source: string, now: number): void {
    const k = pair(name, source);
    this.#pairs.delete(k);
    this.#known.delete(k);
    this.#known.set(k, now);
    if (this.#known.size > this.limits.maxEntries) this.#known.delete(this.#known.keys().next().value!);
  }

  /** A count, or undefined when its misses are forgotten. */
  #live(map: Map<string, Count>, k: string, now: number): Count | undefined {
    const c = map.get(k);
    if (c === undefined || now - c.at <= this.limits.forgetMs) return c;
    map.delete(k);
    return undefined;
  }

  #bump(map: Map<string, Count>, k: string, now: number, free: number): void {
    const c = this.#live(map, k, now) ?? { misses: 0, until: 0, at: now };
    c.misses++;
    c.at = now;
    const over = c.misses - free;
    if (over >= 0) c.until = now + Math.min(this.limits.maxWaitMs, this.limits.baseMs * 2 ** Math.min(over, 30));
    map.delete(k);
    map.set(k, c);
    if (map.size > this.limits.maxEntries) map.delete(map.keys().next().value!);
  }
}

const pair = (name: string, source: string) => `${name}\n${source}`;
