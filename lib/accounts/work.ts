/**
 * The proof of work a server may ask of a password login while its name is
 * being guessed at (docs/PROTOCOL.md "Accounts", "Proof of work"): the
 * server-first message carries `w=BITS`; the client adds `w=SOLUTION` to its
 * client-final message, choosing SOLUTION so that SHA-256 of the client-final
 * message without its proof (`c=biws,r=NONCE,w=SOLUTION`) begins with BITS
 * zero bits. About 2^BITS hashes for the client, one for the server; the
 * nonce is fresh per challenge, so no work can be done ahead. Pure and
 * runtime-neutral (SHA-256 of @noble/hashes, no node: built-ins): the server,
 * the terminal client and the web page run this one file.
 *
 * @example
 * ```ts
 * const msg = solveWork("c=biws,r=abc", 12);        // "c=biws,r=abc,w=…"
 * workDone(msg, 12);                                // true
 * await solveWorkAsync("c=biws,r=abc", 12) === msg; // true: the same answer, the event loop running meanwhile
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";

/** The most work a client does for one challenge: a server asking more is refused (it could make clients spin). */
export const MAX_WORK_BITS = 24;
/** Solutions `solveWorkAsync` tries between two turns of the event loop (a few tens of ms). */
const SLICE = 20_000;

const utf8 = new TextEncoder();

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
  return leadingZeroBits(sha256(utf8.encode(withoutProof))) >= bits;
}

/** The first ",w=SOLUTION" of `prefix` (SOLUTION the numbers from..to-1 in base 36) whose hash has `bits` zero bits, or null. */
function search(prefix: string, bits: number, from: number, to: number): string | null {
  const head = sha256.create().update(utf8.encode(`${prefix},w=`));
  const h = sha256.create();
  const out = new Uint8Array(32);
  for (let i = from; i < to; i++) {
    head._cloneInto(h); // the hash of the common head, without hashing it again
    h.update(utf8.encode(i.toString(36))).digestInto(out);
    if (leadingZeroBits(out) >= bits) return `${prefix},w=${i.toString(36)}`;
  }
  return null;
}

/** `prefix` ("c=biws,r=NONCE") with the first ",w=SOLUTION" (SOLUTION counts up in base 36) whose hash has `bits` zero bits. */
export function solveWork(prefix: string, bits: number): string {
  return search(prefix, bits, 0, Infinity)!;
}

/**
 * `solveWork`, a slice at a time with `pause` (a macrotask by default)
 * before each slice, so that a page shows it is busy before it starts and
 * stays responsive meanwhile. The same answer as `solveWork`.
 */
export async function solveWorkAsync(prefix: string, bits: number, pause = () => new Promise<void>((r) => setTimeout(r, 0))): Promise<string> {
  for (let from = 0;; from += SLICE) {
    await pause();
    const found = search(prefix, bits, from, from + SLICE);
    if (found !== null) return found;
  }
}
