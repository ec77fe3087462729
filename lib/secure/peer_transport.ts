/**
 * The encrypted transport between servers (docs/PEER_PROTOCOL.md
 * "Encrypted transport"): Noise_KKpsk0 with both static keys pinned in
 * servers.txt and the psk from the cluster key. Either server initiates
 * when it has something to send and no session; both may at once (each
 * then has two sessions; WireGuard's rule: an initiator sends on its new
 * session at once, a responder once the first datagram arrived on it, and
 * the older session keeps receiving until it expires). Pure: sockets,
 * clock and randomness are the caller's.
 *
 * Datagrams to a peer (`toPeer`) go to its servers.txt peer address;
 * cookie replies and resets (`toSource`) to the source address.
 *
 * @example
 * ```ts
 * const t = new PeerTransport({ selfId: "a", staticKey, peers: [{ id: "b", publicKey }], clusterKey, random, newKeyPair: generateKeyPair, now });
 * for (const d of t.seal("b", datagram, now)) send(d, peerAddress("b"));
 * const r = t.receive(bytes, "192.0.2.2:7102", now);  // r.plaintext from r.peer, r.toPeer, r.toSource
 * ```
 */
import { CONTROL, decodeEnvelope, type PeerInitiation, plaintextKind, type Reset } from "./envelope.ts";
import { peerHandshake } from "./handshake.ts";
import { Initiator } from "./initiator.ts";
import { peerPsk } from "./keys.ts";
import { Responder } from "./responder.ts";
import type { TransportDropReason } from "./server_transport.ts";
import { DEFAULT_LIMITS, type SessionLimits, type TransportSession } from "./session.ts";
import { SessionTable } from "./session_table.ts";
import { bytesEqual, type KeyPair, type KeyPairSource } from "./suite.ts";

/** Datagrams held per peer while it has no session, by default. */
export const DEFAULT_PEER_QUEUE = 256;
/** Peer sessions carry far more datagrams, reordered more: a 4,096-bit window (as the plaintext peer protocol's). */
export const DEFAULT_PEER_LIMITS: SessionLimits = { ...DEFAULT_LIMITS, windowBits: 4096 };

/** What a PeerTransport needs. */
export type PeerTransportOptions = {
  selfId: string;
  staticKey: KeyPair;
  /** Every other server of servers.txt with its public key. */
  peers: readonly { id: string; publicKey: Uint8Array }[];
  /** The bytes of the cluster key file, or null. */
  clusterKey: Uint8Array | null;
  random: (n: number) => Uint8Array;
  newKeyPair: KeyPairSource;
  now: number;
  limits?: SessionLimits;
  handshakesPerSecond?: number;
  resetsPerSecond?: number;
  retryMs?: number;
  maxQueue?: number;
};

/** What a received datagram gave. */
export type PeerReceived = {
  /** `grant`: a group key for the peer's multicast (./group.ts), in `plaintext`. */
  kind: "data" | "grant" | "handshake" | "control" | "plaintext" | "drop";
  /** The peer it came from, once authenticated. */
  peer: string | null;
  plaintext: Uint8Array | null;
  /** To the peer's servers.txt address. */
  toPeer: Uint8Array[];
  /** To the datagram's source address. */
  toSource: Uint8Array | null;
  reason: TransportDropReason | "stale-handshake" | null;
  /** A new session to `peer` became the one sent on (what it must hold of ours, a group key, is to be sealed again). */
  fresh?: boolean;
};

type Peer = {
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly initiator: Initiator;
  current: TransportSession | null;
  previous: TransportSession | null;
  /** Reset tokens of the sessions this server initiated, by local index. */
  readonly tokens: Map<number, Uint8Array>;
  queue: Uint8Array[];
};

/** One server's encrypted links to all its peers. */
export class PeerTransport {
  readonly #o: PeerTransportOptions;
  readonly #psk: Uint8Array;
  readonly #table: SessionTable<{ peer: string }>;
  readonly #responder: Responder;
  readonly #peers = new Map<string, Peer>();

  /** Links of server `o.selfId` to `o.peers`. */
  constructor(o: PeerTransportOptions) {
    this.#o = o;
    this.#psk = peerPsk(o.clusterKey);
    this.#table = new SessionTable({ random: o.random, maxLive: 4 * o.peers.length + 64, maxPending: 8 * o.peers.length + 64 });
    this.#responder = new Responder({ ...o, table: this.#table, limits: this.#limits() });
    for (const p of o.peers) this.addPeer(p);
  }

  /** Links to one more server (added to servers.txt while running); a server already known is left as it is. */
  addPeer(p: { id: string; publicKey: Uint8Array }): void {
    if (this.#peers.has(p.id)) return;
    const initiator = new Initiator({
      responderKey: p.publicKey,
      handshake: () => this.#handshake(true, p.publicKey),
      from: this.#o.selfId,
      newIndex: () => this.#table.newIndex(),
      releaseIndex: (i) => this.#table.release(i),
      limits: this.#limits(),
      retryMs: this.#o.retryMs,
    });
    this.#peers.set(p.id, { ...p, initiator, current: null, previous: null, tokens: new Map(), queue: [] });
  }

  /** Handshakes done, cookie replies and resets sent. */
  get counts() {
    return { ...this.#responder.counts };
  }

  /** True when a session to `peer` can carry datagrams now. */
  established(peer: string, now: number): boolean {
    const p = this.#peers.get(peer);
    return p?.current != null && !p.current.expired(now);
  }

  /** What to send to `peer`'s address for `plaintext`: it sealed, and/or an initiation (it then waits, bounded). */
  seal(peer: string, plaintext: Uint8Array, now: number): Uint8Array[] {
    const p = this.#peers.get(peer);
    if (p === undefined) throw new RangeError(`${peer} is not a peer of ${this.#o.selfId}`);
    const out: Uint8Array[] = [];
    const cur = p.current !== null && !p.current.expired(now) ? p.current : null;
    if ((cur === null || cur.needsRekey(now)) && p.initiator.due(now)) out.push(p.initiator.begin(now));
    const sealed = cur?.seal(plaintext, now) ?? null;
    if (sealed !== null) out.push(sealed);
    else {
      p.queue.push(plaintext);
      if (p.queue.length > (this.#o.maxQueue ?? DEFAULT_PEER_QUEUE)) p.queue.shift();
    }
    return out;
  }

  /** Handles one datagram from `from` (the source address). Never throws on input; bad input changes nothing. A data datagram is opened in place: its bytes then hold the plaintext (TransportSession.open). */
  receive(bytes: Uint8Array, from: string, now: number, underLoad = false): PeerReceived {
    const r: PeerReceived = { kind: "drop", peer: null, plaintext: null, toPeer: [], toSource: null, reason: null };
    const e = decodeEnvelope(bytes);
    switch (e.kind) {
      case "plaintext":
        return { ...r, kind: "plaintext" };
      case "peer-initiation":
        return this.#initiation(e, from, now, underLoad);
      case "response":
        for (const p of this.#peers.values()) {
          const done = p.initiator.onResponse(e, now);
          if (done === null) continue;
          p.tokens.set(done.session.localIndex, done.resetToken);
          this.#table.addLive(done.session, { peer: p.id }, now);
          const fresh = this.#promote(p, done.session);
          const waiting = p.queue;
          p.queue = [];
          const toPeer = waiting.map((d) => done.session.seal(d, now)).filter((b) => b !== null);
          if (toPeer.length === 0) toPeer.push(done.session.seal(new Uint8Array(0), now)!);
          return { ...r, kind: "handshake", peer: p.id, toPeer, fresh };
        }
        return { ...r, reason: "stale-handshake" };
      case "cookie":
        for (const p of this.#peers.values()) {
          if (p.initiator.onCookie(e, now)) return { ...r, kind: "handshake", peer: p.id, toPeer: [p.initiator.begin(now)] };
        }
        return { ...r, reason: "stale-handshake" };
      case "reset":
        return this.#reset(e, now, r);
      case "data":
        break;
      case "malformed":
      case "reserved":
        return { ...r, reason: e.kind };
      default:
        return { ...r, reason: "unexpected" };
    }
    const entry = this.#table.get(e.receiver, now);
    if (entry === undefined) return { ...r, reason: "unknown-session", toSource: this.#responder.reset(e, now) };
    const opened = entry.session.open(e, now);
    if (!opened.ok) return { ...r, reason: opened.reason };
    const p = this.#peers.get(entry.meta.peer)!;
    let fresh = false;
    if (entry.pending) {
      this.#table.confirm(e.receiver, now);
      fresh = this.#promote(p, entry.session);
    }
    const kind = plaintextKind(opened.plaintext);
    const ok = { ...r, peer: p.id, fresh, plaintext: opened.plaintext };
    if (kind === "datagram") return { ...ok, kind: "data" };
    if (opened.plaintext[0] === CONTROL.groupKey) return { ...ok, kind: "grant" };
    if (kind === "keepalive") return { ...ok, kind: "control", plaintext: null };
    return { ...ok, plaintext: null, reason: kind === "bad-control" ? "bad-control" : "unexpected" };
  }

  /** Drops expired sessions (call now and then). */
  sweep(now: number): void {
    this.#table.sweep(now);
  }

  #initiation(e: PeerInitiation, from: string, now: number, underLoad: boolean): PeerReceived {
    const r: PeerReceived = { kind: "drop", peer: null, plaintext: null, toPeer: [], toSource: null, reason: null };
    const p = this.#peers.get(e.from);
    const out = this.#responder.handle(e, from, now, () => (p === undefined ? null : this.#handshake(false, p.publicKey)), underLoad);
    if (out.kind === "drop") return { ...r, reason: out.reason };
    if (out.kind === "cookie") return { ...r, kind: "handshake", toSource: out.bytes };
    this.#table.addPending(out.session, { peer: p!.id }, now);
    return { ...r, kind: "handshake", peer: p!.id, toPeer: [out.bytes] };
  }

  #reset(e: Reset, now: number, r: PeerReceived): PeerReceived {
    for (const p of this.#peers.values()) {
      for (const s of [p.current, p.previous]) {
        const token = s === null ? undefined : p.tokens.get(s.localIndex);
        if (s === null || token === undefined || s.remoteIndex !== e.index || !bytesEqual(token, e.token)) continue;
        const wasCurrent = s === p.current;
        this.#forget(s);
        if (wasCurrent) p.current = null;
        else p.previous = null;
        const toPeer = wasCurrent && p.initiator.due(now) ? [p.initiator.begin(now)] : [];
        return { ...r, kind: "control", peer: p.id, toPeer };
      }
    }
    return { ...r, reason: "unknown-session" };
  }

  /** Makes `s` the session `p` is sent on (true if it was not); the one before keeps receiving, the one before that goes. */
  #promote(p: Peer, s: TransportSession): boolean {
    if (p.current === s) return false;
    if (p.previous !== null) this.#forget(p.previous);
    p.previous = p.current;
    p.current = s;
    return true;
  }

  #forget(s: TransportSession): void {
    this.#table.delete(s.localIndex);
    for (const p of this.#peers.values()) p.tokens.delete(s.localIndex);
  }

  #handshake(initiator: boolean, remoteKey: Uint8Array) {
    return peerHandshake({ initiator, staticKey: this.#o.staticKey, remoteKey, psk: this.#psk, ephemeral: this.#o.newKeyPair });
  }

  #limits(): SessionLimits {
    return this.#o.limits ?? DEFAULT_PEER_LIMITS;
  }
}
