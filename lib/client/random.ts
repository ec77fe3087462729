/**
 * Random bytes from the environment's CSPRNG (`crypto.getRandomValues`:
 * Node, Deno and every browser, in secure contexts or not). The client
 * core's one source of randomness; tests inject their own where it matters.
 *
 * @example
 * ```ts
 * const salt = randomBytes(16);
 * ```
 */

/** `n` random bytes. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65536 bytes per call.
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  return out;
}
