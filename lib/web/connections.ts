/**
 * Every TCP connection of the web listener, from accept to close: what any
 * server facing the internet bounds before it spends memory on a stranger
 * (docs/OPERATIONS.md "Web", SECURITY.md rows 2–5).
 *
 * - **Budget:** at most `perAddress` connections of one IP address and
 *   `total` in all — plain HTTP, TLS handshakes and WebSockets alike
 *   (lib/web/connection_budget.ts: a full listener still takes an
 *   address that holds fewer than the heaviest one, which loses its oldest).
 *   A connection over budget is closed at once, before a byte is read.
 * - **Timeouts:** a connection that carries no request is closed
 *   `idleMs` after it opened or after its last response (so one that never
 *   sends a request, or sends its head byte by byte, goes too); a request
 *   whose body has not come `idleMs` after its head is closed; a WebSocket
 *   that sends nothing for `wsIdleMs` is closed.
 * - **Backpressure:** a connection whose unread output passes `maxUnread`
 *   bytes is cut off, and so is one that would take the unread output of all
 *   connections past `maxUnreadTotal` — never buffered without end.
 * - **Pipelining:** a connection with MAX_IN_FLIGHT requests unanswered
 *   that sends another is closed.
 * - **Half-closed WebSockets:** a FIN without a close frame destroys the socket.
 *
 * Time comes from the Clock; one sweep a second closes what is due.
 *
 * @example
 * ```ts
 * const conns = new WebConnections({ limits: DEFAULT_WEB_LIMITS, clock, count: (r) => metrics.webDropped(r) });
 * server.on("connection", (s) => conns.accept(s));
 * ```
 */
import type { Socket } from "node:net";
import type { Cancel, Clock } from "../server/clock.ts";
import { ConnectionBudget } from "./connection_budget.ts";
import type { WebLimits } from "../config/limits.ts";

/**
 * Requests of one HTTP connection unanswered at once: browsers never
 * pipeline (a page's held polls take a connection each); a flood of
 * pipelined requests would otherwise be handled back to back, and under
 * Deno keep the group commit (and every reply) waiting.
 */
export const MAX_IN_FLIGHT = 8;

/** How long a closing connection has to close its side before it is destroyed. */
export const CLOSE_GRACE_MS = 2000;

/** Unread output below this (a socket's usual high-water mark and then some) is not counted in the total. */
const CONGESTED = 64 * 1024;

/** An IP address as the budget and the client port count it (`::ffff:1.2.3.4` is 1.2.3.4). */
export function clientIp(socket: { remoteAddress?: string }): string {
  const a = socket.remoteAddress ?? "?";
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

type Conn = {
  key: string;
  ip: string;
  socket: Socket;
  /** When it is closed unless something happens (Infinity: never by this rule). */
  deadline: number;
  /** Requests whose responses are not done. */
  busy: number;
  /** Set once upgraded: what to do at its deadline instead of destroying it. */
  expire?: () => void;
  /** Being closed (a close frame or a refusal was sent): destroyed at its deadline. */
  closing: boolean;
  /** Unread output counted in the total (0 below CONGESTED), and whether a "drain" will clear it. */
  unread: number;
  drainHooked: boolean;
};

/** The key of a connection: its remote address and port (the same for a TLS socket and the TCP socket under it). */
const keyOf = (s: Socket) => `${s.remoteAddress} ${s.remotePort}`;

/** Every TCP connection of the web listener: its budget, deadline, requests in flight and unread output. */
export class WebConnections {
  readonly limits: WebLimits;
  #clock: Clock;
  #count: (kind: string) => void;
  #budget: ConnectionBudget<Conn>;
  #conns = new Map<string, Conn>();
  #unreadTotal = 0;
  #stopSweep: Cancel;

  /** `count(reason)`: counts a connection refused or closed by a limit (lib/server/metrics.ts `webDropped`). */
  constructor(o: { limits: WebLimits; clock: Clock; count: (reason: string) => void }) {
    this.limits = o.limits;
    this.#clock = o.clock;
    this.#count = o.count;
    this.#budget = new ConnectionBudget({ perAddress: o.limits.perAddress, total: o.limits.total });
    this.#stopSweep = o.clock.every(Math.min(1000, Math.max(50, o.limits.idleMs / 4)), () => this.sweep());
  }

  /** Connections open. */
  get size(): number {
    return this.#conns.size;
  }

  /** A new TCP connection (the listener's "connection" event): counted, or closed at once when over budget. */
  accept(socket: Socket): void {
    socket.on("error", () => {});
    const ip = clientIp(socket);
    const a = this.#budget.admit(ip);
    if (!a.admit) {
      this.#count(a.reason === "address" ? "conn-refused-address" : "conn-refused-total");
      socket.destroy();
      return;
    }
    if (a.evict) {
      this.#count("conn-evicted");
      this.#close(a.evict);
    }
    const key = keyOf(socket);
    const stale = this.#conns.get(key);
    if (stale) this.#forget(stale);
    const c: Conn = { key, ip, socket, deadline: this.#clock.monotonic() + this.limits.idleMs, busy: 0, closing: false, unread: 0, drainHooked: false };
    this.#conns.set(key, c);
    this.#budget.add(ip, c);
    socket.once("close", () => this.#forget(c));
  }

  /**
   * A request's head has come: its body must follow within idleMs. False
   * (the socket is closed): it has not read what it was sent, or it has
   * MAX_IN_FLIGHT requests unanswered already (pipelined).
   */
  requestStarted(socket: Socket): boolean {
    const c = this.#conns.get(keyOf(socket));
    if (!c) return !socket.destroyed; // (the parser goes on emitting a read chunk's pipelined requests after a close)
    if (c.closing || !this.wrote(socket)) return false; // (closing: requests pipelined behind a refusal get nothing)
    if (c.busy >= MAX_IN_FLIGHT) {
      this.#count("pipelined");
      this.#close(c);
      return false;
    }
    c.busy++;
    c.deadline = this.#clock.monotonic() + this.limits.idleMs;
    return true;
  }

  /** A request was read whole; its response waits on the server (bounded by the server's own timer). */
  requestHeld(socket: Socket): void {
    const c = this.#conns.get(keyOf(socket));
    if (c && !c.closing) c.deadline = Infinity;
  }

  /** A response is done (sent or abandoned): with none left, the idle time starts. */
  responseDone(socket: Socket): void {
    const c = this.#conns.get(keyOf(socket));
    if (!c || c.expire || c.closing) return;
    c.busy = Math.max(0, c.busy - 1);
    if (c.busy === 0) c.deadline = this.#clock.monotonic() + this.limits.idleMs;
  }

  /**
   * The connection became a WebSocket: from now on it is closed after
   * wsIdleMs without a frame (`expire`, e.g. a close frame and a grace), and
   * at once on a FIN.
   */
  webSocket(socket: Socket, expire: () => void): void {
    socket.on("end", () => socket.destroy());
    const c = this.#conns.get(keyOf(socket));
    if (!c) return;
    c.expire = expire;
    c.deadline = this.#clock.monotonic() + this.limits.wsIdleMs;
  }

  /** A WebSocket sent a frame: its idle time starts again. */
  touched(socket: Socket): void {
    const c = this.#conns.get(keyOf(socket));
    if (c?.expire && !c.closing) c.deadline = this.#clock.monotonic() + this.limits.wsIdleMs;
  }

  /** Closes `socket` within `ms` whatever its peer does (after a close frame or a refusal). */
  closeWithin(socket: Socket, ms: number): void {
    const c = this.#conns.get(keyOf(socket));
    if (c) {
      c.closing = true;
      c.deadline = Math.min(c.deadline, this.#clock.monotonic() + ms);
    } else this.#clock.after(ms, () => socket.destroy());
  }

  /**
   * After a write to `socket`: true, or false when its unread output is past
   * the bound (its own, or all connections' together) — then it is cut off.
   */
  wrote(socket: Socket): boolean {
    if (socket.destroyed) return false;
    const c = this.#conns.get(keyOf(socket));
    const unread = socket.writableLength;
    if (c) {
      const counted = unread >= CONGESTED ? unread : 0;
      if (counted > 0 && !c.drainHooked) {
        c.drainHooked = true;
        socket.once("drain", () => {
          c.drainHooked = false;
          this.#setUnread(c, 0);
        });
      }
      this.#setUnread(c, counted);
    }
    if (unread > this.limits.maxUnread || this.#unreadTotal > this.limits.maxUnreadTotal) {
      this.#count("cut-unread");
      if (c) this.#close(c);
      else socket.destroy();
      return false;
    }
    return true;
  }

  /** Closes every connection past its deadline (runs every second, or sooner for short idle times). */
  sweep(): void {
    const now = this.#clock.monotonic();
    for (const c of this.#conns.values()) {
      if (c.deadline > now) continue;
      if (c.closing) this.#close(c);
      else if (c.expire) {
        const expire = c.expire;
        this.#count("ws-idle");
        this.closeWithin(c.socket, CLOSE_GRACE_MS);
        expire();
      } else {
        this.#count("timeout");
        this.#close(c);
      }
    }
  }

  /** Stops the sweep and closes every connection. */
  close(): void {
    this.#stopSweep();
    for (const c of [...this.#conns.values()]) this.#close(c);
  }

  #setUnread(c: Conn, n: number): void {
    this.#unreadTotal += n - c.unread;
    c.unread = n;
  }

  #close(c: Conn): void {
    this.#forget(c);
    c.socket.destroy();
  }

  #forget(c: Conn): void {
    if (this.#conns.get(c.key) === c) this.#conns.delete(c.key);
    this.#budget.remove(c.ip, c);
    this.#setUnread(c, 0);
  }
}
