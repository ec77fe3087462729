/**
 * The WebSocket connections of the web listener (`/ws`, docs/PROTOCOL.md
 * "Web transport"): each is one client address of the client port, every
 * text message one datagram, every reply one message. What a connection
 * may cost is bounded here and in lib/server/web_connections.ts:
 *
 * - frames: a message of at most 8,193 bytes in at most 64 fragments, empty
 *   ones included (lib/net/websocket.ts; past either: close 1009);
 * - pings: at most PINGS_PER_SECOND a second (a burst of twice that);
 *   past it the connection is closed with 1008 (a browser never pings);
 * - output: every write is checked against the unread-output bounds;
 * - closing: a close frame is answered, the socket ended and destroyed
 *   CLOSE_GRACE_MS later whatever the peer does; a FIN without a close
 *   frame destroys it at once; one silent for wsIdleMs gets close 1001.
 *
 * @example
 * ```ts
 * const ws = new WebSockets({ clientPort, connections, clock, count: (k) => metrics.web(k), dropped: (r) => metrics.webDropped(r), nextPort });
 * ws.open(socket, head, ip, key, headers); // after the upgrade request passed its checks
 * ws.send(bytes, port);                  // a reply to that connection
 * ```
 */
import type { Socket } from "node:net";
import type { Address } from "../net/address.ts";
import { acceptKey, encodeFrame, FrameReader, OPCODE } from "../net/websocket.ts";
import { MAX_DATAGRAM } from "../wire/messages.ts";
import type { Clock } from "./clock.ts";
import { RateLimiter } from "./rate_limit.ts";
import type { WebConnections } from "./web_connections.ts";

/** Pings a connection may send a second (twice that at once). */
export const PINGS_PER_SECOND = 10;
/** How long a closing connection has to close its side before it is destroyed. */
export const CLOSE_GRACE_MS = 2000;

/** A close frame's payload: the code, big-endian. */
const closeCode = (code: number) => new Uint8Array([code >> 8, code & 0xff]);

export type WebSocketsOptions = {
  clientPort: { onDatagram(bytes: Uint8Array, from: Address, proven: boolean): void };
  connections: WebConnections;
  clock: Clock;
  /** Counts a connection closed by a limit, by reason (lib/server/metrics.ts `webDropped`). */
  dropped: (reason: string) => void;
  /** Counts a web event ("ws-open", "ws-datagram"; lib/server/metrics.ts `web`). */
  count: (kind: string) => void;
  /** A fresh synthetic client-port number (lib/server/web_port.ts). */
  nextPort: () => number;
};

export class WebSockets {
  #o: WebSocketsOptions;
  #sockets = new Map<number, Socket>();
  #pings = new RateLimiter(PINGS_PER_SECOND, 2 * PINGS_PER_SECOND);

  constructor(o: WebSocketsOptions) {
    this.#o = o;
  }

  /** Connections open. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Forgets ping buckets of connections gone quiet (housekeeping). */
  prune(): void {
    this.#pings.prune(this.#o.clock.monotonic());
  }

  /** A reply to the connection of synthetic port `port`; false when there is none. */
  send(bytes: Uint8Array, port: number): boolean {
    const socket = this.#sockets.get(port);
    if (!socket) return false;
    this.#write(socket, encodeFrame(OPCODE.text, bytes));
    return true;
  }

  /** Destroys every connection. */
  closeAll(): void {
    for (const s of this.#sockets.values()) s.destroy();
  }

  /**
   * Answers an upgrade request that passed its checks (path, Host, Origin,
   * headers; `key` its Sec-WebSocket-Key) and carries its datagrams from
   * now on as client address `{ host: ip, port: a new synthetic port }`.
   */
  open(socket: Socket, head: Uint8Array, ip: string, key: string, headers: readonly [string, string][]): void {
    const { connections, clock, count, dropped } = this.#o;
    // Replies are small and must go at once (no Nagle delay behind an unacknowledged one).
    socket.setNoDelay?.(true);
    const extra = headers.map(([k, v]) => `${k}: ${v}\r\n`).join("");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n${extra}\r\n`);
    const port = this.#o.nextPort();
    const from = { host: ip, port };
    const pingKey = String(port);
    this.#sockets.set(port, socket);
    count("ws-open");
    let closing = false;
    const close = (code: number) => {
      if (closing) return;
      closing = true;
      this.#write(socket, encodeFrame(OPCODE.close, closeCode(code)));
      socket.end();
      connections.closeWithin(socket, CLOSE_GRACE_MS);
    };
    connections.webSocket(socket, () => close(1001));
    const reader = new FrameReader(MAX_DATAGRAM + 1);
    const onBytes = (chunk: Uint8Array) => {
      if (closing) return;
      connections.touched(socket);
      for (const f of reader.push(chunk)) {
        if (f.kind === "message") {
          count("ws-datagram");
          this.#o.clientPort.onDatagram(f.data, from, true);
        } else if (f.kind === "control") {
          if (f.opcode === OPCODE.ping) {
            if (this.#pings.allow(pingKey, clock.monotonic())) this.#write(socket, encodeFrame(OPCODE.pong, f.data));
            else {
              dropped("ws-ping-limit");
              return close(1008);
            }
          } else if (f.opcode === OPCODE.close) {
            const code = f.data.length >= 2 ? (f.data[0] << 8) | f.data[1] : 1000;
            return close(code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000);
          }
        } else {
          dropped("ws-bad-frame");
          return close(f.code);
        }
        if (closing || socket.destroyed) return;
      }
    };
    socket.on("close", () => {
      if (this.#sockets.get(port) === socket) this.#sockets.delete(port);
    });
    socket.on("data", onBytes);
    if (head.length > 0) onBytes(head);
  }

  #write(socket: Socket, frame: Uint8Array): void {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(frame);
    this.#o.connections.wrote(socket);
  }
}
