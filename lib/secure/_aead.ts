/**
 * ChaCha20-Poly1305 (RFC 8439, libsodium's IETF AEAD) called straight into
 * libsodium's WebAssembly module, without libsodium-wrappers' per-call
 * layer. The wrapper, for every call, mallocs and frees five blocks in the
 * module's memory, makes a dozen calls across the JavaScript/WebAssembly
 * boundary and returns a new Uint8Array: a new ArrayBuffer from the
 * runtime's allocator (glibc's malloc), freed later by V8's sweeper on
 * another thread. Under Deno that malloc/free traffic was a third of the
 * encrypted server's CPU per datagram in process (BENCHMARKS.md, issue 23,
 * branch denoenc). Here one scratch area in the module's memory, taken
 * once, holds the key, nonce, associated data, input and output of the
 * call in progress; results are copied straight to where the caller wants
 * them. Same functions of the same library, same bytes; private to
 * lib/secure (suite.ts is the public home of the primitives).
 *
 * Calls are synchronous and JavaScript runs one at a time, so one scratch
 * area serves every call. The key is zeroed in it after each call. An
 * input larger than the area (never a UDP datagram) goes through the
 * wrapper, as does everything when the module does not export what is
 * needed (another libsodium build).
 *
 * @example
 * ```ts
 * encryptInto(key, nonce, ad, plaintext, out, 13);   // ciphertext and tag into out[13..]
 * decryptInto(key, nonce, ad, ciphertext, out, 0);   // true, plaintext in out[0..]; false: changed nothing
 * ```
 */
import sodium from "libsodium-wrappers";

// libsodium's WebAssembly module is compiled once, when this module loads.
await sodium.ready;

/** What this file uses of the Emscripten module libsodium-wrappers exposes as `libsodium`. */
type SodiumModule = {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  // (c, clen_p, m, mlen as two 32-bit halves, ad, adlen as two halves, nsec, npub, k) → 0
  _crypto_aead_chacha20poly1305_ietf_encrypt(...args: number[]): number;
  // (m, mlen_p, nsec, c, clen as two halves, ad, adlen as two halves, npub, k) → 0, or -1 when the tag does not match
  _crypto_aead_chacha20poly1305_ietf_decrypt(...args: number[]): number;
};

/** Bytes of the tag. */
const TAG = 16;
/** The largest input the scratch area takes: a whole UDP datagram. */
const MAX_INPUT = 65_536;
/** Largest associated data the scratch area takes (a transport header is 13 bytes; a handshake hash 32). */
const MAX_AD = 64;

const lib = (sodium as unknown as { libsodium?: Partial<SodiumModule> }).libsodium;
const direct = typeof lib?._malloc === "function" && typeof lib._crypto_aead_chacha20poly1305_ietf_encrypt === "function" &&
    typeof lib._crypto_aead_chacha20poly1305_ietf_decrypt === "function" && lib.HEAPU8 instanceof Uint8Array
  ? lib as SodiumModule
  : null;

// The scratch area: key (32) | nonce (12, padded to 16) | ad (MAX_AD) | input (MAX_INPUT + TAG) | output (MAX_INPUT + TAG).
const KEY_AT = direct === null ? 0 : direct._malloc(32 + 16 + MAX_AD + 2 * (MAX_INPUT + TAG));
if (direct !== null && KEY_AT === 0) throw new Error("libsodium could not allocate its scratch area");
const NONCE_AT = KEY_AT + 32, AD_AT = NONCE_AT + 16, IN_AT = AD_AT + MAX_AD, OUT_AT = IN_AT + MAX_INPUT + TAG;

/** Copies a call's inputs into the scratch area; returns the module's memory as it is now (its view changes when the memory grows). */
function heapWith(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, input: Uint8Array): Uint8Array {
  const heap = direct!.HEAPU8;
  heap.set(key, KEY_AT);
  heap.set(nonce, NONCE_AT);
  heap.set(ad, AD_AT);
  heap.set(input, IN_AT);
  return heap;
}

const fits = (ad: Uint8Array, input: Uint8Array) => direct !== null && ad.length <= MAX_AD && input.length <= MAX_INPUT + TAG;

/** Encrypts `plaintext` into `out` from offset `at` (plaintext.length + 16 bytes); `ad` may lie in `out` before `at`. */
export function encryptInto(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, at: number): void {
  if (!fits(ad, plaintext)) {
    out.set(sodium.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key), at);
    return;
  }
  const heap = heapWith(key, nonce, ad, plaintext);
  direct!._crypto_aead_chacha20poly1305_ietf_encrypt(OUT_AT, 0, IN_AT, plaintext.length, 0, AD_AT, ad.length, 0, 0, NONCE_AT, KEY_AT);
  heap.fill(0, KEY_AT, KEY_AT + 32);
  out.set(heap.subarray(OUT_AT, OUT_AT + plaintext.length + TAG), at);
}

/**
 * Decrypts `ciphertext` (at least 16 bytes) into `out` from offset `at`
 * (ciphertext.length − 16 bytes; `out` may be the ciphertext's own bytes:
 * decryption in place). True when the tag matched; false when it did not,
 * and then `out` is unchanged.
 */
export function decryptInto(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array, out: Uint8Array, at: number): boolean {
  if (!fits(ad, ciphertext)) {
    try {
      out.set(sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key), at);
      return true;
    } catch {
      return false;
    }
  }
  const heap = heapWith(key, nonce, ad, ciphertext);
  const failed = direct!._crypto_aead_chacha20poly1305_ietf_decrypt(OUT_AT, 0, 0, IN_AT, ciphertext.length, 0, AD_AT, ad.length, 0, NONCE_AT, KEY_AT);
  heap.fill(0, KEY_AT, KEY_AT + 32);
  if (failed !== 0) return false;
  out.set(heap.subarray(OUT_AT, OUT_AT + ciphertext.length - TAG), at);
  return true;
}

/** Whether calls go straight into the module (false: through libsodium-wrappers, e.g. another libsodium build). */
export const directCalls = direct !== null;
