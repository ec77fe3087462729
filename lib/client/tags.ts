/**
 * Request tags (docs/PROTOCOL.md "tag"): a fresh one for every new request, at
 * most 16 alphanumerics. A random prefix tells this client's tags apart from
 * those of an earlier run on the same address; a base-36 counter follows.
 *
 * @example
 * ```ts
 * const next = makeTagger(() => 0.5);
 * next(); // "iiiiii1"
 * next(); // "iiiiii2"
 * ```
 */

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PREFIX_LENGTH = 6;
/** 16 characters minus the prefix: room for 36^10 tags. */
const MAX_COUNTER = 36 ** (16 - PREFIX_LENGTH) - 1;

/** Returns a function that yields a new tag on each call; `random` is in [0, 1). */
export function makeTagger(random: () => number = Math.random): () => string {
  let prefix = "";
  for (let i = 0; i < PREFIX_LENGTH; i++) prefix += ALPHABET[Math.floor(random() * ALPHABET.length) % ALPHABET.length];
  let n = 0;
  return () => {
    n = n >= MAX_COUNTER ? 1 : n + 1;
    return prefix + n.toString(36);
  };
}
