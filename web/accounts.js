// Accounts and sealed direct messages in the browser, written from the
// contract (docs/PROTOCOL.md "Accounts", docs/SEALED_DM_FORMAT.md) with
// WebCrypto only: SCRAM-SHA-256 proofs and verifiers (PBKDF2, HMAC, SHA-256),
// the X25519 DM key pair derived from the SaltedPassword, and dm1 sealing
// (X25519, HKDF-SHA256, AES-256-GCM). The terminal client implements the
// same formats (lib/accounts/scram.ts, lib/client/dm_seal.ts); each reads the
// other's sealed DMs. The proof of work a server may ask for (w=) uses the
// synchronous SHA-256 of @noble/hashes (served by the server from its own
// files, as for seal.js): WebCrypto's digest is a promise per hash.
import { sha256 as sha256Sync } from "./vendor/noble-hashes/sha2.js";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
const subtle = crypto.subtle;
const fold = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** PBKDF2 rounds of a verifier made here (docs/SECURITY.md). */
export const ITERATIONS = 600_000;
export const MAX_DM_PLAIN = 1400;

const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const b64url = (bytes) => b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64url = (s) => unb64(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};

async function hmac(key, text) {
  const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", k, typeof text === "string" ? enc.encode(text) : text));
}
const sha256 = async (bytes) => new Uint8Array(await subtle.digest("SHA-256", bytes));

/** SaltedPassword = PBKDF2-HMAC-SHA256(NFC(password), salt, iterations, 32 bytes). */
export async function saltedPassword(password, salt, iterations) {
  const k = await subtle.importKey("raw", enc.encode(password.normalize("NFC")), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await subtle.deriveBits({ name: "PBKDF2", salt, iterations, hash: "SHA-256" }, k, 256));
}

/** A new verifier for `password` (the fields of `register` / `password`) and its SaltedPassword. */
export async function makeVerifier(password, iterations = ITERATIONS) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const sp = await saltedPassword(password, salt, iterations);
  const storedKey = await sha256(await hmac(sp, "Client Key"));
  const serverKey = await hmac(sp, "Server Key");
  return { salt: b64(salt), iterations, storedKey: b64(storedKey), serverKey: b64(serverKey), salted: sp };
}

/** A client nonce for `auth`: 18 random bytes, base64url. */
export const newNonce = () => b64url(crypto.getRandomValues(new Uint8Array(18)));

/** The most work (zero bits) this page does for one challenge; a server asking more is refused. */
export const MAX_WORK_BITS = 24;

/** Zero bits a challenge asks for (`w=` in the server-first; 0: none). */
export const workAsked = (serverFirst) => Number(/(?:^|,)w=(\d+)(?:,|$)/.exec(serverFirst)?.[1] ?? 0);

const zeroBits = (hash) => {
  let n = 0;
  for (const byte of hash) {
    if (byte !== 0) return n + Math.clz32(byte) - 24;
    n += 8;
  }
  return n;
};

/**
 * The proof of work (docs/PROTOCOL.md "Accounts"): `prefix` ("c=biws,r=NONCE")
 * with ",w=SOLUTION" appended, SOLUTION counting up in base 36 until SHA-256
 * of the whole begins with `bits` zero bits. Yields to the page now and then.
 */
async function solveWork(prefix, bits) {
  const head = sha256Sync.create().update(enc.encode(`${prefix},w=`));
  for (let i = 0;; i++) {
    const solution = i.toString(36);
    if (zeroBits(head.clone().update(enc.encode(solution)).digest()) >= bits) return `${prefix},w=${solution}`;
    if (i % 20_000 === 19_999) await new Promise((r) => setTimeout(r, 0));
  }
}

/**
 * The client-final message for a server-first (with the proof of work when it
 * asks for one), the server signature to expect, and the SaltedPassword;
 * null when the server-first is malformed or asks for too much work.
 */
export async function clientFinal(password, userName, nonce, serverFirst) {
  const a = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
  const iterations = Number(a.i), work = Number(a.w ?? 0);
  if (!a.r?.startsWith(nonce) || !a.s || !Number.isInteger(iterations) || iterations < 4096) return null;
  if (!Number.isInteger(work) || work < 0 || work > MAX_WORK_BITS) return null;
  const bare = `n=${userName},r=${nonce}`;
  const withoutProof = work > 0 ? await solveWork(`c=biws,r=${a.r}`, work) : `c=biws,r=${a.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const sp = await saltedPassword(password, unb64(a.s), iterations);
  const clientKey = await hmac(sp, "Client Key");
  const signature = await hmac(await sha256(clientKey), authMessage);
  const proof = clientKey.map((x, i) => x ^ signature[i]);
  const serverSignature = `v=${b64(await hmac(await hmac(sp, "Server Key"), authMessage))}`;
  return { message: `${withoutProof},p=${b64(proof)}`, serverSignature, salted: sp };
}

// --- Sealed direct messages (dm1) --------------------------------------------

const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

/** The account's DM key pair: { privateKey (CryptoKey), publicKey (base64 of 32 bytes) }. */
export async function dmKeyPair(salted) {
  const raw = await hmac(salted, "DistChat DM Key");
  const privateKey = await subtle.importKey("pkcs8", concat(PKCS8_X25519, raw), { name: "X25519" }, true, ["deriveBits"]);
  const jwk = await subtle.exportKey("jwk", privateKey);
  return { privateKey, publicKey: b64(unb64url(jwk.x)) };
}

/** The fingerprint users compare: 20 hex digits of SHA-256(public key), in groups of 4. */
export async function fingerprint(publicKey) {
  const h = Array.from(await sha256(unb64(publicKey)), (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 20);
  return h.match(/.{4}/g).join(" ");
}

async function conversationKey(me, peerPublic, a, b) {
  const peer = await subtle.importKey("raw", unb64(peerPublic), { name: "X25519" }, false, []);
  const shared = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: peer }, me.privateKey, 256));
  const keys = [me.publicKey, peerPublic].sort();
  const names = [fold(a), fold(b)].sort();
  const salt = await sha256(enc.encode(keys.join("|")));
  const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  return await subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info: enc.encode(`DistChat DM v1|${names.join("|")}`) },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

const aad = (sender, recipient) => enc.encode(`dm1|${fold(sender)}>${fold(recipient)}`);

/** `text` from `sender` to `recipient`, sealed: "dm1." nonce "." ciphertext+tag. */
export async function sealDm(me, peerPublic, sender, recipient, text) {
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const key = await conversationKey(me, peerPublic, sender, recipient);
  const body = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad(sender, recipient) }, key, enc.encode(text)));
  return `dm1.${b64url(nonce)}.${b64url(body)}`;
}

/** Opens a sealed DM; null when it does not open. */
export async function openDm(me, peerPublic, sender, recipient, text) {
  const m = /^dm1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})$/.exec(text);
  if (!m) return null;
  try {
    const key = await conversationKey(me, peerPublic, sender, recipient);
    const plain = await subtle.decrypt({ name: "AES-GCM", iv: unb64url(m[1]), additionalData: aad(sender, recipient) }, key, unb64url(m[2]));
    return dec.decode(plain);
  } catch {
    return null;
  }
}

export const isSealedDm = (text) => text.startsWith("dm1.");
