/**
 * The cipher suite of DistChat's encrypted transport, Noise's
 * `25519_ChaChaPoly_SHA256` (noiseprotocol.org rev 34, sections 12.1, 12.3,
 * 12.5): X25519, ChaCha20-Poly1305 with a 64-bit counter nonce, SHA-256 and
 * its HMAC. X25519, SHA-256 and HMAC are node:crypto's (both runtimes
 * provide it); ChaCha20-Poly1305 is libsodium's (its IETF AEAD, the same
 * RFC 8439 construction, from libsodium-wrappers' WebAssembly build, called
 * straight into the module by ./_aead.ts): node:crypto makes a cipher
 * object, a native context and several buffers for every call, 5–15 µs
 * each, where libsodium takes about 1 µs, and the encrypted transport makes
 * two such calls per datagram a server handles (BENCHMARKS.md, issue 23).
 * A received datagram can be opened in place (`aeadDecryptInPlace`): no
 * new buffer per datagram. Nothing here is home-made. Failures on network
 * input come back as `null`, never as exceptions.
 *
 * Private keys stay node:crypto key objects; only public keys are bytes.
 * Randomness comes in: `generateKeyPair` is the production source of
 * ephemeral keys (node:crypto's generator), `keyPairFromPrivate` builds a
 * pair from given bytes (key files, test vectors).
 *
 * AEAD keys are bytes (libsodium takes them as they are). HMAC keys may
 * be bytes or what `secretKey` makes of them. Node 24
 * turns raw key bytes into a key object inside every createCipheriv and
 * createHmac, slowly: a 200-byte seal took 20 µs of CPU with key bytes,
 * 8.4 µs with a key object made for the call and 5.5 µs with one kept
 * (createSecretKey; a kept one costs about 270 bytes of memory); Deno is
 * fastest with the bytes (5.7–8 µs against 8–12). So `secretKey` makes a
 * key object under Node, for keys used more than once, and keeps the bytes
 * under Deno. Imported public keys are cached per byte array (a handshake
 * uses the peer's ephemeral key twice).
 *
 * @example
 * ```ts
 * const a = generateKeyPair(), b = generateKeyPair();
 * dh(a, b.publicKey);                 // 32 bytes, equal to dh(b, a.publicKey); null for a low-order key
 * const c = aeadEncrypt(key, 0, ad, text);
 * aeadDecrypt(key, 0, ad, c);         // text, or null when anything was changed
 * ```
 */
import { Buffer } from "node:buffer";
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  timingSafeEqual,
} from "node:crypto";
import { runtimeName } from "../platform/runtime.ts";
import { decryptInto, directCalls, encryptInto } from "./_aead.ts";

/** DHLEN, HASHLEN: 32 bytes. */
export const KEY_LEN = 32;
/** Bytes a ChaCha20-Poly1305 tag adds to a plaintext. */
export const TAG_LEN = 16;
/** The largest nonce a CipherState may use: 2^53 − 1 (JavaScript numbers), far below Noise's reserved 2^64 − 1. */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER;

/** An X25519 key pair: the private key as a node:crypto key object, the public key as its 32 bytes. */
export type KeyPair = { readonly privateKey: KeyObject; readonly publicKey: Uint8Array };

/** Makes ephemeral key pairs (production: `generateKeyPair`; tests: fixed keys). */
export type KeyPairSource = () => KeyPair;

/** A symmetric key: its bytes, or what `secretKey` made of them. */
export type SymmetricKey = Uint8Array | KeyObject;

/** Whether this runtime is faster with key objects than with key bytes (Node: yes; Deno: no). */
const WRAP_KEYS = runtimeName() === "node";

/** `bytes` in the form this runtime uses fastest, for a key used many times. */
export function secretKey(bytes: Uint8Array): SymmetricKey {
  return WRAP_KEYS ? createSecretKey(bytes) : bytes;
}

const asKey = (k: SymmetricKey): SymmetricKey => (WRAP_KEYS && k instanceof Uint8Array ? createSecretKey(k) : k);

const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");

/** A new key pair from node:crypto's generator. */
export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  return { privateKey, publicKey: publicBytes(publicKey) };
}

/** The key pair whose private key is the 32 bytes `raw` (clamped by X25519 itself, RFC 7748). */
export function keyPairFromPrivate(raw: Uint8Array): KeyPair {
  if (raw.length !== KEY_LEN) throw new RangeError(`An X25519 private key is 32 bytes, not ${raw.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: "der", type: "pkcs8" });
  return { privateKey, publicKey: publicBytes(createPublicKey(privateKey)) };
}

/** The 32 bytes of a private key (to write a key file). */
export function privateBytes(pair: KeyPair): Uint8Array {
  const d = (pair.privateKey.export({ format: "jwk" }) as { d: string }).d;
  return new Uint8Array(Buffer.from(d, "base64url"));
}

function publicBytes(key: KeyObject): Uint8Array {
  const x = (key.export({ format: "jwk" }) as { x: string }).x;
  return new Uint8Array(Buffer.from(x, "base64url"));
}

/** Public keys already imported, by the byte array they came from (never changed once a key). */
const imported = new WeakMap<Uint8Array, KeyObject>();

/** X25519 of our private key and their public key; null when it is not a key or gives the all-zero result (low order). */
export function dh(ours: KeyPair, theirs: Uint8Array): Uint8Array | null {
  if (theirs.length !== KEY_LEN) return null;
  try {
    let publicKey = imported.get(theirs);
    if (publicKey === undefined) {
      publicKey = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(theirs).toString("base64url") }, format: "jwk" });
      imported.set(theirs, publicKey);
    }
    return new Uint8Array(diffieHellman({ privateKey: ours.privateKey, publicKey }));
  } catch {
    return null;
  }
}

/**
 * One nonce buffer for every AEAD call, rewritten per call instead of
 * allocated: each call uses it synchronously and no other call runs
 * meanwhile (its first 4 bytes stay zero).
 */
const NONCE = new Uint8Array(12);
const NONCE_VIEW = new DataView(NONCE.buffer);

/** Noise's ChaChaPoly nonce: 32 bits of zeros, then the counter as 64 bits little-endian (in NONCE, valid until the next call). */
function nonceBytes(n: number): Uint8Array {
  NONCE_VIEW.setUint32(4, n >>> 0, true);
  NONCE_VIEW.setUint32(8, Math.floor(n / 0x1_0000_0000), true);
  return NONCE;
}

/** ENCRYPT(k, n, ad, plaintext): ciphertext followed by the 16-byte tag. */
export function aeadEncrypt(key: Uint8Array, n: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_LEN);
  encryptInto(key, nonceBytes(n), ad, plaintext, out, 0);
  return out;
}

/** ENCRYPT into `out` from offset `at` (plaintext.length + 16 bytes); `ad` may lie in `out` before `at`. */
export function aeadEncryptInto(key: Uint8Array, n: number, ad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, at: number): void {
  encryptInto(key, nonceBytes(n), ad, plaintext, out, at);
}

/** DECRYPT(k, n, ad, ciphertext): the plaintext, or null when the tag does not match. */
export function aeadDecrypt(key: Uint8Array, n: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  if (ciphertext.length < TAG_LEN) return null;
  const out = new Uint8Array(ciphertext.length - TAG_LEN);
  return decryptInto(key, nonceBytes(n), ad, ciphertext, out, 0) ? out : null;
}

/**
 * DECRYPT in place: the plaintext overwrites the start of `ciphertext`
 * and is returned as a view of it (no new buffer); null when the tag does
 * not match, and then `ciphertext` is unchanged. For a received datagram
 * no one else reads.
 */
export function aeadDecryptInPlace(key: Uint8Array, n: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
  if (ciphertext.length < TAG_LEN) return null;
  return decryptInto(key, nonceBytes(n), ad, ciphertext, ciphertext, 0) ? ciphertext.subarray(0, ciphertext.length - TAG_LEN) : null;
}

/** Whether ChaCha20-Poly1305 calls go straight into libsodium's module (./_aead.ts), not through libsodium-wrappers. */
export const aeadDirect: boolean = directCalls;

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** HMAC-SHA256 under `key` of the concatenation of `parts`. */
export function hmacSha256(key: SymmetricKey, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac("sha256", asKey(key));
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Constant-time equality of two byte strings (false when the lengths differ). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The concatenation of `parts`. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
