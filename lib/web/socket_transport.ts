/**
 * The WebSocket transport of the web listener (`/ws`, docs/PROTOCOL.md
 * "Web transport"): a client channel like a UDP socket (lib/server/
 * channel.ts, named "ws") in which each connection is one client address
 * — `{ host: its IP, port: a number of this transport's }` — every text
 * message one datagram, every reply one message. What a connection may
 * cost is bounded here and in lib/web/connections.ts:
 *
 * - frames: a message of at most 8,193 bytes in at most 64 fragments, empty
 *   ones included (lib/net/websocket.ts; past either: close 1009);
 * - turns: at most FRAMES_PER_TURN frames of a connection are handled in
 *   one turn of the event loop;
 * - pings and pongs: at most PINGS_PER_SECOND of them a second (a burst
 *   of twice that); past it the connection is closed with 1008 (a browser
 *   never pings, and pongs only when pinged, which this server never does);
 * - output: while a connection leaves its output unread (past the socket's
 *   high-water mark) none of its requests are read; every write is checked
 *   against the unread-output bounds, past which it is cut off;
 * - closing: a close frame is answered, the socket ended and destroyed
 *   CLOSE_GRACE_MS later whatever the peer does; a FIN without a close
 *   frame destroys it at once; one silent for wsIdleMs gets close 1001.
 *
 * @example
 * ```ts
 * const ws = new WebSocketTransport({ deliver, connections, clock, count: (k) => metrics.web(k), dropped: (r) => metrics.webDropped(r) });
 * ws.open(socket, head, ip, key, headers); // after the upgrade request passed its checks
 * ws.send(bytes, to);                      // a reply to the connection that is address `to`
 * ```
 */
import type { Socket } from "node:net";
import type { Address } from "../wire/address.ts";
import { acceptKey, encodeFrame, type Frame, FrameReader, OPCODE } from "../net/websocket.ts";
import { MAX_DATAGRAM } from "../wire/messages.ts";
import type { Clock } from "../server/clock.ts";
import type { ClientChannel } from "../server/channel.ts";
import { RateLimiter } from "../server/rate_limit.ts";
import { CLOSE_GRACE_MS, type WebConnections } from "./connections.ts";

/** Control frames but close (pings and pongs together) a connection may send a second (twice that at once). */
export const PINGS_PER_SECOND = 10;

/**
 * Frames of one connection handled in one turn of the event loop; the rest
 * wait for the next turn (reading stops meanwhile), so one flooding
 * connection cannot keep the group commit — and every reply — waiting.
 */
export const FRAMES_PER_TURN = 64;

/** A close frame's payload: the code, big-endian. */
const closeCode = (code: number) => new Uint8Array([code >> 8, code & 0xff]);

/** What the transport needs: where datagrams go, the connections' bounds, time, counters. */
export type WebSocketOptions = {
  /** Where each message goes, as a datagram of this channel (the client port's onDatagram). */
  deliver: (bytes: Uint8Array, from: Address, via: ClientChannel) => void;
  connections: WebConnections;
  clock: Clock;
  /** Counts a connection closed by a limit, by reason (lib/server/metrics.ts `webDropped`). */
  dropped: (reason: string) => void;
  /** Counts a web event ("ws-open", "ws-datagram"; lib/server/metrics.ts `web`). */
  count: (kind: string) => void;
};

/** One connection: its socket, its client address, and the frames read but not yet handled. */
type Link = {
  socket: Socket;
  from: Address;
  reader: FrameReader;
  frames: Frame[];
  /** Index of the next frame to handle. */
  next: number;
  closing: boolean;
  /** Closed by this side for a broken rule: nothing more is read. */
  failed: boolean;
  /** Output waits past the socket's high-water mark (until "drain"). */
  congested: boolean;
  /** Frames wait for the next turn of the event loop. */
  yielding: boolean;
};

/** The open WebSockets by their port number, their frames, pings, closes and writes. */
export class WebSocketTransport implements ClientChannel {
  readonly name = "ws";
  /** A TCP connection proved its address with its handshake. */
  readonly proven = true;
  #o: WebSocketOptions;
  #links = new Map<number, Link>();
  #pings = new RateLimiter(PINGS_PER_SECOND, 2 * PINGS_PER_SECOND);
  #nextPort = 1;

  constructor(o: WebSocketOptions) {
    this.#o = o;
  }

  /** Connections open. */
  get size(): number {
    return this.#links.size;
  }

  /** Forgets ping buckets of connections gone quiet (housekeeping). */
  prune(): void {
    this.#pings.prune(this.#o.clock.monotonic());
  }

  /** A reply to the connection that is client address `to` (nothing when it is gone: like a lost datagram). */
  send(bytes: Uint8Array, to: Address): void {
    const link = this.#links.get(to.port);
    if (link) this.#write(link, encodeFrame(OPCODE.text, bytes));
  }

  /** Destroys every connection. */
  closeAll(): void {
    for (const l of this.#links.values()) l.socket.destroy();
  }

  /**
   * Answers an upgrade request that passed its checks (path, Host, Origin,
   * headers; `key` its Sec-WebSocket-Key) and carries its datagrams from
   * now on as client address `{ host: ip, port: a number of its own }`.
   */
  open(socket: Socket, head: Uint8Array, ip: string, key: string, headers: readonly [string, string][]): void {
    // Replies are small and must go at once (no Nagle delay behind an unacknowledged one).
    socket.setNoDelay?.(true);
    const extra = headers.map(([k, v]) => `${k}: ${v}\r\n`).join("");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n${extra}\r\n`);
    const port = this.#nextPort++;
    const link: Link = {
      socket,
      from: { host: ip, port },
      reader: new FrameReader(MAX_DATAGRAM + 1),
      frames: [],
      next: 0,
      closing: false,
      failed: false,
      congested: false,
      yielding: false,
    };
    this.#links.set(port, link);
    this.#o.count("ws-open");
    this.#o.connections.webSocket(socket, () => this.#close(link, 1001));
    socket.on("close", () => {
      if (this.#links.get(port) === link) this.#links.delete(port);
    });
    socket.on("data", (chunk: Uint8Array) => this.#read(link, chunk));
    if (head.length > 0) this.#read(link, head);
  }

  #read(link: Link, chunk: Uint8Array): void {
    if (link.closing) return;
    this.#o.connections.touched(link.socket);
    const frames = link.reader.push(chunk);
    if (link.next === link.frames.length) (link.frames = frames, link.next = 0);
    else for (const f of frames) link.frames.push(f);
    if (!link.yielding) this.#drain(link);
  }

  /** Handles up to FRAMES_PER_TURN waiting frames; the rest wait for the next turn of the event loop (reading stops meanwhile). */
  #drain(link: Link): void {
    for (let n = 0; n < FRAMES_PER_TURN && link.next < link.frames.length; n++) {
      if (link.closing || link.socket.destroyed) break;
      this.#handle(link, link.frames[link.next++]);
    }
    const more = link.next < link.frames.length && !link.closing && !link.socket.destroyed;
    if (!more) (link.frames = [], link.next = 0);
    if (more && !link.yielding) {
      this.#o.clock.soon(() => {
        link.yielding = false;
        this.#drain(link);
      });
    }
    link.yielding = more;
    this.#readable(link);
  }

  #handle(link: Link, f: Frame): void {
    const { clock, dropped } = this.#o;
    if (f.kind === "message") {
      this.#o.count("ws-datagram");
      this.#o.deliver(f.data, link.from, this);
    } else if (f.kind === "error") {
      dropped("ws-bad-frame");
      this.#close(link, f.code, true);
    } else if (f.opcode === OPCODE.ping || f.opcode === OPCODE.pong) {
      // Unsolicited pongs count too (issue 20 re-run: 20 sockets of pongs, never closed, RSS 134 → 969 MB).
      if (!this.#pings.allow(String(link.from.port), clock.monotonic())) {
        dropped("ws-ping-limit");
        this.#close(link, 1008, true);
      } else if (f.opcode === OPCODE.ping) this.#write(link, encodeFrame(OPCODE.pong, f.data));
    } else if (f.opcode === OPCODE.close) {
      const code = f.data.length >= 2 ? (f.data[0] << 8) | f.data[1] : 1000;
      this.#close(link, code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000);
    }
  }

  /** Sends a close frame and ends the socket, destroyed after the grace; `failed`: this side broke it off (a rule), so nothing more is read. */
  #close(link: Link, code: number, failed = false): void {
    if (link.closing) return;
    link.closing = true;
    link.failed = failed;
    this.#readable(link);
    this.#write(link, encodeFrame(OPCODE.close, closeCode(code)));
    link.socket.end();
    this.#o.connections.closeWithin(link.socket, CLOSE_GRACE_MS);
  }

  /** Writes a frame; while the peer leaves output unread, none of its requests are read (past the bounds, it is cut off). */
  #write(link: Link, frame: Uint8Array): void {
    const { socket } = link;
    if (socket.destroyed || socket.writableEnded) return;
    if (!socket.write(frame) && !link.congested) {
      link.congested = true;
      socket.once("drain", () => {
        link.congested = false;
        this.#readable(link);
      });
      this.#readable(link);
    }
    this.#o.connections.wrote(socket);
  }

  /** Reads from the socket unless something says wait: a broken rule, unread output, frames left for the next turn. */
  #readable(link: Link): void {
    const wait = link.failed || link.congested || link.yielding;
    if (wait && !link.socket.isPaused()) link.socket.pause();
    else if (!wait && link.socket.isPaused()) link.socket.resume();
  }
}
