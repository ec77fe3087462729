/**
 * Encrypted multicast between servers (docs/PEER_PROTOCOL.md "Encrypted
 * multicast"). A pairwise Noise session cannot seal one datagram for many
 * receivers, so each server has a **group key** of its own for what it
 * multicasts, and gives it to each peer over their pairwise session (a
 * `grant`: control byte 0x03 inside a data datagram). With the key goes a
 * **tag key** drawn for that one receiver, and the receiver's slot: a
 * group datagram is sealed once and carries one 16-byte tag per receiver
 * (HMAC-SHA256 under that receiver's tag key, truncated), so a receiver
 * knows it came from the key's owner and not from another peer, which
 * knows the group key but not this receiver's tag key.
 *
 * `0x07 | key id (4) | counter (8) | ChaCha20-Poly1305(group key, counter, header, plaintext) | tag × slots`
 *
 * A sender draws a new key every GROUP_KEY_MS, grants it at once and uses
 * it GROUP_KEY_GRACE_MS later (so the grant is there first); a receiver
 * keeps the two newest keys of each peer, each with its replay window.
 * Pure: randomness and time come in.
 *
 * @example
 * ```ts
 * const s = new GroupSender({ peers: ["b", "c"], random, now });
 * for (const g of s.grants("b")) pairwise.seal("b", g, now);   // on b's side: receiver.learn("a", g, now)
 * const bytes = s.seal(datagram, now);                         // to the group; at b: receiver.open(decodeEnvelope(bytes))
 * ```
 */
import { CONTROL, DATA_HEADER_LEN, encodeDataHeader, type Group, KIND, readIndex, indexBytes } from "./envelope.ts";
import { ReplayWindow } from "./replay_window.ts";
import { aeadDecrypt, aeadEncryptInto, bytesEqual, hmacSha256, KEY_LEN, MAX_NONCE, secretKey, type SymmetricKey, TAG_LEN } from "./suite.ts";

/** A sender draws a new group key this often, ms. */
export const GROUP_KEY_MS = 120_000;
/** A new key is granted this long before it is used, ms. */
export const GROUP_KEY_GRACE_MS = 1000;
/** Bytes of each receiver's tag. */
export const GROUP_TAG_LEN = 16;
/** A grant: 0x03, key id (4), slot (1), slots (1), group key (32), tag key (32). */
export const GRANT_LEN = 7 + 2 * KEY_LEN;
/** Receivers past this many (one byte of slot) are not served by multicast. */
export const MAX_GROUP_SLOTS = 255;

/** What a grant says. */
export type Grant = { keyId: number; slot: number; slots: number; key: Uint8Array; tagKey: Uint8Array };

/** A grant's bytes (a control plaintext of a pairwise session). */
export function encodeGrant(g: Grant): Uint8Array {
  const b = new Uint8Array(GRANT_LEN);
  b[0] = CONTROL.groupKey;
  b.set(indexBytes(g.keyId), 1);
  b[5] = g.slot;
  b[6] = g.slots;
  b.set(g.key, 7);
  b.set(g.tagKey, 7 + KEY_LEN);
  return b;
}

/** The grant in `p`, or null when it is not one. */
export function decodeGrant(p: Uint8Array): Grant | null {
  if (p.length !== GRANT_LEN || p[0] !== CONTROL.groupKey || p[6] === 0 || p[5] >= p[6]) return null;
  return { keyId: readIndex(p.subarray(1, 5)), slot: p[5], slots: p[6], key: p.slice(7, 7 + KEY_LEN), tagKey: p.slice(7 + KEY_LEN) };
}

const tagOf = (tagKey: SymmetricKey, sealed: Uint8Array) => hmacSha256(tagKey, sealed).subarray(0, GROUP_TAG_LEN);

type SendKey = { keyId: number; key: Uint8Array; tagKeys: SymmetricKey[]; grants: Uint8Array[]; counter: number; usableAt: number };

/** One server's group key(s) for its multicast fan-out; `peers` in slot order. */
export class GroupSender {
  readonly #peers: readonly string[];
  readonly #random: (n: number) => Uint8Array;
  #current: SendKey;
  #next: SendKey | null = null;

  /** Draws the first key (usable at once: nothing was multicast before). */
  constructor(o: { peers: readonly string[]; random: (n: number) => Uint8Array; now: number }) {
    if (o.peers.length === 0 || o.peers.length > MAX_GROUP_SLOTS) throw new RangeError(`A group has 1 to ${MAX_GROUP_SLOTS} receivers, not ${o.peers.length}`);
    this.#peers = o.peers;
    this.#random = o.random;
    this.#current = this.#draw(o.now);
  }

  /** The id of the key datagrams are sealed with now. */
  get keyId(): number {
    return this.#current.keyId;
  }

  /** The grants `peer` must hold (the key in use, and the next one if drawn): to seal on its pairwise session. */
  grants(peer: string): Uint8Array[] {
    const slot = this.#peers.indexOf(peer);
    if (slot < 0) return [];
    return [this.#current, this.#next].filter((k) => k !== null).map((k) => k.grants[slot]);
  }

  /** Draws the next key when the one in use is GROUP_KEY_MS old; true when it did (then grant it to every peer). */
  rotate(now: number): boolean {
    if (this.#next !== null || now - this.#current.usableAt < GROUP_KEY_MS) return false;
    this.#next = this.#draw(now + GROUP_KEY_GRACE_MS);
    return true;
  }

  /** `plaintext` as a group datagram; null when the key is used up (rotate first). */
  seal(plaintext: Uint8Array, now: number): Uint8Array | null {
    if (this.#next !== null && now >= this.#next.usableAt) {
      this.#current = this.#next;
      this.#next = null;
    }
    const k = this.#current;
    if (k.counter >= MAX_NONCE) return null;
    const sealedEnd = DATA_HEADER_LEN + plaintext.length + TAG_LEN;
    const out = encodeDataHeader(k.keyId, k.counter, sealedEnd + GROUP_TAG_LEN * k.tagKeys.length, KIND.group);
    aeadEncryptInto(k.key, k.counter++, out.subarray(0, DATA_HEADER_LEN), plaintext, out, DATA_HEADER_LEN);
    const sealed = out.subarray(0, sealedEnd);
    k.tagKeys.forEach((t, slot) => out.set(tagOf(t, sealed), sealedEnd + slot * GROUP_TAG_LEN));
    return out;
  }

  #draw(usableAt: number): SendKey {
    const keyId = readIndex(this.#random(4));
    const keyBytes = this.#random(KEY_LEN);
    const slots = this.#peers.length;
    const tagBytes = this.#peers.map(() => this.#random(KEY_LEN));
    const grants = tagBytes.map((tagKey, slot) => encodeGrant({ keyId, slot, slots, key: keyBytes, tagKey }));
    return { keyId, key: keyBytes, tagKeys: tagBytes.map(secretKey), grants, counter: 0, usableAt };
  }
}

/** Why a group datagram was dropped. */
export type GroupDropReason = "unknown-group-key" | "bad-tag" | "replay" | "stale" | "bad-data";

type ReceiveKey = { peer: string; slot: number; slots: number; key: Uint8Array; tagKey: SymmetricKey; window: ReplayWindow; learnedAt: number };

/** The group keys this server was granted by its peers. */
export class GroupReceiver {
  readonly #keys = new Map<number, ReceiveKey>();
  readonly #windowBits: number;

  /** Each key's replay window has `windowBits` bits. */
  constructor(o: { windowBits: number }) {
    this.#windowBits = o.windowBits;
  }

  /** A grant from `peer` (authenticated: it came on their pairwise session). False when malformed or another peer's id. */
  learn(peer: string, bytes: Uint8Array, now: number): boolean {
    const g = decodeGrant(bytes);
    if (g === null) return false;
    const had = this.#keys.get(g.keyId);
    if (had !== undefined) return had.peer === peer;
    this.#keys.set(g.keyId, { peer, slot: g.slot, slots: g.slots, key: g.key, tagKey: secretKey(g.tagKey), window: new ReplayWindow(this.#windowBits), learnedAt: now });
    // The two newest keys of each peer are kept.
    const mine = [...this.#keys].filter(([, k]) => k.peer === peer).sort((x, y) => y[1].learnedAt - x[1].learnedAt);
    for (const [id] of mine.slice(2)) this.#keys.delete(id);
    return true;
  }

  /** Opens a group datagram: its plaintext and sender, or why it was dropped (then nothing changed). */
  open(e: Group): { ok: true; peer: string; plaintext: Uint8Array } | { ok: false; reason: GroupDropReason } {
    const k = this.#keys.get(e.keyId);
    if (k === undefined) return { ok: false, reason: "unknown-group-key" };
    const sealedLen = e.body.length - k.slots * GROUP_TAG_LEN;
    if (sealedLen < TAG_LEN) return { ok: false, reason: "bad-tag" };
    const sealed = e.datagram.subarray(0, DATA_HEADER_LEN + sealedLen);
    const at = sealedLen + k.slot * GROUP_TAG_LEN;
    if (!bytesEqual(tagOf(k.tagKey, sealed), e.body.subarray(at, at + GROUP_TAG_LEN))) return { ok: false, reason: "bad-tag" };
    const verdict = k.window.check(e.counter);
    if (verdict !== "ok") return { ok: false, reason: verdict };
    const plaintext = aeadDecrypt(k.key, e.counter, e.header, e.body.subarray(0, sealedLen));
    if (plaintext === null) return { ok: false, reason: "bad-data" };
    k.window.accept(e.counter);
    return { ok: true, peer: k.peer, plaintext };
  }

  /** Forgets every key of `peer`. */
  forget(peer: string): void {
    for (const [id, k] of this.#keys) if (k.peer === peer) this.#keys.delete(id);
  }
}
