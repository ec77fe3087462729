/**
 * Sealed direct messages (docs/SEALED_DM_FORMAT.md): X25519 between the two
 * accounts' keys, HKDF-SHA256, AES-256-GCM. A registered user's key pair is
 * derived from its SaltedPassword (lib/accounts/scram.ts), so every client
 * that knows the password has it and no key file is needed; the server
 * never sees the password, only StoredKey and ServerKey, from which the key
 * cannot be derived. Pure, synchronous functions over the audited @noble
 * packages: the same code in Node, Deno and the web page (also over plain
 * http, where a browser has no WebCrypto).
 *
 * @example
 * ```ts
 * const alice = dmKeyPair(saltedA), bob = dmKeyPair(saltedB);
 * const text = sealDm(alice, bob.publicKey, "alice", "bob", "hi");   // "dm1.…"
 * openDm(bob, alice.publicKey, "alice", "bob", text);                 // { ok: true, text: "hi" }
 * ```
 */
import { gcm } from "@noble/ciphers/aes.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from "../wire/base64.ts";
import { nameKey } from "../wire/names.ts";
import { randomBytes } from "./random.ts";

/** A user's DM key pair: the raw private scalar and the raw public key (base64, what `register`/`pubkey` publish). */
export type DmKeyPair = { privateKey: Uint8Array; publicKey: string };

/** Every sealed DM's text starts with this. */
export const DM_PREFIX = "dm1.";
/** Longest text a sealed DM holds (its sealed form must fit a message's 2,000 bytes). */
export const MAX_DM_PLAIN = 1400;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const SEALED_DM = /^dm1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})$/;

/** True when `text` has the form of a sealed DM. */
export function isSealedDm(text: string): boolean {
  return text.startsWith(DM_PREFIX);
}

/** The key pair of the account whose SaltedPassword is `salted`. */
export function dmKeyPair(salted: Uint8Array): DmKeyPair {
  const privateKey = hmac(sha256, salted, utf8.encode("DistChat DM Key"));
  return { privateKey, publicKey: toBase64(x25519.getPublicKey(privateKey)) };
}

/** A public key's fingerprint as users compare it: 20 hex digits of its SHA-256, in groups of 4. */
export function fingerprint(publicKey: string): string {
  const hex = Array.from(sha256(fromBase64(publicKey) ?? new Uint8Array(0)), (b) => b.toString(16).padStart(2, "0")).join("");
  return hex.slice(0, 20).match(/.{4}/g)!.join(" ");
}

function conversationKey(me: DmKeyPair, peerPublic: string, a: string, b: string): Uint8Array {
  const peer = fromBase64(peerPublic);
  if (peer === null || peer.length !== 32) throw new RangeError("a public key is 32 bytes of base64");
  const shared = x25519.getSharedSecret(me.privateKey, peer);
  const keys = [me.publicKey, peerPublic].sort();
  const names = [nameKey(a), nameKey(b)].sort();
  const salt = sha256(utf8.encode(keys.join("|")));
  return hkdf(sha256, shared, salt, utf8.encode(`DistChat DM v1|${names.join("|")}`), 32);
}

const aad = (sender: string, recipient: string) => utf8.encode(`dm1|${nameKey(sender)}>${nameKey(recipient)}`);

/** `text` from `sender` to `recipient`, sealed for the two of them (`nonce`: tests fix it; fresh by default). */
export function sealDm(me: DmKeyPair, peerPublic: string, sender: string, recipient: string, text: string, nonce = randomBytes(12)): string {
  const body = gcm(conversationKey(me, peerPublic, sender, recipient), nonce, aad(sender, recipient)).encrypt(utf8.encode(text));
  return `${DM_PREFIX}${toBase64Url(nonce)}.${toBase64Url(body)}`;
}

/** Opens a sealed DM; `me` is either party (the key is the same both ways). Never throws. */
export function openDm(me: DmKeyPair, peerPublic: string, sender: string, recipient: string, text: string): { ok: true; text: string } | { ok: false } {
  const m = SEALED_DM.exec(text);
  const nonce = m ? fromBase64Url(m[1]) : null, body = m ? fromBase64Url(m[2]) : null;
  if (nonce === null || body === null) return { ok: false };
  try {
    const plain = gcm(conversationKey(me, peerPublic, sender, recipient), nonce, aad(sender, recipient)).decrypt(body);
    return { ok: true, text: strictUtf8.decode(plain) };
  } catch {
    return { ok: false };
  }
}
