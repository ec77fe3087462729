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
 * @example
 * ```ts
 * const keys = new RoomKeys();
 * keys.setPassphrase("lobby", "correct horse battery staple");
 * const wire = keys.seal("lobby", "alice", "hi there"); // "dc1:…", send it as the msg
 * keys.open("lobby", "alice", wire);   // { kind: "sealed", text: "hi there" }
 * keys.open("lobby", "mallory", wire); // { kind: "tampered", reason: "auth" }
 * keys.open("lobby", "bob", "hello");  // { kind: "plain", text: "hello" }
 * ```
 */
import { nameKey } from "../wire/names.ts";
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import { MAX_MSG_BYTES } from "../wire/messages.ts";
import { utf8Length } from "../wire/utf8.ts";

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

/** scrypt needs 128·N·r bytes; give it that plus slack. */
const MAXMEM = 128 * KDF_PARAMS.N * KDF_PARAMS.r + 16 * 1024 * 1024;
const CHECK_LABEL = "dc1 key check";
const MAX_SALTS_PER_ROOM = 64;

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
export type Kdf = (passphrase: string, salt: Uint8Array) => Uint8Array;

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
  /** The salt this client seals with in this room. */
  salt: Uint8Array;
  /** base64url(salt) → derived key, in least-recently-used order. */
  keys: Map<string, DerivedKey>;
};

/**
 * The dc1 key derivation: scrypt(NFC(passphrase), salt, 32, N = 2^15, r = 8, p = 1).
 *
 * @example
 * ```ts
 * const key = deriveRoomKey("hunter2", randomBytes(16)); // ~60–75 ms, 32 MiB
 * ```
 */
export function deriveRoomKey(passphrase: string, salt: Uint8Array): Uint8Array {
  const { N, r, p, keyBytes } = KDF_PARAMS;
  return scryptSync(passphrase.normalize("NFC"), salt, keyBytes, { N, r, p, maxmem: MAXMEM });
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
  return Buffer.from(`dc1\n${fold(room)}\n${fold(sender)}`, "utf8");
}

function keyCheck(key: Uint8Array): Uint8Array {
  return createHmac("sha256", key).update(CHECK_LABEL).digest().subarray(0, CHECK_BYTES);
}

type Parsed = { salt: Uint8Array; check: Uint8Array; nonce: Uint8Array; body: Uint8Array; tag: Uint8Array };

/** Splits the base64url part of a dc1 message; null if it is not canonical or too short. */
function parseBody(b64: string): Parsed | null {
  if (b64.length % 4 === 1) return null;
  const raw = Buffer.from(b64, "base64url");
  if (raw.length < SEAL_OVERHEAD || raw.toString("base64url") !== b64) return null;
  let at = 0;
  const take = (n: number) => raw.subarray(at, at += n);
  const salt = take(SALT_BYTES), check = take(CHECK_BYTES), nonce = take(NONCE_BYTES);
  const body = take(raw.length - SEAL_OVERHEAD);
  return { salt, check, nonce, body, tag: take(TAG_BYTES) };
}

/**
 * The passphrases this client holds, one per room, and the keys derived from
 * them. Passphrases stay in memory only; nothing here logs or stores them.
 *
 * @example
 * ```ts
 * const keys = new RoomKeys();
 * keys.setPassphrase("Lobby", "correct horse battery staple"); // one derivation
 * const wire = keys.seal("lobby", "alice", "hi"); // throws RangeError above MAX_PLAIN_BYTES
 * const shown = keys.open("LOBBY", "Alice", wire); // { kind: "sealed", text: "hi" }
 * ```
 */
export class RoomKeys {
  #rooms = new Map<string, RoomEntry>();
  #random: (n: number) => Uint8Array;
  #kdf: Kdf;
  #maxSalts: number;
  #derivations = 0;

  constructor(options: RoomKeysOptions = {}) {
    this.#random = options.randomBytes ?? ((n) => randomBytes(n));
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
  setPassphrase(room: string, passphrase: string): void {
    checkName("room", room);
    if (typeof passphrase !== "string" || passphrase.length === 0) {
      throw new TypeError("A room passphrase must be a non-empty string");
    }
    const old = this.#rooms.get(fold(room));
    if (old && old.passphrase === passphrase) return;
    const salt = Uint8Array.from(this.#random(SALT_BYTES));
    const entry: RoomEntry = { passphrase, salt, keys: new Map() };
    this.#rooms.set(fold(room), entry);
    this.#keyFor(entry, salt);
  }

  /** Whether this client holds a passphrase for `room`. */
  hasPassphrase(room: string): boolean {
    return this.#rooms.has(fold(room));
  }

  /** Drops the passphrase of `room` and every key derived from it. */
  forget(room: string): void {
    this.#rooms.delete(fold(room));
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
    const { key, check } = this.#keyFor(entry, entry.salt);
    const nonce = Uint8Array.from(this.#random(NONCE_BYTES));
    const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(room, sender));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const raw = Buffer.concat([entry.salt, check, nonce, body, cipher.getAuthTag()]);
    return SEAL_PREFIX + raw.toString("base64url");
  }

  /**
   * What to show for message `text` that the server says `sender` sent to
   * `room`. Never throws on any text; only authentic messages return text
   * with kind "sealed".
   */
  open(room: string, sender: string, text: string): Opened {
    const shape = SEALED_SHAPE.exec(text);
    if (!shape) return { kind: "plain", text };
    if (shape[1] !== "1") return { kind: "locked", reason: "unsupported-version" };
    const parsed = parseBody(shape[2]);
    if (!parsed) return { kind: "tampered", reason: "malformed" };
    const entry = this.#rooms.get(fold(room));
    if (!entry) return { kind: "locked", reason: "no-key" };
    const { key, check } = this.#keyFor(entry, parsed.salt);
    if (!timingSafeEqual(check, parsed.check)) return { kind: "locked", reason: "wrong-key" };
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, parsed.nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(room, sender));
      decipher.setAuthTag(parsed.tag);
      const plain = Buffer.concat([decipher.update(parsed.body), decipher.final()]);
      return { kind: "sealed", text: plain.toString("utf8") };
    } catch {
      return { kind: "tampered", reason: "auth" };
    }
  }

  /** The key of `entry`'s passphrase with `salt`, derived once and cached (LRU). */
  #keyFor(entry: RoomEntry, salt: Uint8Array): DerivedKey {
    const id = Buffer.from(salt).toString("base64url");
    const hit = entry.keys.get(id);
    if (hit) {
      entry.keys.delete(id);
      entry.keys.set(id, hit);
      return hit;
    }
    this.#derivations++;
    const key = this.#kdf(entry.passphrase, salt);
    if (key.length !== KDF_PARAMS.keyBytes) throw new RangeError(`kdf returned ${key.length} bytes, not 32`);
    const derived = { key, check: keyCheck(key) };
    entry.keys.set(id, derived);
    const ownId = Buffer.from(entry.salt).toString("base64url");
    for (const old of entry.keys.keys()) {
      if (entry.keys.size <= this.#maxSalts) break;
      if (old !== ownId && old !== id) entry.keys.delete(old);
    }
    return derived;
  }
}
