/**
 * No amplifier (docs/PROTOCOL.md "Proven addresses"): to a source address
 * (IP and port) that has not shown it receives this server's replies, the
 * server sends at most three times the bytes it received from it, counted
 * on the wire with 28 bytes of UDP/IPv4 headers per datagram — the limit
 * QUIC sets before address validation (RFC 9000 §8). A forged source
 * address therefore gets at most 3× what the forger sent.
 *
 * An address is *proven* when a request from it carries the token of a
 * session whose login reply this server sent to that same address: only a
 * client that received that reply there can know it. Replies to a proven
 * address are not limited. A client that fails over to another server, or
 * whose address changes, is unproven there until it logs in again; until
 * then its replies are cut to the budget (lists and polls say `more` = 1
 * and give fewer entries; the client asks again, each ask adding credit).
 *
 * Memory is bounded: at most `maxAddresses` ledgers and proven addresses,
 * and `maxSessions` login addresses, the oldest forgotten first (a
 * forgotten ledger starts again from nothing, which only lowers a budget).
 *
 * @example
 * ```ts
 * const b = new AddressBudget();
 * b.received("10.0.0.1:5000", 80);        // a datagram of 80 - 28 bytes came
 * b.room("10.0.0.1:5000");                // 212: the longest reply it may get now
 * b.sent("10.0.0.1:5000", 100);           // false: would exceed it (not sent)
 * ```
 */

/** Bytes of UDP and IPv4 headers around each datagram. */
export const WIRE_OVERHEAD = 28;
/** Bytes sent per byte received, to an unproven address. */
export const AMPLIFICATION = 3;

/** The longest reply payload to a single datagram of `n` bytes from an unproven address: 3× on the wire. */
export function replyBudget(n: number): number {
  return AMPLIFICATION * (n + WIRE_OVERHEAD) - WIRE_OVERHEAD;
}

type Ledger = { in: number; out: number };

export class AddressBudget {
  #ledgers = new Map<string, Ledger>();
  #proven = new Map<string, true>();
  #loginAt = new Map<string, string>();
  #maxAddresses: number;
  #maxSessions: number;

  constructor(o: { maxAddresses?: number; maxSessions?: number } = {}) {
    this.#maxAddresses = o.maxAddresses ?? 200_000;
    this.#maxSessions = o.maxSessions ?? 200_000;
  }

  /** A datagram of `bytes` (payload) came from `addr`. */
  received(addr: string, bytes: number): void {
    if (this.#proven.has(addr)) return;
    const l = this.#ledgers.get(addr);
    if (l) l.in += bytes + WIRE_OVERHEAD;
    else {
      if (this.#ledgers.size >= this.#maxAddresses) this.#ledgers.delete(this.#ledgers.keys().next().value as string);
      this.#ledgers.set(addr, { in: bytes + WIRE_OVERHEAD, out: 0 });
    }
  }

  /** The login reply of `session` goes to `addr`. */
  noteLogin(session: string, addr: string): void {
    if (this.#loginAt.size >= this.#maxSessions) this.#loginAt.delete(this.#loginAt.keys().next().value as string);
    this.#loginAt.set(session, addr);
  }

  /** A request from `addr` carries the token of `session`: proves `addr` when that session's login reply went there. */
  present(session: string, addr: string): void {
    if (this.#loginAt.get(session) === addr) this.prove(addr);
  }

  /** `addr` is proven another way (a TCP connection: its handshake showed it receives). */
  prove(addr: string): void {
    if (this.#proven.has(addr)) return;
    if (this.#proven.size >= this.#maxAddresses) this.#proven.delete(this.#proven.keys().next().value as string);
    this.#proven.set(addr, true);
    this.#ledgers.delete(addr);
  }

  /** The largest reply payload `addr` may get now (Infinity when proven). */
  room(addr: string): number {
    if (this.#proven.has(addr)) return Infinity;
    const l = this.#ledgers.get(addr);
    return l ? AMPLIFICATION * l.in - l.out - WIRE_OVERHEAD : 0;
  }

  /** Counts a reply of `bytes` to `addr`; false (and nothing counted) when it does not fit: do not send it. */
  sent(addr: string, bytes: number): boolean {
    if (this.#proven.has(addr)) return true;
    const l = this.#ledgers.get(addr);
    if (!l || AMPLIFICATION * l.in - l.out < bytes + WIRE_OVERHEAD) return false;
    l.out += bytes + WIRE_OVERHEAD;
    return true;
  }

  /** Forgets proven addresses and login addresses of sessions that ended (housekeeping), via `isLive`. */
  prune(isLive: (session: string) => boolean): void {
    for (const [s] of this.#loginAt) if (!isLive(s)) this.#loginAt.delete(s);
  }
}
