/**
 * The datagrams of the encrypted transport (docs/PROTOCOL.md "Encrypted
 * transport"), bytes ⇄ values. The first byte tells them apart from each
 * other and from the plaintext protocol, whose datagrams are text starting
 * with a verb (a lower-case ASCII letter):
 *
 * | first byte | kind | bytes |
 * |---|---|---|
 * | 0x01 | `initiation`: a client's handshake message 1 (NK) | 85 |
 * | 0x02 | `response`: handshake message 2 (NK or KKpsk0) | 73 |
 * | 0x03 | `cookie`: a cookie reply | 61 |
 * | 0x04 | `data`: an encrypted datagram | 29 + plaintext |
 * | 0x05 | `peer-initiation`: a server's handshake message 1 (KKpsk0) | 86 + id length |
 * | 0x06 | `reset`: "I have no session with that index" | 21 |
 * | 0x07 | `group`: a server's multicast datagram (./group.ts) | 29 + plaintext + 16 per receiver |
 * | other 0x00–0x1f | reserved: dropped unanswered | |
 * | anything else | `plaintext`: today's protocol text | |
 *
 * Integers are little-endian. `decodeEnvelope` never throws: it returns a
 * value, or `{ kind: "malformed" }` (a transport type byte with the wrong
 * length or fields), or `{ kind: "reserved" }`.
 *
 * @example
 * ```ts
 * const bytes = encodeData({ receiver: 7, counter: 0, ciphertext });
 * decodeEnvelope(bytes); // { kind: "data", receiver: 7, counter: 0, ciphertext, header: bytes 0..12 }
 * decodeEnvelope(new TextEncoder().encode("login\n1\nbob\n")).kind; // "plaintext"
 * ```
 */
import { concatBytes, KEY_LEN, TAG_LEN } from "./suite.ts";
import { SERVER_ID } from "../wire/names.ts";

/** The first byte of each transport datagram. */
export const KIND = { initiation: 0x01, response: 0x02, cookie: 0x03, data: 0x04, peerInitiation: 0x05, reset: 0x06, group: 0x07 } as const;

/** Length of mac1 and mac2, of a cookie and of a reset token. */
export const MAC_LEN = 16;
/** Bytes of a data datagram before its ciphertext: kind, receiver index, counter. */
export const DATA_HEADER_LEN = 13;
/** Bytes a data datagram adds to its plaintext. */
export const DATA_OVERHEAD = DATA_HEADER_LEN + TAG_LEN;
/** The nonce of a cookie reply (XChaCha20-Poly1305). */
export const COOKIE_NONCE_LEN = 24;
/** Handshake message 1 of NK / KKpsk0 with an empty payload: e and a tag. */
export const MESSAGE1_LEN = KEY_LEN + TAG_LEN;
/** The payload of handshake message 2: the responder's index (4 bytes) and the reset token of the session (16). */
export const RESPONSE_PAYLOAD_LEN = 4 + MAC_LEN;
/** Handshake message 2: e, then the sealed payload. */
export const MESSAGE2_LEN = KEY_LEN + RESPONSE_PAYLOAD_LEN + TAG_LEN;

/** A client's handshake initiation. `signed` is every byte before mac1 (mac1 covers it), `beforeMac2` every byte before mac2. */
export type Initiation = { kind: "initiation"; sender: number; message: Uint8Array; mac1: Uint8Array; mac2: Uint8Array; signed: Uint8Array; beforeMac2: Uint8Array };
/** A server's handshake initiation to a peer: as Initiation, plus the sender's server id. */
export type PeerInitiation = Omit<Initiation, "kind"> & { kind: "peer-initiation"; from: string };
/** Handshake message 2 to the initiator's index `receiver` (the responder's own index is inside, sealed). */
export type Response = { kind: "response"; receiver: number; message: Uint8Array };
/** A cookie reply to the initiation whose sender index was `receiver`. */
export type CookieReply = { kind: "cookie"; receiver: number; nonce: Uint8Array; sealed: Uint8Array };
/** An encrypted datagram; `header` (bytes 0..12) is its AEAD associated data. */
export type Data = { kind: "data"; receiver: number; counter: number; ciphertext: Uint8Array; header: Uint8Array };
/** A reset: the sender has no session whose (its) index is `index`; `token` proves it is the server that had one. */
export type Reset = { kind: "reset"; index: number; token: Uint8Array };
/** A multicast datagram: sealed under its sender's group key `keyId`; `body` is the ciphertext and the receivers' tags. */
export type Group = { kind: "group"; keyId: number; counter: number; body: Uint8Array; header: Uint8Array; datagram: Uint8Array };
/** Any decoded datagram. */
export type Envelope =
  | Initiation
  | PeerInitiation
  | Response
  | CookieReply
  | Data
  | Reset
  | Group
  | { kind: "plaintext" }
  | { kind: "reserved" }
  | { kind: "malformed" };

const readU32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

/** A 64-bit little-endian counter at `at`, or -1 when it is above 2^53 − 1 (no session gets there). */
function readU64(b: Uint8Array, at: number): number {
  const high = readU32(b, at + 4);
  if (high >= 0x20_0000) return -1;
  return high * 0x1_0000_0000 + readU32(b, at);
}

function writeU64(b: Uint8Array, at: number, v: number): void {
  writeU32(b, at, v >>> 0);
  writeU32(b, at + 4, Math.floor(v / 0x1_0000_0000));
}

/** Decodes any datagram a transport socket received. */
export function decodeEnvelope(b: Uint8Array): Envelope {
  if (b.length === 0 || b[0] >= 0x20) return { kind: "plaintext" };
  switch (b[0]) {
    case KIND.initiation: {
      if (b.length !== 5 + MESSAGE1_LEN + 2 * MAC_LEN) return { kind: "malformed" };
      return { kind: "initiation", sender: readU32(b, 1), ...handshakeTail(b, 5) };
    }
    case KIND.peerInitiation: {
      const idLen = b.length > 5 ? b[5] : 0;
      if (idLen < 1 || idLen > 16 || b.length !== 6 + idLen + MESSAGE1_LEN + 2 * MAC_LEN) return { kind: "malformed" };
      const from = String.fromCharCode(...b.subarray(6, 6 + idLen));
      if (!SERVER_ID.test(from)) return { kind: "malformed" };
      return { kind: "peer-initiation", sender: readU32(b, 1), from, ...handshakeTail(b, 6 + idLen) };
    }
    case KIND.response:
      if (b.length !== 5 + MESSAGE2_LEN) return { kind: "malformed" };
      return { kind: "response", receiver: readU32(b, 1), message: b.slice(5) };
    case KIND.cookie:
      if (b.length !== 5 + COOKIE_NONCE_LEN + MAC_LEN + TAG_LEN) return { kind: "malformed" };
      return { kind: "cookie", receiver: readU32(b, 1), nonce: b.slice(5, 5 + COOKIE_NONCE_LEN), sealed: b.slice(5 + COOKIE_NONCE_LEN) };
    case KIND.data:
    case KIND.group: {
      if (b.length < DATA_OVERHEAD) return { kind: "malformed" };
      const counter = readU64(b, 5);
      if (counter < 0) return { kind: "malformed" };
      const body = b.subarray(DATA_HEADER_LEN), header = b.subarray(0, DATA_HEADER_LEN);
      if (b[0] === KIND.group) return { kind: "group", keyId: readU32(b, 1), counter, body, header, datagram: b };
      return { kind: "data", receiver: readU32(b, 1), counter, ciphertext: body, header };
    }
    case KIND.reset:
      if (b.length !== 5 + MAC_LEN) return { kind: "malformed" };
      return { kind: "reset", index: readU32(b, 1), token: b.slice(5) };
    default:
      return { kind: "reserved" };
  }
}

function handshakeTail(b: Uint8Array, at: number) {
  const macAt = at + MESSAGE1_LEN;
  return {
    message: b.slice(at, macAt),
    mac1: b.slice(macAt, macAt + MAC_LEN),
    mac2: b.slice(macAt + MAC_LEN),
    signed: b.subarray(0, macAt),
    beforeMac2: b.subarray(0, macAt + MAC_LEN),
  };
}

/**
 * A handshake initiation without its macs (they are computed over these
 * bytes, ./cookie.ts): a client's (`from` absent) or a server's.
 */
export function encodeInitiationBody(sender: number, message: Uint8Array, from?: string): Uint8Array {
  const id = from === undefined ? null : new TextEncoder().encode(from);
  const head = id === null ? 5 : 6 + id.length;
  const b = new Uint8Array(head + message.length);
  b[0] = id === null ? KIND.initiation : KIND.peerInitiation;
  writeU32(b, 1, sender);
  if (id !== null) {
    b[5] = id.length;
    b.set(id, 6);
  }
  b.set(message, head);
  return b;
}

/** A datagram of `kind`: its first byte, a 4-byte index, then `parts`. */
function framed(kind: number, index: number, ...parts: Uint8Array[]): Uint8Array {
  const head = new Uint8Array(5);
  head[0] = kind;
  writeU32(head, 1, index);
  return concatBytes(head, ...parts);
}

/** Handshake message 2. */
export function encodeResponse(r: Omit<Response, "kind">): Uint8Array {
  return framed(KIND.response, r.receiver, r.message);
}

/** A cookie reply. */
export function encodeCookieReply(c: Omit<CookieReply, "kind">): Uint8Array {
  return framed(KIND.cookie, c.receiver, c.nonce, c.sealed);
}

/** The 13-byte header of a data (or group) datagram (its AEAD associated data), in a datagram of `length` bytes (the rest left zero). */
export function encodeDataHeader(receiver: number, counter: number, length = DATA_HEADER_LEN, kind: number = KIND.data): Uint8Array {
  return writeDataHeader(new Uint8Array(length), receiver, counter, kind);
}

/** Writes the 13-byte header of a data (or group) datagram at the start of `b`; returns `b`. */
export function writeDataHeader(b: Uint8Array, receiver: number, counter: number, kind: number = KIND.data): Uint8Array {
  b[0] = kind;
  writeU32(b, 1, receiver);
  writeU64(b, 5, counter);
  return b;
}

/** A reset. */
export function encodeReset(r: Omit<Reset, "kind">): Uint8Array {
  return framed(KIND.reset, r.index, r.token);
}

/** A random 32-bit index from `random(4)`. */
export function randomIndex(random: (n: number) => Uint8Array): number {
  return readIndex(random(4));
}

/** The index in the first 4 bytes of `b` (little-endian). */
export function readIndex(b: Uint8Array): number {
  return readU32(b, 0);
}

/** Index `i` as 4 bytes, little-endian (in a response's payload; what reset tokens are computed over). */
export function indexBytes(i: number): Uint8Array {
  const b = new Uint8Array(4);
  writeU32(b, 0, i);
  return b;
}

/** First byte of the control plaintexts of a data datagram (a protocol datagram starts with a letter). */
export const CONTROL = { challenge: 0x01, response: 0x02, groupKey: 0x03 } as const;
/** Bytes of the random data of a path challenge (echoed by its response). */
export const CHALLENGE_LEN = 8;

/** What a data datagram's plaintext is: a keepalive (empty), a path challenge or response, malformed control, or a protocol datagram. */
export function plaintextKind(p: Uint8Array): "keepalive" | "challenge" | "response" | "bad-control" | "datagram" {
  if (p.length === 0) return "keepalive";
  if (p[0] >= 0x20) return "datagram";
  if (p.length !== 1 + CHALLENGE_LEN) return "bad-control";
  return p[0] === CONTROL.challenge ? "challenge" : p[0] === CONTROL.response ? "response" : "bad-control";
}
