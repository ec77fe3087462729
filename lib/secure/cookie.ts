/**
 * mac1, mac2 and cookie replies: WireGuard's defence against floods of
 * handshake initiations (wireguard.com/papers/wireguard.pdf §5.3, §5.4.4,
 * §5.4.7) with HMAC-SHA256 in place of keyed BLAKE2s.
 *
 * - mac1 = HMAC(SHA256("mac1----" ‖ S), bytes before mac1)[0..16], S the
 *   responder's static public key: only someone who knows which server
 *   they talk to makes it, so stray or random datagrams cost one HMAC.
 * - Under load the responder wants mac2 = HMAC(cookie, bytes before
 *   mac2)[0..16], where cookie = HMAC(secret, source address)[0..16] and the
 *   secret is random and replaced every 2 minutes. Without a valid mac2 it
 *   answers a cookie reply instead of doing any Diffie-Hellman: the cookie,
 *   sealed with XChaCha20-Poly1305 under SHA256("cookie--" ‖ S), a random
 *   24-byte nonce and the initiation's mac1 as associated data. Only a
 *   sender that receives at its source address gets the cookie, so a valid
 *   mac2 proves the address.
 *
 * @example
 * ```ts
 * const jar = new CookieChecker(serverStatic.publicKey, random);
 * const bytes = sealInitiation(body, serverStatic.publicKey, null); // body ‖ mac1 ‖ 16 zero bytes
 * const init = decodeEnvelope(bytes);                               // kind "initiation"
 * jar.mac1Ok(init);                        // true
 * jar.mac2Ok(init, "192.0.2.1:5000", now); // false: no cookie yet
 * const reply = jar.reply(init, "192.0.2.1:5000", now);
 * const cookie = openCookieReply(decodeEnvelope(reply), serverStatic.publicKey, init.mac1);
 * sealInitiation(body, serverStatic.publicKey, cookie);              // now with a valid mac2
 * ```
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { COOKIE_NONCE_LEN, type CookieReply, encodeCookieReply, type Initiation, MAC_LEN, type PeerInitiation } from "./envelope.ts";
import { bytesEqual, concatBytes, hmacSha256, secretKey, sha256, type SymmetricKey, utf8 } from "./suite.ts";

/** How long a cookie secret is used before it is replaced; a cookie is accepted under the current and the previous one. */
export const COOKIE_SECRET_MS = 120_000;
/** How long an initiator uses a cookie it received. */
export const COOKIE_USE_MS = 120_000;

const MAC1_LABEL = utf8("mac1----");
const COOKIE_LABEL = utf8("cookie--");

/** The first 16 bytes of HMAC-SHA256(key, data). */
function mac(key: SymmetricKey, data: Uint8Array): Uint8Array {
  return hmacSha256(key, data).slice(0, MAC_LEN);
}

/** An initiation's body followed by mac1 and mac2 (16 zero bytes without a cookie). */
export function sealInitiation(body: Uint8Array, responderStatic: Uint8Array, cookie: Uint8Array | null): Uint8Array {
  const withMac1 = concatBytes(body, mac(sha256(MAC1_LABEL, responderStatic), body));
  return concatBytes(withMac1, cookie === null ? new Uint8Array(MAC_LEN) : mac(cookie, withMac1));
}

/** The cookie in a cookie reply, or null when it does not open (not for our initiation whose mac1 was `mac1`). */
export function openCookieReply(reply: CookieReply, responderStatic: Uint8Array, mac1: Uint8Array): Uint8Array | null {
  try {
    return xchacha20poly1305(sha256(COOKIE_LABEL, responderStatic), reply.nonce, mac1).decrypt(reply.sealed);
  } catch {
    return null;
  }
}

/** The responder's side: checks mac1 and mac2 and makes cookie replies. Time and randomness come in. */
export class CookieChecker {
  readonly #mac1Key: SymmetricKey;
  readonly #sealKey: Uint8Array;
  readonly #random: (n: number) => Uint8Array;
  #secret: SymmetricKey;
  #previous: SymmetricKey | null = null;
  #since: number;

  /** For the responder whose static public key is `staticPublic`; the first secret is drawn now, at `now`. */
  constructor(staticPublic: Uint8Array, random: (n: number) => Uint8Array, now = 0) {
    this.#mac1Key = secretKey(sha256(MAC1_LABEL, staticPublic));
    this.#sealKey = sha256(COOKIE_LABEL, staticPublic);
    this.#random = random;
    this.#secret = secretKey(random(32));
    this.#since = now;
  }

  /** Whether the initiation's mac1 is right (constant time). */
  mac1Ok(init: Initiation | PeerInitiation): boolean {
    return bytesEqual(mac(this.#mac1Key, init.signed), init.mac1);
  }

  /** Whether the initiation's mac2 is right for a cookie of `address` (the current or the previous secret). */
  mac2Ok(init: Initiation | PeerInitiation, address: string, now: number): boolean {
    this.#rotate(now);
    for (const secret of [this.#secret, this.#previous]) {
      if (secret !== null && bytesEqual(mac(mac(secret, utf8(address)), init.beforeMac2), init.mac2)) return true;
    }
    return false;
  }

  /** A cookie reply to `init`, whose source address is `address`. */
  reply(init: Initiation | PeerInitiation, address: string, now: number): Uint8Array {
    this.#rotate(now);
    const nonce = this.#random(COOKIE_NONCE_LEN);
    const cookie = mac(this.#secret, utf8(address));
    const sealed = xchacha20poly1305(this.#sealKey, nonce, init.mac1).encrypt(cookie);
    return encodeCookieReply({ receiver: init.sender, nonce, sealed });
  }

  #rotate(now: number): void {
    if (now - this.#since < COOKIE_SECRET_MS) return;
    // After a long quiet spell the previous secret is too old to honour as well.
    this.#previous = now - this.#since < 2 * COOKIE_SECRET_MS ? this.#secret : null;
    this.#secret = secretKey(this.#random(32));
    this.#since = now;
  }
}
