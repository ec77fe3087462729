/**
 * The initiating side of handshakes towards one responder (a client towards
 * its server, a server towards one peer): new initiations with fresh
 * ephemeral keys and indices, the last few kept pending so that a slow
 * response still completes, the responder's cookie used for mac2 once one
 * came, and when a retry is due. Pure: `now` and randomness come in.
 *
 * @example
 * ```ts
 * const i = new Initiator({ responderKey, handshake: () => clientHandshake(responderKey, generateKeyPair), random });
 * send(i.begin(now));                       // an initiation datagram
 * i.onResponse(response, now);              // { session, resetToken } when it is the answer to a pending one
 * if (i.onCookie(reply)) send(i.begin(now)); // under load: again, now with mac2
 * ```
 */
import { openCookieReply, COOKIE_USE_MS } from "./cookie.ts";
import type { CookieReply, Response } from "./envelope.ts";
import { finish, initiate } from "./handshake.ts";
import type { HandshakeState } from "./noise.ts";
import type { SessionLimits, TransportSession } from "./session.ts";

/** Initiations kept waiting for a response at once. */
export const MAX_PENDING = 3;
/** How long before an unanswered initiation is sent again (a new one), by default. */
export const HANDSHAKE_RETRY_MS = 1000;

/** What an Initiator needs. */
export type InitiatorOptions = {
  /** The responder's static public key (mac1, cookies, and the handshake's pinned key). */
  responderKey: Uint8Array;
  /** A new HandshakeState of our role, for each initiation. */
  handshake: () => HandshakeState;
  /** Our server id, for a server's initiation to a peer; absent for a client. */
  from?: string;
  /** A new local index (unused by any other session or handshake of ours). */
  newIndex: () => number;
  /** Called when an index is no longer used by a pending handshake and no session was made with it. */
  releaseIndex?: (index: number) => void;
  limits?: SessionLimits;
  retryMs?: number;
};

type Pending = { index: number; hs: HandshakeState; mac1: Uint8Array; at: number };

/** Handshakes in flight towards one responder. */
export class Initiator {
  readonly #o: InitiatorOptions;
  #pending: Pending[] = [];
  #cookie: { value: Uint8Array; at: number } | null = null;

  /** An initiator as `o` says. */
  constructor(o: InitiatorOptions) {
    this.#o = o;
  }

  /** True while an initiation waits for its response. */
  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** True when a new initiation should be sent: none pending, or the newest unanswered for the retry time. */
  due(now: number): boolean {
    const last = this.#pending.at(-1);
    return last === undefined || now - last.at >= (this.#o.retryMs ?? HANDSHAKE_RETRY_MS);
  }

  /** A new initiation datagram (the oldest pending one is forgotten beyond MAX_PENDING). */
  begin(now: number): Uint8Array {
    const index = this.#o.newIndex();
    const hs = this.#o.handshake();
    const cookie = this.#cookie !== null && now - this.#cookie.at < COOKIE_USE_MS ? this.#cookie.value : null;
    const { bytes, mac1 } = initiate(hs, index, this.#o.responderKey, cookie, this.#o.from);
    this.#pending.push({ index, hs, mac1, at: now });
    while (this.#pending.length > MAX_PENDING) this.#drop(this.#pending.shift()!);
    return bytes;
  }

  /** Completes the pending handshake `r` answers; null when it answers none or does not authenticate. */
  onResponse(r: Response, now: number): { session: TransportSession; resetToken: Uint8Array } | null {
    const p = this.#pending.find((x) => x.index === r.receiver);
    if (p === undefined) return null;
    // A response that does not authenticate changes nothing: the right one may still come.
    const done = finish(p.hs, r, p.index, now, this.#o.limits);
    if (done === null) return null;
    this.#pending = this.#pending.filter((x) => x !== p);
    for (const x of this.#pending) this.#drop(x);
    this.#pending = [];
    return done;
  }

  /** Keeps the cookie of a reply to one of our pending initiations; false when it is not one. */
  onCookie(c: CookieReply, now: number): boolean {
    const p = this.#pending.find((x) => x.index === c.receiver);
    if (p === undefined) return false;
    const cookie = openCookieReply(c, this.#o.responderKey, p.mac1);
    if (cookie === null) return false;
    this.#cookie = { value: cookie, at: now };
    return true;
  }

  /** Forgets every pending initiation. */
  cancel(): void {
    for (const p of this.#pending) this.#drop(p);
    this.#pending = [];
  }

  #drop(p: Pending): void {
    this.#o.releaseIndex?.(p.index);
  }
}
