/**
 * The responding side of handshakes at a server, for both its ports: mac1
 * first (one HMAC), then — when the server is under load — a valid mac2 or
 * a cookie reply (no Diffie-Hellman at all), then the handshake, whose new
 * session gets a fresh index and the reset token of that index. Also the
 * resets a server sends for datagrams to sessions it does not have, at most
 * `resetsPerSecond`.
 *
 * "Under load" means more than `handshakesPerSecond` handshakes in the last
 * second (estimated over two one-second buckets), or whatever the caller
 * says (`underLoad`).
 *
 * @example
 * ```ts
 * const r = new Responder({ staticKey, random, table, now });
 * const out = r.handle(init, "192.0.2.1:5000", now, () => serverClientHandshake(staticKey, generateKeyPair));
 * // out.kind: "response" (send out.bytes, keep out.session), "cookie" (send out.bytes) or "drop"
 * ```
 */
import { type Data, encodeReset, type Initiation, type PeerInitiation } from "./envelope.ts";
import { CookieChecker } from "./cookie.ts";
import { respond } from "./handshake.ts";
import { resetKey, resetToken } from "./keys.ts";
import type { HandshakeState } from "./noise.ts";
import type { SessionLimits, TransportSession } from "./session.ts";
import type { SessionTable } from "./session_table.ts";
import type { KeyPair, SymmetricKey } from "./suite.ts";

/** Handshakes per second above which a server asks for cookies, by default. */
export const DEFAULT_HANDSHAKES_PER_SECOND = 1000;
/** Resets per second a server sends at most, by default. */
export const DEFAULT_RESETS_PER_SECOND = 100;

/** Why an initiation was not answered with a response. */
export type HandshakeDropReason = "bad-mac1" | "bad-handshake" | "unknown-peer";

/** What to do with an initiation. */
export type HandshakeOutcome =
  | { kind: "response"; bytes: Uint8Array; session: TransportSession }
  | { kind: "cookie"; bytes: Uint8Array }
  | { kind: "drop"; reason: HandshakeDropReason };

/** What a Responder needs. */
export type ResponderOptions = {
  staticKey: KeyPair;
  random: (n: number) => Uint8Array;
  /** Where new sessions' indices come from (the caller adds the sessions to it). */
  table: Pick<SessionTable<unknown>, "newIndex" | "release">;
  now: number;
  handshakesPerSecond?: number;
  resetsPerSecond?: number;
  limits?: SessionLimits;
};

/** A server's handshake desk. */
export class Responder {
  readonly #o: ResponderOptions;
  readonly #cookies: CookieChecker;
  readonly #resetKey: SymmetricKey;
  /** Handshakes done in the current second and the one before. */
  #second = -1;
  #thisSecond = 0;
  #lastSecond = 0;
  #resetSecond = -1;
  #resets = 0;
  /** Handshakes done (Diffie-Hellman computed), cookie replies and resets sent. */
  readonly counts = { handshakes: 0, cookies: 0, resets: 0 };

  /** A desk for the server whose static key pair is `o.staticKey`. */
  constructor(o: ResponderOptions) {
    this.#o = o;
    this.#cookies = new CookieChecker(o.staticKey.publicKey, o.random, o.now);
    this.#resetKey = resetKey(o.staticKey);
  }

  /** The estimated handshakes of the last second. */
  rate(now: number): number {
    this.#roll(now);
    return this.#thisSecond + this.#lastSecond * (1 - (now % 1000) / 1000);
  }

  /**
   * Answers an initiation from `address`: `handshake` makes our side's
   * HandshakeState, or returns null when the initiator is not one we talk
   * to (a server id not in servers.txt).
   */
  handle(init: Initiation | PeerInitiation, address: string, now: number, handshake: () => HandshakeState | null, underLoad = false): HandshakeOutcome {
    if (!this.#cookies.mac1Ok(init)) return { kind: "drop", reason: "bad-mac1" };
    const loaded = this.rate(now) >= (this.#o.handshakesPerSecond ?? DEFAULT_HANDSHAKES_PER_SECOND) || underLoad;
    if (loaded && !this.#cookies.mac2Ok(init, address, now)) {
      this.counts.cookies++;
      return { kind: "cookie", bytes: this.#cookies.reply(init, address, now) };
    }
    const hs = handshake();
    if (hs === null) return { kind: "drop", reason: "unknown-peer" };
    this.#thisSecond++;
    this.counts.handshakes++;
    const index = this.#o.table.newIndex();
    const r = respond(init, hs, index, resetToken(this.#resetKey, index), now, this.#o.limits);
    if (r === null) {
      this.#o.table.release(index);
      return { kind: "drop", reason: "bad-handshake" };
    }
    return { kind: "response", ...r };
  }

  /** A reset for a data datagram to a session this server does not have, or null past the reset budget. */
  reset(d: Data, now: number): Uint8Array | null {
    const second = Math.floor(now / 1000);
    if (second !== this.#resetSecond) {
      this.#resetSecond = second;
      this.#resets = 0;
    }
    if (this.#resets >= (this.#o.resetsPerSecond ?? DEFAULT_RESETS_PER_SECOND)) return null;
    this.#resets++;
    this.counts.resets++;
    return encodeReset({ index: d.receiver, token: resetToken(this.#resetKey, d.receiver) });
  }

  #roll(now: number): void {
    const second = Math.floor(now / 1000);
    if (second === this.#second) return;
    this.#lastSecond = second === this.#second + 1 ? this.#thisSecond : 0;
    this.#thisSecond = 0;
    this.#second = second;
  }
}
