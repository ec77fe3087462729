/**
 * Static keys as people and files write them, and the secrets derived from
 * them: a public key is 44 characters of standard base64 (32 bytes, with
 * its `=`), as WireGuard writes keys; servers.txt carries it as
 * `key=BASE64`. The peer pre-shared key is derived from the cluster key
 * file's bytes (or 32 zero bytes without one, as WireGuard's "no psk"); the
 * reset key from the static private key, so a restarted server can still
 * prove it had a session (docs/PROTOCOL.md "Encrypted transport").
 *
 * @example
 * ```ts
 * const text = encodeKey(pair.publicKey);  // "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
 * decodeKey(text);                         // the 32 bytes; null for anything else
 * peerPsk(null);                           // 32 zero bytes
 * ```
 */
import { Buffer } from "node:buffer";
import { indexBytes, MAC_LEN } from "./envelope.ts";
import { dh, generateKeyPair, hmacSha256, KEY_LEN, type KeyPair, privateBytes, secretKey, type SymmetricKey, utf8 } from "./suite.ts";

/** A key's text: base64 of its 32 bytes (44 characters). */
export function encodeKey(key: Uint8Array): string {
  return Buffer.from(key).toString("base64");
}

/** The 32 bytes of a key's text, or null unless it is exactly 44 characters of canonical base64. */
export function decodeKey(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return null;
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  return bytes.length === KEY_LEN && encodeKey(bytes) === text ? bytes : null;
}

let probe: KeyPair | null = null;

/** Whether `key` is an X25519 public key a handshake can use (not of low order: a Diffie-Hellman with it is not all zeros). */
export function usablePublicKey(key: Uint8Array): boolean {
  probe ??= generateKeyPair();
  return dh(probe, key) !== null;
}

/** The pre-shared key of the peer handshake (KKpsk0): from the cluster key's bytes, or 32 zero bytes without one. */
export function peerPsk(clusterKey: Uint8Array | null): Uint8Array {
  return clusterKey === null ? new Uint8Array(KEY_LEN) : hmacSha256(clusterKey, utf8("DistChat/1 peer psk"));
}

/** The key a server computes its reset tokens with: stable across restarts, secret like its private key. */
export function resetKey(staticKey: KeyPair): SymmetricKey {
  return secretKey(hmacSha256(privateBytes(staticKey), utf8("DistChat/1 reset")));
}

/** The reset token of the session whose index (at the server) is `index`: 16 bytes. */
export function resetToken(key: SymmetricKey, index: number): Uint8Array {
  return hmacSha256(key, indexBytes(index)).slice(0, MAC_LEN);
}
