/**
 * Base64 both ways, without node:buffer (the client core runs in browsers
 * too): standard base64 with padding (RFC 4648 §4, what `register`, `whois`
 * and the SCRAM messages carry) and base64url without padding (§5, the
 * sealed formats). Decoding is strict: only the canonical form of some bytes
 * decodes (right alphabet, right padding, unused low bits zero); anything
 * else is null, so one text never stands for two values.
 *
 * @example
 * ```ts
 * toBase64(new Uint8Array([1, 2, 3]));   // "AQID"
 * fromBase64("AQI=");                    // Uint8Array [1, 2]
 * fromBase64("AQJ=");                    // null (unused bits set)
 * base64Bytes("QUFB", 3);                // true
 * ```
 */

const STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;

function binary(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return s;
}

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  return btoa(binary(bytes));
}

/** base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of canonical standard base64 (with padding), or null. */
export function fromBase64(text: string): Uint8Array | null {
  if (!STD.test(text)) return null;
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return toBase64(bytes) === text ? bytes : null;
}

/** The bytes of canonical base64url without padding, or null. */
export function fromBase64Url(text: string): Uint8Array | null {
  if (!URL_SAFE.test(text) || text.length % 4 === 1) return null;
  const std = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(std), (c) => c.charCodeAt(0));
  return toBase64Url(bytes) === text ? bytes : null;
}

/** True when `text` is canonical standard base64 of exactly `n` bytes (of at least `n` with `atLeast`). */
export function base64Bytes(text: string, n: number, atLeast = false): boolean {
  const bytes = fromBase64(text);
  return bytes !== null && (atLeast ? bytes.length >= n : bytes.length === n);
}
