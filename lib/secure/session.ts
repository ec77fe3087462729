/**
 * One transport session: the two keys a Noise handshake split into, a send
 * counter used as the AEAD nonce, a replay window for the receive side, and
 * the age and count limits after which the session is rekeyed or refused
 * (WireGuard's timers, wireguard.pdf §6.1). Pure: `now` comes in.
 *
 * A data datagram is `0x04 | receiver index (4) | counter (8) |
 * ChaCha20-Poly1305(key, counter, header, plaintext)` with the 13-byte
 * header as associated data (./envelope.ts).
 *
 * @example
 * ```ts
 * const s = new TransportSession({ localIndex: 1, remoteIndex: 2, sendKey, receiveKey, createdAt: now, initiator: true });
 * const bytes = s.seal(utf8("login\n1\nbob\n"), now);  // null once the session is too old or used up
 * peer.open(decodeEnvelope(bytes) as Data, now);       // { ok: true, plaintext, newest: true }
 * ```
 */
import { datagramBuffer } from "./_datagram_pool.ts";
import { type Data, DATA_HEADER_LEN, DATA_OVERHEAD, writeDataHeader } from "./envelope.ts";
import { ReplayWindow } from "./replay_window.ts";
import { aeadDecryptInPlace, aeadEncryptInto } from "./suite.ts";

/** When sessions are renewed and refused. */
export type SessionLimits = {
  /** The initiator of a session starts a new handshake when it sends on a session this old (ms). */
  rekeyAfterMs: number;
  /** A responder that may initiate (servers to servers) does so at this age, later than the initiator would. */
  responderRekeyAfterMs: number;
  /** Nothing is sent or accepted on a session this old (ms). */
  rejectAfterMs: number;
  /** A new handshake is started after this many datagrams were sent. */
  rekeyAfterMessages: number;
  /** No counter at or above this is sent or accepted. */
  rejectAfterMessages: number;
  /** Replay window size in bits (a multiple of 32). */
  windowBits: number;
};

/** WireGuard's times; counts far beyond what two minutes allow, within JavaScript's safe integers. */
export const DEFAULT_LIMITS: SessionLimits = {
  rekeyAfterMs: 120_000,
  responderRekeyAfterMs: 150_000,
  rejectAfterMs: 180_000,
  rekeyAfterMessages: 2 ** 40,
  rejectAfterMessages: 2 ** 41,
  windowBits: 1024,
};

/** Why a data datagram was dropped by its session. */
export type DataDropReason = "expired" | "exhausted" | "replay" | "stale" | "bad-data";

/** What a session starts from. */
export type SessionInit = {
  /** Our index: the receiver index of the datagrams we receive. */
  localIndex: number;
  /** Their index: the receiver index we write. */
  remoteIndex: number;
  sendKey: Uint8Array;
  receiveKey: Uint8Array;
  createdAt: number;
  /** True on the side that sent handshake message 1. */
  initiator: boolean;
  limits?: SessionLimits;
};

/** Keys, counters and the replay window of one session. */
export class TransportSession {
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly createdAt: number;
  readonly initiator: boolean;
  readonly limits: SessionLimits;
  readonly #sendKey: Uint8Array;
  readonly #receiveKey: Uint8Array;
  readonly #window: ReplayWindow;
  #sent = 0;
  /** When the last datagram authenticated (ms), or -Infinity. */
  lastReceivedAt = -Infinity;

  /** A session over the keys of a finished handshake. */
  constructor(o: SessionInit) {
    this.localIndex = o.localIndex;
    this.remoteIndex = o.remoteIndex;
    this.createdAt = o.createdAt;
    this.initiator = o.initiator;
    this.limits = o.limits ?? DEFAULT_LIMITS;
    this.#sendKey = o.sendKey;
    this.#receiveKey = o.receiveKey;
    this.#window = new ReplayWindow(this.limits.windowBits);
  }

  /** Datagrams sealed so far (the next counter). */
  get sent(): number {
    return this.#sent;
  }

  /** The highest counter received, or -1. */
  get highestReceived(): number {
    return this.#window.top;
  }

  /** True when nothing may be sent or accepted any more. */
  expired(now: number): boolean {
    return now - this.createdAt >= this.limits.rejectAfterMs;
  }

  /** True when this side should start a new handshake before sending more. */
  needsRekey(now: number): boolean {
    const after = this.initiator ? this.limits.rekeyAfterMs : this.limits.responderRekeyAfterMs;
    return now - this.createdAt >= after || this.#sent >= this.limits.rekeyAfterMessages;
  }

  /** A data datagram carrying `plaintext`, or null when the session is expired or its counters used up. */
  seal(plaintext: Uint8Array, now: number): Uint8Array | null {
    if (this.expired(now) || this.#sent >= this.limits.rejectAfterMessages) return null;
    const counter = this.#sent++;
    // Every byte is written: the header, then the ciphertext and its tag.
    const out = writeDataHeader(datagramBuffer(DATA_OVERHEAD + plaintext.length), this.remoteIndex, counter);
    aeadEncryptInto(this.#sendKey, counter, out.subarray(0, DATA_HEADER_LEN), plaintext, out, DATA_HEADER_LEN);
    return out;
  }

  /**
   * Opens a data datagram addressed to this session. Only an authentic,
   * fresh datagram changes anything (the window, `lastReceivedAt`);
   * `newest` is true when its counter is the highest seen so far. It is
   * decrypted in place: `plaintext` is a view of the datagram's bytes,
   * whose ciphertext it overwrote (a dropped datagram is left as it was).
   */
  open(d: Data, now: number): { ok: true; plaintext: Uint8Array; newest: boolean } | { ok: false; reason: DataDropReason } {
    if (this.expired(now)) return { ok: false, reason: "expired" };
    if (d.counter >= this.limits.rejectAfterMessages) return { ok: false, reason: "exhausted" };
    const verdict = this.#window.check(d.counter);
    if (verdict !== "ok") return { ok: false, reason: verdict };
    const plaintext = aeadDecryptInPlace(this.#receiveKey, d.counter, d.header, d.ciphertext);
    if (plaintext === null) return { ok: false, reason: "bad-data" };
    const newest = d.counter > this.#window.top;
    this.#window.accept(d.counter);
    this.lastReceivedAt = now;
    return { ok: true, plaintext, newest };
  }
}
