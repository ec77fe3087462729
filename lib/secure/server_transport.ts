/**
 * A server's side of the encrypted client transport (docs/PROTOCOL.md
 * "Encrypted transport"): every datagram its client port receives goes
 * through `receive`, every reply through `seal`. Pure: no sockets, `now`
 * and randomness come in; `from` is the source address as the caller
 * writes it (`host:port`), used for cookies and address proofs only.
 *
 * - Initiations are answered by the Responder (cookies under load).
 * - A session sends nothing until its first datagram arrived (which also
 *   proves the handshake's source address, where message 2 went).
 * - Data from another address with the highest counter yet moves the
 *   session there (roaming); the new address is unproven until it echoes a
 *   path challenge the server sends it (QUIC's path validation, RFC 9000
 *   §8.2). Replies go to the session's current address.
 * - Data to an index the server does not have gets a reset (rate-limited),
 *   so a client of a restarted server handshakes again at once.
 *
 * @example
 * ```ts
 * const t = new ServerTransport({ staticKey, random, newKeyPair: generateKeyPair, now });
 * const r = t.receive(bytes, "192.0.2.1:5000", now);
 * if (r.send) socket.send(r.send, from);
 * if (r.kind === "data") {
 *   const reply = t.seal(r.session, answer(r.plaintext), now);  // { bytes, address, proven } or null
 * }
 * ```
 */
import { CHALLENGE_LEN, CONTROL, decodeEnvelope, type Initiation, plaintextKind } from "./envelope.ts";
import { serverClientHandshake } from "./handshake.ts";
import { type HandshakeDropReason, Responder } from "./responder.ts";
import type { DataDropReason, SessionLimits } from "./session.ts";
import { SessionTable } from "./session_table.ts";
import { bytesEqual, type KeyPair, type KeyPairSource } from "./suite.ts";

/** How long before a path challenge to the same unproven address is sent again, ms. */
export const CHALLENGE_RETRY_MS = 1000;

/** Why a datagram was dropped by the transport (servers count drops by this name). */
export type TransportDropReason = HandshakeDropReason | DataDropReason | "unknown-session" | "malformed" | "reserved" | "unexpected" | "bad-control";

/** What became of a received datagram; `send`, when set, goes back to its source address. */
export type ServerReceived =
  | { kind: "plaintext"; send: null }
  | { kind: "handshake"; what: "response" | "cookie"; send: Uint8Array }
  | { kind: "data"; session: number; plaintext: Uint8Array; address: string; proven: boolean; send: Uint8Array | null }
  | { kind: "control"; session: number; what: "keepalive" | "path-response"; address: string; proven: boolean; send: Uint8Array | null }
  | { kind: "drop"; reason: TransportDropReason; send: Uint8Array | null };

/** What a ServerTransport needs. */
export type ServerTransportOptions = {
  staticKey: KeyPair;
  random: (n: number) => Uint8Array;
  newKeyPair: KeyPairSource;
  now: number;
  handshakesPerSecond?: number;
  resetsPerSecond?: number;
  limits?: SessionLimits;
  maxSessions?: number;
  maxPending?: number;
  pendingMs?: number;
};

type ClientMeta = {
  /** Where replies go: the source of the newest datagram. */
  address: string;
  proven: boolean;
  /** Where handshake message 2 went. */
  readonly handshakeFrom: string;
  challenge: { data: Uint8Array; to: string; at: number } | null;
};

/** The client port's encrypted transport at a server. */
export class ServerTransport {
  readonly #o: ServerTransportOptions;
  readonly #table: SessionTable<ClientMeta>;
  readonly #responder: Responder;

  /** A transport for the server whose static key pair is `o.staticKey`. */
  constructor(o: ServerTransportOptions) {
    this.#o = o;
    this.#table = new SessionTable({ random: o.random, maxLive: o.maxSessions, maxPending: o.maxPending, pendingMs: o.pendingMs });
    this.#responder = new Responder({ ...o, table: this.#table });
  }

  /** Handshakes done, cookie replies and resets sent, sessions held. */
  get counts() {
    const t = this.#table;
    return { ...this.#responder.counts, sessions: t.liveCount, pending: t.pendingCount, evicted: t.evicted };
  }

  /** Handles one datagram from `from`. Never throws on input; bad input changes nothing. A data datagram is opened in place: its bytes then hold the plaintext (TransportSession.open). */
  receive(bytes: Uint8Array, from: string, now: number, underLoad = false): ServerReceived {
    const e = decodeEnvelope(bytes);
    switch (e.kind) {
      case "plaintext":
        return { kind: "plaintext", send: null };
      case "initiation":
        return this.#initiation(e, from, now, underLoad);
      case "data":
        break;
      case "malformed":
      case "reserved":
        return { kind: "drop", reason: e.kind, send: null };
      default:
        return { kind: "drop", reason: "unexpected", send: null };
    }
    const entry = this.#table.get(e.receiver, now);
    if (entry === undefined) return { kind: "drop", reason: "unknown-session", send: this.#responder.reset(e, now) };
    const opened = entry.session.open(e, now);
    if (!opened.ok) return { kind: "drop", reason: opened.reason, send: null };
    const meta = entry.meta;
    if (entry.pending) {
      this.#table.confirm(e.receiver, now);
      meta.address = from;
      meta.proven = from === meta.handshakeFrom;
    } else if (opened.newest && from !== meta.address) {
      meta.address = from;
      meta.proven = false;
    }
    const p = opened.plaintext;
    const kind = plaintextKind(p);
    if (kind === "response" && meta.challenge !== null && meta.challenge.to === from && bytesEqual(p.subarray(1), meta.challenge.data)) {
      meta.challenge = null;
      if (meta.address === from) meta.proven = true;
    }
    const send = this.#challengeIfUnproven(e.receiver, meta, from, now);
    const session = e.receiver, address = meta.address, proven = meta.proven;
    // Each datagram's answer is one object literal (no spread of a shared part): this runs for every request.
    if (kind === "datagram") return { kind: "data", session, plaintext: p, address, proven, send };
    if (kind === "keepalive") return { kind: "control", what: "keepalive", session, address, proven, send };
    if (kind === "response") return { kind: "control", what: "path-response", session, address, proven, send };
    return { kind: "drop", reason: kind === "challenge" ? "unexpected" : "bad-control", send };
  }

  /** A data datagram with `plaintext` on session `index`, and where it goes; null when there is no such usable session. */
  seal(index: number, plaintext: Uint8Array, now: number): { bytes: Uint8Array; address: string; proven: boolean } | null {
    const entry = this.#table.get(index, now);
    if (entry === undefined || entry.pending) return null;
    const bytes = entry.session.seal(plaintext, now);
    return bytes === null ? null : { bytes, address: entry.meta.address, proven: entry.meta.proven };
  }

  /** Where session `index` is and whether that address is proven; null when there is no such session. */
  describe(index: number, now: number): { address: string; proven: boolean; pending: boolean } | null {
    const entry = this.#table.get(index, now);
    return entry === undefined ? null : { address: entry.meta.address, proven: entry.meta.proven, pending: entry.pending };
  }

  /** Drops expired sessions (call now and then, e.g. every few seconds). */
  sweep(now: number): void {
    this.#table.sweep(now);
  }

  #initiation(init: Initiation, from: string, now: number, underLoad: boolean): ServerReceived {
    const out = this.#responder.handle(init, from, now, () => serverClientHandshake(this.#o.staticKey, this.#o.newKeyPair), underLoad);
    if (out.kind === "drop") return { kind: "drop", reason: out.reason, send: null };
    if (out.kind === "cookie") return { kind: "handshake", what: "cookie", send: out.bytes };
    this.#table.addPending(out.session, { address: from, proven: false, handshakeFrom: from, challenge: null }, now);
    return { kind: "handshake", what: "response", send: out.bytes };
  }

  /** A path challenge to `from` when the session's address is unproven and none went there lately. */
  #challengeIfUnproven(index: number, meta: ClientMeta, from: string, now: number): Uint8Array | null {
    if (meta.proven || meta.address !== from) return null;
    const c = meta.challenge;
    if (c !== null && c.to === from && now - c.at < CHALLENGE_RETRY_MS) return null;
    const data = this.#o.random(CHALLENGE_LEN);
    const bytes = this.seal(index, Uint8Array.of(CONTROL.challenge, ...data), now);
    if (bytes === null) return null;
    meta.challenge = { data, to: from, at: now };
    return bytes.bytes;
  }
}
