/**
 * Sealed direct messages (docs/SEALED_DM_FORMAT.md): X25519 between the two
 * accounts' keys, HKDF-SHA256, AES-256-GCM. A registered user's key pair is
 * derived from its SaltedPassword (lib/accounts/scram.ts), so every client
 * that knows the password has it and no key file is needed; the server
 * never sees the password, only StoredKey and ServerKey, from which the key
 * cannot be derived. Pure functions over node:crypto (both runtimes).
 *
 * @example
 * ```ts
 * const alice = dmKeyPair(saltedA), bob = dmKeyPair(saltedB);
 * const text = sealDm(alice, bob.publicKey, "alice", "bob", "hi");   // "dm1.…"
 * openDm(bob, alice.publicKey, "alice", "bob", text);                 // { ok: true, text: "hi" }
 * ```
 */
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, randomBytes } from "node:crypto";
import { nameKey } from "../wire/names.ts";

/** A user's DM key pair: the private key object and the raw public key (base64, what `register`/`pubkey` publish). */
export type DmKeyPair = { privateKey: ReturnType<typeof createPrivateKey>; publicKey: string };

const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");
/** Every sealed DM's text starts with this. */
export const DM_PREFIX = "dm1.";
/** Longest text a sealed DM holds (its sealed form must fit a message's 2,000 bytes). */
export const MAX_DM_PLAIN = 1400;

const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");

/** The key pair of the account whose SaltedPassword is `salted`. */
export function dmKeyPair(salted: Uint8Array): DmKeyPair {
  const raw = createHmac("sha256", salted).update("DistChat DM Key").digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return { privateKey, publicKey: Buffer.from(spki.subarray(spki.length - 32)).toString("base64") };
}

/** A public key's fingerprint as users compare it: 20 hex digits of its SHA-256, in groups of 4. */
export function fingerprint(publicKey: string): string {
  const h = createHash("sha256").update(Buffer.from(publicKey, "base64")).digest("hex").slice(0, 20);
  return h.match(/.{4}/g)!.join(" ");
}

function conversationKey(me: DmKeyPair, peerPublic: string, a: string, b: string): Buffer {
  const peer = createPublicKey({ key: Buffer.concat([SPKI_X25519, Buffer.from(peerPublic, "base64")]), format: "der", type: "spki" });
  const shared = diffieHellman({ privateKey: me.privateKey, publicKey: peer });
  const keys = [me.publicKey, peerPublic].sort();
  const names = [nameKey(a), nameKey(b)].sort();
  const salt = createHash("sha256").update(keys.join("|")).digest();
  return Buffer.from(hkdfSync("sha256", shared, salt, `DistChat DM v1|${names.join("|")}`, 32));
}

const aad = (sender: string, recipient: string) => Buffer.from(`dm1|${nameKey(sender)}>${nameKey(recipient)}`);

/** `text` from `sender` to `recipient`, sealed for the two of them. */
export function sealDm(me: DmKeyPair, peerPublic: string, sender: string, recipient: string, text: string): string {
  const nonce = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", conversationKey(me, peerPublic, sender, recipient), nonce);
  c.setAAD(aad(sender, recipient));
  const body = Buffer.concat([c.update(text, "utf8"), c.final(), c.getAuthTag()]);
  return `${DM_PREFIX}${b64u(nonce)}.${b64u(body)}`;
}

/** Opens a sealed DM; `me` is either party (the key is the same both ways). */
export function openDm(me: DmKeyPair, peerPublic: string, sender: string, recipient: string, text: string): { ok: true; text: string } | { ok: false } {
  const m = /^dm1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})$/.exec(text);
  if (!m) return { ok: false };
  try {
    const body = Buffer.from(m[2], "base64url");
    const d = createDecipheriv("aes-256-gcm", conversationKey(me, peerPublic, sender, recipient), Buffer.from(m[1], "base64url"));
    d.setAAD(aad(sender, recipient));
    d.setAuthTag(body.subarray(body.length - 16));
    return { ok: true, text: Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]).toString("utf8") };
  } catch {
    return { ok: false };
  }
}
