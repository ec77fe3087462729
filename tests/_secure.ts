/**
 * Shared by the tests of lib/secure/: seeded randomness and key pairs (so
 * every run draws the same keys and indices), and addresses.
 */
import { mulberry32, randomBytes } from "../testing/prng.ts";
import { keyPairFromPrivate, type KeyPair } from "../lib/secure/suite.ts";

/** Seeded `random(n)` and `newKeyPair()` for one test. */
export function seeded(seed: number): { random: (n: number) => Uint8Array; newKeyPair: () => KeyPair } {
  const prng = mulberry32(seed);
  const random = (n: number) => randomBytes(prng, n);
  return { random, newKeyPair: () => keyPairFromPrivate(random(32)) };
}

/** The private key bytes of `staticKey(name)`. */
export function staticPrivate(name: string): Uint8Array {
  const raw = new Uint8Array(32);
  for (let i = 0; i < 32; i++) raw[i] = (name.charCodeAt(i % name.length) * (i + 7)) & 0xff;
  return raw;
}

/** A fixed static key pair per name ("a", "b", …), the same in every run. */
export function staticKey(name: string): KeyPair {
  return keyPairFromPrivate(staticPrivate(name));
}

/** The UTF-8 bytes of `s`. */
export const text = (s: string) => new TextEncoder().encode(s);
/** `b` read as UTF-8. */
export const read = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
/** Lower-case hex of `b`. */
export const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
