/**
 * A small seeded pseudo-random generator (mulberry32) for simulations and
 * tests, and helpers over it. Not for secrets: nonces in production come
 * from `node:crypto` randomBytes (lib/replication/peer_auth.ts takes `random` as an
 * argument so tests can pass this one).
 *
 * @example
 * ```ts
 * const prng = mulberry32(42);
 * prng();                  // a float in [0, 1), the same for every run with seed 42
 * randomInt(prng, 6);      // 0..5
 * randomBytes(prng, 8);    // 8 bytes
 * ```
 */

/** Returns a float in [0, 1). */
export type Prng = () => number;

/** mulberry32: 32-bit state, period 2^32, good enough for simulations. */
export function mulberry32(seed: number): Prng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomInt(prng: Prng, n: number): number {
  return Math.floor(prng() * n);
}

/** One element of a non-empty list. */
export function pick<T>(prng: Prng, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
  return items[randomInt(prng, items.length)];
}

/** `n` pseudo-random bytes. */
export function randomBytes(prng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = randomInt(prng, 256);
  return out;
}
