/**
 * End-to-end sealed messages: members of a room who share a passphrase talk
 * so that no server, database or network observer can read or forge what
 * they say. Client side only; the servers see an ordinary `msg`.
 *
 * Format `dc1` (docs/SEALED_FORMAT.md, threat model in SECURITY.md):
 *
 *   "dc1:" base64url( salt(16) ‖ check(8) ‖ nonce(12) ‖ ciphertext ‖ tag(16) )
 *
 * - key   = scrypt(NFC(passphrase), salt, 32 bytes, N = 2^15, r = 8, p = 1)
 * - check = HMAC-SHA256(key, "dc1 key check")[0..8] — tells "wrong key" from "tampered"
 * - AES-256-GCM with a fresh random 96-bit nonce per message, 128-bit tag,
 *   associated data "dc1\n" + room + "\n" + sender, both ASCII-case-folded.
 *
 * A sender picks one random salt per passphrase it is given and reuses it, so
 * receivers derive one key per (passphrase, salt) — cached — not per message.
 *
 * One implementation for the terminal and the web page: no node: built-ins
 * (scrypt, HMAC and AES-GCM from the audited @noble packages, so it also
 * works in a page served over plain http, which has no WebCrypto). Only a
 * key derivation is asynchronous (scrypt yields while it runs): setting a
 * passphrase, and opening a message sealed under a salt not met before.
 *
 * @example
 * ```ts
 * const keys = new RoomKeys();
 * await keys.setPassphrase("lobby", "correct horse battery staple");
 * const wire = keys.seal("lobby", "alice", "hi there"); // "dc1:…", send it as the msg
 * await keys.open("lobby", "alice", wire);   // { kind: "sealed", text: "hi there" }
 * await keys.open("lobby", "mallory", wire); // { kind: "tampered", reason: "auth" }
 * await keys.open("lobby", "bob", "hello");  // { kind: "plain", text: "hello" }
 * ```
 */
import { gcm } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { nameKey } from "../wire/names.ts";
import { MAX_MSG_BYTES } from "../wire/messages.ts";
import { utf8Length } from "../wire/utf8.ts";
import { fromBase64Url, toBase64Url } from "../wire/base64.ts";
import { randomBytes } from "./random.ts";

/** Version prefix of every sealed message of this format. */
export const SEAL_PREFIX = "dc1:";

/** scrypt parameters fixed for format dc1 (a new version changes them). */
export const KDF_PARAMS = { N: 2 ** 15, r: 8, p: 1, keyBytes: 32 } as const;

const SALT_BYTES = 16;
const CHECK_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Binary bytes a sealed message adds to its plaintext: 52. */
export const SEAL_OVERHEAD = SALT_BYTES + CHECK_BYTES + NONCE_BYTES + TAG_BYTES;

/** Length of the sealed text for a plaintext of `plainBytes` UTF-8 bytes. */
export function sealedLength(plainBytes: number): number {
  return SEAL_PREFIX.length + Math.ceil((4 * (SEAL_OVERHEAD + plainBytes)) / 3);
}

/**
 * Longest plaintext a sealed message carries, in UTF-8 bytes: 1445, the most
 * whose sealed text fits MAX_MSG_BYTES (4 + ⌈4·(52 + 1445)/3⌉ = 2000).
 */
export const MAX_PLAIN_BYTES: number = Math.floor((3 * (MAX_MSG_BYTES - SEAL_PREFIX.length)) / 4) - SEAL_OVERHEAD;

const CHECK_LABEL = "dc1 key check";
const MAX_SALTS_PER_ROOM = 64;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** What `open` makes of one message text. */
export type Opened =
  /** Not a sealed message: show as is, without a lock mark. */
  | { kind: "plain"; text: string }
  /** Sealed, authentic for this room and sender: show with a lock mark. */
  | { kind: "sealed"; text: string }
  /** Sealed, but this client cannot open it: show a placeholder. */
  | { kind: "locked"; reason: "no-key" | "wrong-key" | "unsupported-version" }
  /** Sealed with this client's key but altered, moved or unreadable: never show as text. */
  | { kind: "tampered"; reason: "auth" | "malformed" };

/** Derives a 32-byte room key from a passphrase and a salt. */
export type Kdf = (passphrase: string, salt: Uint8Array) => Promise<Uint8Array> | Uint8Array;

export type RoomKeysOptions = {
  /** Randomness for salts and nonces (tests inject a fixed one). */
  randomBytes?: (n: number) => Uint8Array;
  /** Key derivation (tests inject a counting or fast one); default `deriveRoomKey`. */
  kdf?: Kdf;
  /** Derived keys kept per room, least recently used dropped first; default 64. */
  maxSaltsPerRoom?: number;
};

type DerivedKey = { key: Uint8Array; check: Uint8Array };
type RoomEntry = {
  passphrase: string;
  /** The salt this client seals with in this room, and its key. */
  salt: Uint8Array;
  own: DerivedKey;
  /** base64url(salt) → derived key (a derivation under way), in least-recently-used order. */
  keys: Map<string, Promise<DerivedKey>>;
};

/**
 * The dc1 key derivation: scrypt(NFC(passphrase), salt, 32, N = 2^15, r = 8, p = 1).
 *
 * @example
 * ```ts
 * const key = await deriveRoomKey("hunter2", randomBytes(16)); // ~0.15–0.3 s, 32 MiB
 * ```
 */
export function deriveRoomKey(passphrase: string, salt: Uint8Array): Promise<Uint8Array> {
  const { N, r, p, keyBytes } = KDF_PARAMS;
  return scryptAsync(utf8.encode(passphrase.normalize("NFC")), salt, { N, r, p, dkLen: keyBytes });
}

/** True when `text` has the shape of a sealed message (any version), e.g. to warn before sending it as plain text. */
export function isSealed(text: string): boolean {
  return SEALED_SHAPE.test(text);
}

const SEALED_SHAPE = /^dc([0-9]{1,3}):([A-Za-z0-9_-]*)$/;

/** Rooms and user names compare case-insensitively (docs/PROTOCOL.md): lib/wire/names.ts folds them. */
const fold = nameKey;

function checkName(what: string, name: string): void {
  if (typeof name !== "string" || name.length === 0 || /[\r\n]/.test(name)) {
    throw new TypeError(`Cannot seal: the ${what} name must be a non-empty single-line string`);
  }
}

function associatedData(room: string, sender: string): Uint8Array {
  return utf8.encode(`dc1\n${fold(room)}\n${fold(sender)}`);
}

function keyCheck(key: Uint8Array): Uint8Array {
  return hmac(sha256, key, utf8.encode(CHECK_LABEL)).subarray(0, CHECK_BYTES);
}

/** Whether two byte strings are equal, in a time that does not depend on where they differ. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let d = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) d |= a[i] ^ b[i];
  return d === 0;
}

type Parsed = { salt: Uint8Array; check: Uint8Array; nonce: Uint8Array; sealed: Uint8Array };

/** Splits the base64url part of a dc1 message; null if it is not canonical or too short. */
function parseBody(b64: string): Parsed | null {
  const raw = fromBase64Url(b64);
  if (raw === null || raw.length < SEAL_OVERHEAD) return null;
  let at = 0;
  const take = (n: number) => raw.subarray(at, at += n);
  const salt = take(SALT_BYTES), check = take(CHECK_BYTES), nonce = take(NONCE_BYTES);
  return { salt, check, nonce, sealed: raw.subarray(at) };
}

/**
 * The passphrases this client holds, one per room, and the keys derived from
 * them. Passphrases stay in memory only; nothing here logs or stores them.
 *
 * @example
 * ```ts
 * const keys = new RoomKeys();
 * await keys.setPassphrase("Lobby", "correct horse battery staple"); // one derivation
 * const wire = keys.seal("lobby", "alice", "hi"); // throws RangeError above MAX_PLAIN_BYTES
 * const shown = await keys.open("LOBBY", "Alice", wire); // { kind: "sealed", text: "hi" }
 * ```
 */
export class RoomKeys {
  #rooms = new Map<string, RoomEntry>();
  /** Passphrases being set (their key derived), by room. */
  #setting = new Map<string, { passphrase: string; done: Promise<void> }>();
  #random: (n: number) => Uint8Array;
  #kdf: Kdf;
  #maxSalts: number;
  #derivations = 0;

  constructor(options: RoomKeysOptions = {}) {
    this.#random = options.randomBytes ?? randomBytes;
    this.#kdf = options.kdf ?? deriveRoomKey;
    this.#maxSalts = options.maxSaltsPerRoom ?? MAX_SALTS_PER_ROOM;
    if (!(this.#maxSalts >= 1)) throw new RangeError("maxSaltsPerRoom must be at least 1");
  }

  /** How many key derivations this object has run (each costs one scrypt). */
  get derivations(): number {
    return this.#derivations;
  }

  /**
   * Seals and opens `room` with `passphrase` from now on. A new passphrase
   * gets a new random salt and derives its key at once; setting the same
   * passphrase again changes nothing.
   */
  async setPassphrase(room: string, passphrase: string): Promise<void> {
    checkName("room", room);
    if (typeof passphrase !== "string" || passphrase.length === 0) {
      throw new TypeError("A room passphrase must be a non-empty string");
    }
    const old = this.#rooms.get(fold(room));
    if (old && old.passphrase === passphrase) return;
    const under = this.#setting.get(fold(room));
    if (under && under.passphrase === passphrase) return under.done; // the same, set twice at once: one derivation
    const salt = Uint8Array.from(this.#random(SALT_BYTES));
    const own = this.#derive(passphrase, salt);
    const done = own.then((key) => {
      if (this.#setting.get(fold(room))?.done !== done) return; // a newer passphrase was set meanwhile
      this.#setting.delete(fold(room));
      this.#rooms.set(fold(room), { passphrase, salt, own: key, keys: new Map([[toBase64Url(salt), own]]) });
    });
    this.#setting.set(fold(room), { passphrase, done });
    return done;
  }

  /** Whether this client holds a passphrase for `room`. */
  hasPassphrase(room: string): boolean {
    return this.#rooms.has(fold(room));
  }

  /** Drops the passphrase of `room` and every key derived from it. */
  forget(room: string): void {
    this.#rooms.delete(fold(room));
    this.#setting.delete(fold(room));
  }

  /**
   * The sealed text of `plaintext`, sent by `sender` to `room`: one line of
   * ASCII of at most MAX_MSG_BYTES. Throws an Error without a passphrase for
   * the room, a RangeError when the plaintext exceeds MAX_PLAIN_BYTES.
   */
  seal(room: string, sender: string, plaintext: string): string {
    checkName("room", room);
    checkName("sender", sender);
    if (typeof plaintext !== "string") throw new TypeError("Cannot seal: the message must be a string");
    const size = utf8Length(plaintext);
    if (size > MAX_PLAIN_BYTES) {
      throw new RangeError(
        `Message too long to seal: ${size} bytes; a sealed message holds at most ${MAX_PLAIN_BYTES} bytes (UTF-8)`,
      );
    }
    const entry = this.#rooms.get(fold(room));
    if (!entry) throw new Error(`Cannot seal: no passphrase for room ${room}`);
    const nonce = Uint8Array.from(this.#random(NONCE_BYTES));
    const sealed = gcm(entry.own.key, nonce, associatedData(room, sender)).encrypt(utf8.encode(plaintext));
    const raw = new Uint8Array(SALT_BYTES + CHECK_BYTES + NONCE_BYTES + sealed.length);
    raw.set(entry.salt, 0);
    raw.set(entry.own.check, SALT_BYTES);
    raw.set(nonce, SALT_BYTES + CHECK_BYTES);
    raw.set(sealed, SALT_BYTES + CHECK_BYTES + NONCE_BYTES);
    return SEAL_PREFIX + toBase64Url(raw);
  }

  /**
   * What to show for message `text` that the server says `sender` sent to
   * `room`. Never rejects, whatever the text; only authentic messages give
   * text with kind "sealed".
   */
  async open(room: string, sender: string, text: string): Promise<Opened> {
    const shape = SEALED_SHAPE.exec(text);
    if (!shape) return { kind: "plain", text };
    if (shape[1] !== "1") return { kind: "locked", reason: "unsupported-version" };
    const parsed = parseBody(shape[2]);
    if (!parsed) return { kind: "tampered", reason: "malformed" };
    const entry = this.#rooms.get(fold(room));
    if (!entry) return { kind: "locked", reason: "no-key" };
    const { key, check } = await this.#keyFor(entry, parsed.salt);
    if (!sameBytes(check, parsed.check)) return { kind: "locked", reason: "wrong-key" };
    try {
      const plain = gcm(key, parsed.nonce, associatedData(room, sender)).decrypt(parsed.sealed);
      return { kind: "sealed", text: strictUtf8.decode(plain) };
    } catch {
      return { kind: "tampered", reason: "auth" };
    }
  }

  async #derive(passphrase: string, salt: Uint8Array): Promise<DerivedKey> {
    this.#derivations++;
    const key = await this.#kdf(passphrase, salt);
    if (key.length !== KDF_PARAMS.keyBytes) throw new RangeError(`kdf returned ${key.length} bytes, not 32`);
    return { key, check: keyCheck(key) };
  }

  /** The key of `entry`'s passphrase with `salt`, derived once and cached (LRU). */
  #keyFor(entry: RoomEntry, salt: Uint8Array): Promise<DerivedKey> {
    const id = toBase64Url(salt);
    const hit = entry.keys.get(id);
    if (hit) {
      entry.keys.delete(id);
      entry.keys.set(id, hit);
      return hit;
    }
    const derived = this.#derive(entry.passphrase, salt);
    entry.keys.set(id, derived);
    const ownId = toBase64Url(entry.salt);
    for (const old of entry.keys.keys()) {
      if (entry.keys.size <= this.#maxSalts) break;
      if (old !== ownId && old !== id) entry.keys.delete(old);
    }
    return derived;
  }
}
