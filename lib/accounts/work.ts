/**
 * The proof of work a server may ask of a password login while its name is
 * being guessed at (docs/PROTOCOL.md "Accounts", "Proof of work"): the
 * server-first message carries `w=BITS`; the client adds `w=SOLUTION` to its
 * client-final message, choosing SOLUTION so that SHA-256 of the client-final
 * message without its proof (`c=biws,r=NONCE,w=SOLUTION`) begins with BITS
 * zero bits. About 2^BITS hashes for the client, one for the server; the
 * nonce is fresh per challenge, so no work can be done ahead. Pure, over
 * node:crypto (both runtimes).
 *
 * @example
 * ```ts
 * const msg = solveWork("c=biws,r=abc", 12); // "c=biws,r=abc,w=…"
 * workDone(msg, 12);                          // true
 * ```
 */
import { createHash } from "node:crypto";

/** The most work a client does for one challenge: a server asking more is refused (it could make clients spin). */
export const MAX_WORK_BITS = 24;

/** How many zero bits `hash` begins with. */
export function leadingZeroBits(hash: Uint8Array): number {
  let n = 0;
  for (const byte of hash) {
    if (byte === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(byte) - 24;
  }
  return n;
}

/** True when SHA-256 of `withoutProof` (a client-final message without ",p=…") begins with `bits` zero bits. */
export function workDone(withoutProof: string, bits: number): boolean {
  if (bits <= 0) return true;
  return leadingZeroBits(createHash("sha256").update(withoutProof).digest()) >= bits;
}

/** `prefix` ("c=biws,r=NONCE") with the first ",w=SOLUTION" (SOLUTION counts up in base 36) whose hash has `bits` zero bits. */
export function solveWork(prefix: string, bits: number): string {
  const head = createHash("sha256").update(`${prefix},w=`);
  for (let i = 0;; i++) {
    const solution = i.toString(36);
    if (leadingZeroBits(head.copy().update(solution).digest()) >= bits) return `${prefix},w=${solution}`;
  }
}
