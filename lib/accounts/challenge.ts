/**
 * SCRAM challenges that keep no state until they are answered
 * (docs/PROTOCOL.md "Accounts"). The server's part of a challenge's nonce
 * carries the challenge's expiry and the work it asked for, plus a MAC over
 * those, the user name, the client's nonce and the registration the
 * challenge was made against, under a per-process secret: at the proof the
 * server recomputes it instead of looking the challenge up. So a flood of
 * `auth` costs no memory and cannot push out a legit login's challenge
 * (issue 20, row 8: 10,000 stored challenges, the oldest evicted). What is
 * kept is the set of challenges already answered (one proof per challenge),
 * each until it expires.
 *
 * Server nonce: base64url of 30 bytes — expiry (6, ms since the epoch, big
 * endian), work bits (1), a counter (7: no two challenges of a process are
 * alike), HMAC-SHA256 truncated (16) — so 40 characters, unforgeable and
 * unpredictable without the secret; the combined nonce is the client's
 * nonce followed by them.
 *
 * @example
 * ```ts
 * const book = new Challenges({ secret });
 * const s = book.issue({ userName: "bob", clientNonce: "abc…", reg: "a.7", bits: 0 }, now);
 * book.open("abc…" + s, "bob", "a.7", now);  // { clientNonce: "abc…", bits: 0, expires }
 * book.spend("abc…" + s, expires, now);        // true once, then false
 * ```
 */
import { Buffer } from "node:buffer";
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

/** How long a challenge may be answered, ms. */
export const CHALLENGE_MS = 60_000;
/** Length of the server's part of a nonce, characters. */
export const SERVER_NONCE_CHARS = 40;
const HEAD = 14;
const MAC = 16;

/** What a challenge was issued for. */
export type ChallengeFacts = { userName: string; clientNonce: string; reg: string | null; bits: number };

export class Challenges {
  /** Answered challenges dropped before their expiry because the set was full (a proof of one could then be replayed). */
  evicted = 0;
  #key: KeyObject;
  #issued = 0;
  #ttlMs: number;
  #maxAnswered: number;
  /** Combined nonce → expiry, in the order answered. */
  #answered = new Map<string, number>();

  /** `secret`: at least 32 random bytes, this process's own (a restart voids every challenge). */
  constructor(o: { secret: Uint8Array; ttlMs?: number; maxAnswered?: number }) {
    this.#key = createSecretKey(o.secret);
    this.#ttlMs = o.ttlMs ?? CHALLENGE_MS;
    this.#maxAnswered = o.maxAnswered ?? 100_000;
  }

  /** The server's part of the nonce of a new challenge. */
  issue(f: ChallengeFacts, now: number): string {
    const head = new Uint8Array(HEAD);
    const expires = now + this.#ttlMs;
    const view = new DataView(head.buffer);
    view.setUint16(0, Math.floor(expires / 2 ** 32));
    view.setUint32(2, expires % 2 ** 32);
    head[6] = f.bits;
    const n = ++this.#issued;
    view.setUint8(7, Math.floor(n / 2 ** 48) & 255);
    view.setUint16(8, Math.floor(n / 2 ** 32) & 0xffff);
    view.setUint32(10, n % 2 ** 32);
    return Buffer.concat([head, this.#mac(head, f)]).toString("base64url");
  }

  /**
   * The challenge whose combined nonce is `nonce`, if this server issued it
   * for `userName` (byte for byte) and registration `reg` and it has not
   * expired; null otherwise. Does not spend it.
   */
  open(nonce: string, userName: string, reg: string | null, now: number): { clientNonce: string; bits: number; expires: number } | null {
    if (nonce.length <= SERVER_NONCE_CHARS) return null;
    const clientNonce = nonce.slice(0, -SERVER_NONCE_CHARS);
    const raw = Buffer.from(nonce.slice(-SERVER_NONCE_CHARS), "base64url");
    if (raw.length !== HEAD + MAC || raw.toString("base64url") !== nonce.slice(-SERVER_NONCE_CHARS)) return null;
    const head = new Uint8Array(raw.subarray(0, HEAD));
    const facts = { userName, clientNonce, reg, bits: head[6] };
    if (!timingSafeEqual(this.#mac(head, facts), raw.subarray(HEAD))) return null;
    const view = new DataView(head.buffer);
    const expires = view.getUint16(0) * 2 ** 32 + view.getUint32(2);
    if (expires < now) return null;
    return { clientNonce, bits: facts.bits, expires };
  }

  /** Marks the challenge `nonce` answered; false when it was already (a replayed proof). */
  spend(nonce: string, expires: number, now: number): boolean {
    if (this.#answered.has(nonce)) return false;
    // The oldest go first: expired ones always, live ones only while the set is full.
    for (const [k, e] of this.#answered) {
      if (e >= now && this.#answered.size < this.#maxAnswered) break;
      if (e >= now) this.evicted++;
      this.#answered.delete(k);
    }
    this.#answered.set(nonce, expires);
    return true;
  }

  /** How many answered challenges are remembered. */
  get answered(): number {
    return this.#answered.size;
  }

  #mac(head: Uint8Array, f: ChallengeFacts): Uint8Array {
    const h = createHmac("sha256", this.#key).update(`distchat challenge v1\n${f.userName}\n${f.clientNonce}\n${f.reg ?? "-"}\n`).update(head);
    return new Uint8Array(h.digest().subarray(0, MAC));
  }
}
