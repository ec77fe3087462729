// Sealed rooms in the browser: format dc1 of docs/SEALED_FORMAT.md, the
// same as the terminal client's, so each reads the other's messages.
// AES-256-GCM and HMAC-SHA256 through WebCrypto; scrypt (which WebCrypto
// lacks) from @noble/hashes, served by the server from its own files.
import { scryptAsync } from "./vendor/noble-hashes/scrypt.js";

export const MAX_PLAIN_BYTES = 1445;
const SALT = 16, CHECK = 8, NONCE = 12, TAG = 16;
const OVERHEAD = SALT + CHECK + NONCE + TAG;
const SEALED = /^dc([0-9]{1,3}):([A-Za-z0-9_-]*)$/;
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
const fold = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const b64Key = (bytes) => b64url(bytes);

/** True when a text has the shape of a sealed message (any version). */
export function isSealed(text) {
  return SEALED.test(text);
}

function b64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes canonical base64url (no padding, unused bits zero); null otherwise. */
function unb64url(s) {
  if (s.length % 4 === 1) return null;
  let bin;
  try {
    bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return b64url(bytes) === s ? bytes : null;
}

/** scrypt(NFC(passphrase), salt, 32, N = 2^15, r = 8, p = 1) → AES key and key check. */
async function derive(passphrase, salt) {
  const raw = await scryptAsync(enc.encode(passphrase.normalize("NFC")), salt, { N: 1 << 15, r: 8, p: 1, dkLen: 32 });
  const aes = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  const mac = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const check = new Uint8Array(await crypto.subtle.sign("HMAC", mac, enc.encode("dc1 key check"))).slice(0, CHECK);
  return { aes, check };
}

const ad = (room, sender) => enc.encode(`dc1\n${fold(room)}\n${fold(sender)}`);
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Passphrases and derived keys per room, in memory only. */
export class RoomKeys {
  #rooms = new Map();

  has(room) {
    return this.#rooms.has(fold(room));
  }

  forget(room) {
    this.#rooms.delete(fold(room));
  }

  /** Sets a room's passphrase: a fresh salt, its key derived once. */
  async setPassphrase(room, passphrase) {
    const salt = crypto.getRandomValues(new Uint8Array(SALT));
    const own = { salt, ...(await derive(passphrase, salt)) };
    this.#rooms.set(fold(room), { passphrase, own, keys: new Map([[b64Key(salt), own]]) });
  }

  /** The sealed text of a message to a room with a passphrase. */
  async seal(room, me, text) {
    const r = this.#rooms.get(fold(room));
    if (!r) throw new Error(`no passphrase for ${room}`);
    const plain = enc.encode(text);
    if (plain.length > MAX_PLAIN_BYTES) throw new RangeError(`Message too long to seal: ${plain.length} bytes; a sealed message holds at most ${MAX_PLAIN_BYTES} bytes (UTF-8)`);
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: ad(room, me) }, r.own.aes, plain));
    const out = new Uint8Array(SALT + CHECK + NONCE + sealed.length);
    out.set(r.own.salt, 0);
    out.set(r.own.check, SALT);
    out.set(nonce, SALT + CHECK);
    out.set(sealed, SALT + CHECK + NONCE);
    return `dc1:${b64url(out)}`;
  }

  /** { kind: "plain" | "sealed", text } | { kind: "locked" | "tampered", reason }; never throws. */
  async open(room, sender, text) {
    const m = SEALED.exec(text);
    if (!m) return { kind: "plain", text };
    if (m[1] !== "1") return { kind: "locked", reason: "unsupported-version" };
    const raw = unb64url(m[2]);
    if (!raw || raw.length < OVERHEAD) return { kind: "tampered", reason: "malformed" };
    const r = this.#rooms.get(fold(room));
    if (!r) return { kind: "locked", reason: "no-key" };
    const salt = raw.slice(0, SALT), check = raw.slice(SALT, SALT + CHECK), nonce = raw.slice(SALT + CHECK, SALT + CHECK + NONCE);
    let k = r.keys.get(b64Key(salt));
    if (!k) {
      k = await derive(r.passphrase, salt);
      if (r.keys.size >= 64) {
        // At most 64 salts per room: drop the least recently derived, never the sender's own.
        const oldest = [...r.keys].find(([, v]) => v !== r.own);
        if (oldest) r.keys.delete(oldest[0]);
      }
      r.keys.set(b64Key(salt), k);
    }
    if (!same(k.check, check)) return { kind: "locked", reason: "wrong-key" };
    try {
      const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: ad(room, sender) }, k.aes, raw.slice(SALT + CHECK + NONCE));
      return { kind: "sealed", text: dec.decode(plain) };
    } catch {
      return { kind: "tampered", reason: "auth" };
    }
  }
}
