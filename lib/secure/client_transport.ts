/**
 * A client's side of the encrypted transport towards one server, whose
 * static key it pins (servers.txt): `seal` turns each protocol datagram
 * into what to send now, `receive` each datagram from the server into a
 * protocol datagram (or nothing) and what to send back. Pure: `now` and
 * randomness come in. A client failing over makes a new ClientTransport for
 * the next server; its token and cursors live above this layer.
 *
 * - No session yet: datagrams wait (at most `maxQueue`, a resent one
 *   once) while an initiation goes out; the response sends them. With
 *   nothing waiting, a keepalive confirms the session at once.
 * - A session older than two minutes (or used for 2^40 datagrams) gets a
 *   new handshake beside it; the old one carries on until the new one is
 *   up, and keeps receiving for as long as it lives (a held poll's answer).
 * - A cookie reply: the initiation goes again at once, with mac2.
 * - A reset carrying the token the server gave with the session: the server
 *   lost it (a restart); a new handshake goes out at once, and the
 *   datagrams sealed on the lost session in the last RESEND_AFTER_RESET_MS
 *   wait for the new one (the server could not open them; re-sent, each is
 *   a retransmission of its tag, docs/PROTOCOL.md). Without this a request
 *   made just before the reset was lost until its client's retry timer.
 * - A path challenge is echoed (the server checks a new address).
 *
 * @example
 * ```ts
 * const c = new ClientTransport({ serverKey, random, newKeyPair: generateKeyPair });
 * for (const d of c.seal(utf8("login\n1\nbob\n"), now)) socket.send(d);  // an initiation, the login waits
 * const r = c.receive(reply, now);   // r.send: the login, sealed; later r.plaintext: the server's reply
 * ```
 */
import { CONTROL, decodeEnvelope, plaintextKind, randomIndex, type Reset } from "./envelope.ts";
import { clientHandshake } from "./handshake.ts";
import { Initiator } from "./initiator.ts";
import type { DataDropReason, SessionLimits, TransportSession } from "./session.ts";
import { bytesEqual, type KeyPairSource } from "./suite.ts";

/** Datagrams a ClientTransport holds while it has no session, by default. */
export const DEFAULT_MAX_QUEUE = 64;

/** Datagrams sealed on a session within this long before its reset are sent again on the next one, ms. */
export const RESEND_AFTER_RESET_MS = 1000;

/** What a ClientTransport needs. */
export type ClientTransportOptions = {
  /** The server's static public key, from servers.txt. */
  serverKey: Uint8Array;
  random: (n: number) => Uint8Array;
  newKeyPair: KeyPairSource;
  limits?: SessionLimits;
  /** An unanswered initiation is replaced after this long, ms (default 1000). */
  retryMs?: number;
  maxQueue?: number;
};

/** What a received datagram gave: maybe a protocol datagram, maybe datagrams to send to the server. */
export type ClientReceived = {
  plaintext: Uint8Array | null;
  send: Uint8Array[];
  /** "established": a new session is up; "reset": the server lost ours; "cookie": the server is under load. */
  event: "established" | "reset" | "cookie" | null;
  drop: DataDropReason | "unknown-session" | "unexpected" | "malformed" | "reserved" | "bad-control" | "stale-handshake" | null;
};

type Slot = { session: TransportSession; resetToken: Uint8Array };

/** The encrypted transport from a client to one server. */
export class ClientTransport {
  readonly #o: ClientTransportOptions;
  readonly #initiator: Initiator;
  readonly #indices = new Set<number>();
  #current: Slot | null = null;
  #previous: Slot | null = null;
  #queue: Uint8Array[] = [];
  /** Datagrams sealed on the current session lately (RESEND_AFTER_RESET_MS, at most maxQueue), oldest first. */
  #sent: { plaintext: Uint8Array; at: number }[] = [];

  /** A transport to the server whose static public key is `o.serverKey`. */
  constructor(o: ClientTransportOptions) {
    this.#o = o;
    this.#initiator = new Initiator({
      responderKey: o.serverKey,
      handshake: () => clientHandshake(o.serverKey, o.newKeyPair),
      newIndex: () => this.#newIndex(),
      releaseIndex: (i) => this.#indices.delete(i),
      limits: o.limits,
      retryMs: o.retryMs,
    });
  }

  /** True when a session can carry datagrams now. */
  established(now: number): boolean {
    return this.#current !== null && !this.#current.session.expired(now);
  }

  /** Datagrams waiting for a session. */
  get queued(): number {
    return this.#queue.length;
  }

  /** What to send for the protocol datagram `plaintext`: it sealed, and/or an initiation (it then waits for the session). */
  seal(plaintext: Uint8Array, now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const cur = this.established(now) ? this.#current!.session : null;
    if ((cur === null || cur.needsRekey(now)) && this.#initiator.due(now)) out.push(this.#initiator.begin(now));
    const kept = plaintext.slice(); // as given: sealing may work in place
    const sealed = cur?.seal(plaintext, now) ?? null;
    if (sealed !== null) {
      out.push(sealed);
      this.#sent.push({ plaintext: kept, at: now });
      if (this.#sent.length > (this.#o.maxQueue ?? DEFAULT_MAX_QUEUE)) this.#sent.shift();
    } else this.#wait(kept);
    return out;
  }

  /** Queues `plaintext` for the next session (a datagram already waiting is not queued twice). */
  #wait(plaintext: Uint8Array): void {
    if (this.#queue.some((q) => bytesEqual(q, plaintext))) return;
    this.#queue.push(plaintext);
    if (this.#queue.length > (this.#o.maxQueue ?? DEFAULT_MAX_QUEUE)) this.#queue.shift();
  }

  /** Starts a new handshake now (e.g. when requests go unanswered); the current session carries on meanwhile. */
  restart(now: number): Uint8Array[] {
    return [this.#initiator.begin(now)];
  }

  /** Handles one datagram from the server. Never throws on input; bad input changes nothing. A data datagram is opened in place: its bytes then hold the plaintext (TransportSession.open). */
  receive(bytes: Uint8Array, now: number): ClientReceived {
    const nothing: ClientReceived = { plaintext: null, send: [], event: null, drop: null };
    const e = decodeEnvelope(bytes);
    switch (e.kind) {
      case "response": {
        const done = this.#initiator.onResponse(e, now);
        if (done === null) return { ...nothing, drop: "stale-handshake" };
        this.#install(done);
        const waiting = this.#queue;
        this.#queue = [];
        const send = waiting.map((p) => done.session.seal(p, now)).filter((b) => b !== null);
        if (send.length === 0) send.push(done.session.seal(new Uint8Array(0), now)!);
        return { ...nothing, send, event: "established" };
      }
      case "cookie":
        if (!this.#initiator.onCookie(e, now)) return { ...nothing, drop: "stale-handshake" };
        return { ...nothing, send: [this.#initiator.begin(now)], event: "cookie" };
      case "reset":
        return this.#reset(e, now);
      case "data": {
        const slot = this.#slotOf(e.receiver);
        if (slot === undefined) return { ...nothing, drop: "unknown-session" };
        const opened = slot.session.open(e, now);
        if (!opened.ok) return { ...nothing, drop: opened.reason };
        const p = opened.plaintext;
        const kind = plaintextKind(p);
        if (kind === "datagram") return { ...nothing, plaintext: p };
        if (kind === "keepalive") return nothing;
        if (kind === "challenge") {
          const echo = slot.session.seal(Uint8Array.of(CONTROL.response, ...p.subarray(1)), now);
          return { ...nothing, send: echo === null ? [] : [echo] };
        }
        return { ...nothing, drop: kind === "response" ? "unexpected" : "bad-control" };
      }
      case "malformed":
      case "reserved":
        return { ...nothing, drop: e.kind };
      default:
        return { ...nothing, drop: "unexpected" };
    }
  }

  #reset(r: Reset, now: number): ClientReceived {
    const nothing: ClientReceived = { plaintext: null, send: [], event: null, drop: null };
    const slot = this.#slots().find((s) => s.session.remoteIndex === r.index && bytesEqual(s.resetToken, r.token));
    if (slot === undefined) return { ...nothing, drop: "unknown-session" };
    this.#indices.delete(slot.session.localIndex);
    if (slot === this.#previous) {
      this.#previous = null;
      return { ...nothing, event: "reset" };
    }
    this.#current = null;
    for (const d of this.#sent) if (now - d.at <= RESEND_AFTER_RESET_MS) this.#wait(d.plaintext);
    this.#sent = [];
    return { ...nothing, send: this.#initiator.due(now) ? [this.#initiator.begin(now)] : [], event: "reset" };
  }

  /** The slot whose local index is `index` (every datagram from the server: no array made). */
  #slotOf(index: number): Slot | undefined {
    const cur = this.#current, prev = this.#previous;
    if (cur !== null && cur.session.localIndex === index) return cur;
    return prev !== null && prev.session.localIndex === index ? prev : undefined;
  }

  #slots(): Slot[] {
    return [this.#current, this.#previous].filter((s) => s !== null);
  }

  #install(slot: Slot): void {
    if (this.#previous !== null) this.#indices.delete(this.#previous.session.localIndex);
    this.#previous = this.#current;
    this.#current = slot;
    this.#sent = [];
  }

  #newIndex(): number {
    for (;;) {
      const i = randomIndex(this.#o.random);
      if (!this.#indices.has(i)) {
        this.#indices.add(i);
        return i;
      }
    }
  }
}
