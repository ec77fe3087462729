/**
 * HTTP requests per IP address on the web listener (docs/OPERATIONS.md
 * "Web"): a token bucket per address (as lib/server/rate_limit.ts's, but for
 * debt), one token a request — each of a pipelined batch, WebSocket
 * upgrades and refusals alike. Past it a request gets 429 and its connection
 * is closed, and it still counts: the address goes into debt (at most
 * MAX_DEBT_SECONDS of its rate). A new connection from an address with no
 * token left is closed before a byte of it is read. The UDP limit (`--rate-limit`) counts datagrams, which a
 * `POST /dc` or a WebSocket carries on top of this; this one bounds the HTTP
 * work itself (issue 20 re-run: 20 connections of one address pipelining
 * GETs at ~70 MB/s took a core, a legit page load p50 2.5–3.8 s). Pure:
 * time is passed in.
 *
 * @example
 * ```ts
 * const rate = new WebRequestRate(DEFAULT_WEB_REQUEST_RATE);
 * rate.admits("203.0.113.5", now); // at a connection: false = close it unread
 * rate.allow("203.0.113.5", now);  // at a request: false = 429 and close
 * ```
 */
import { DEFAULT_WEB_REQUEST_RATE } from "../config/limits.ts";

/** Requests one address may make at once: a page's first load is about 85 (its modules), a reload as many 304s; room for a few pages behind one NAT. */
export const WEB_REQUEST_BURST = 600;
/**
 * How far into debt requests past the rate take an address, in seconds of
 * its rate: a connection's read chunk of pipelined requests (64 KiB: up to
 * ~2,000 of them, each parsed whatever is answered) then keeps the address's
 * next connections out for as long as its rate takes to pay for them.
 */
const MAX_DEBT_SECONDS = 10;

/** The per-address request budget of the web listener; `rate` ≤ 0 (with `--rate-limit 0`) lifts it. */
export class WebRequestRate {
  readonly rate: number;
  readonly burst: number;
  #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(rate = DEFAULT_WEB_REQUEST_RATE, burst = Math.max(WEB_REQUEST_BURST, 2 * rate)) {
    this.rate = rate;
    this.burst = burst;
  }

  /** A new connection from `ip`: false while the address has no request left (close it before reading). */
  admits(ip: string, now: number): boolean {
    return this.rate <= 0 || this.#tokens(ip, now) >= 1;
  }

  /** A request from `ip`: takes a token; false when none is left (429, then close) — and it still counts, as debt. */
  allow(ip: string, now: number): boolean {
    if (this.rate <= 0) return true;
    const tokens = this.#tokens(ip, now);
    this.#buckets.set(ip, { tokens: Math.max(tokens - 1, -MAX_DEBT_SECONDS * this.rate), at: now });
    return tokens >= 1;
  }

  /** Forgets addresses whose bucket is full again (housekeeping). */
  prune(now: number): void {
    for (const [ip] of this.#buckets) if (this.#tokens(ip, now) >= this.burst) this.#buckets.delete(ip);
  }

  #tokens(ip: string, now: number): number {
    const b = this.#buckets.get(ip);
    return b ? Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate) : this.burst;
  }
}
