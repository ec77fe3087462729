/**
 * Buffers for the data datagrams a session seals, cut from a shared 64 KiB
 * slab instead of a new ArrayBuffer each (Node's Buffer pool, for the same
 * reason): every new ArrayBuffer is a malloc in the runtime, freed later by
 * V8's sweeper on another thread, so the thread that allocates never gets
 * its frees back in its cache, and under Deno each such datagram cost
 * about a microsecond of glibc's malloc (BENCHMARKS.md, issue 23, branch
 * denoenc). A slab lives while any datagram cut from it does.
 *
 * The bytes are not zeroed: the caller writes every byte (a header and a
 * ciphertext with its tag fill a data datagram). Private to lib/secure.
 *
 * @example
 * ```ts
 * const out = datagramBuffer(13 + plaintext.length + 16); // then header, ciphertext and tag into all of it
 * ```
 */

/** Bytes of one slab. */
const SLAB_BYTES = 64 * 1024;
/** Longer datagrams get a buffer of their own. */
const MAX_POOLED = 4096;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/** `length` bytes of undefined content that no other caller gets, for a datagram about to be written whole. */
export function datagramBuffer(length: number): Uint8Array {
  if (length > MAX_POOLED) return new Uint8Array(length);
  if (used + length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
  const b = slab.subarray(used, used + length);
  used = (used + length + 7) & ~7; // 8-byte aligned, as allocators give
  return b;
}
