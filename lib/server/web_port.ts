/**
 * The web port (`--web HOST:PORT`, docs/PROTOCOL.md "Web transport"): one
 * HTTP or HTTPS listener that serves the web client's files, carries client
 * datagrams, and answers `GET /metrics`.
 *
 * Transports: a WebSocket at `/ws` whose every text message is one client
 * datagram and every message back one reply (a connection is one client
 * address, like a UDP socket); and, for clients without WebSockets,
 * `POST /dc`, body = one client datagram, response = its reply
 * datagram (200, text/plain), or 204 when the server has no answer within
 * 35 s (a lost datagram: resend it). A held long poll is a held response.
 * Each page names itself in the header `X-DistChat-Client` (a random id); a
 * page is then one client address to the client port — `{ host: its IP,
 * port: a number ≥ 65536 }`, which no UDP source can have — so the same
 * codec, handlers, rate limits (per IP), quotas, saved replies and held
 * polls apply as over UDP. Replies come back through `send` and are matched
 * to the waiting response by address and tag.
 *
 * Cross-site use is refused: a request whose `Origin` is not this server's
 * or another web URL of servers.txt gets 403, and the custom header makes a
 * browser ask first (CORS preflight), which only those origins pass.
 *
 * @example
 * ```ts
 * const web = new WebPort({ clientPort, metrics, gauges, origins, servers, clock, log });
 * const at = await web.listen({ host: "127.0.0.1", port: 8080 });
 * // server.ts: send = (bytes, to) => isWebAddress(to) ? web.send(bytes, to) : udp.send(bytes, to)
 * ```
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttps } from "node:https";
import type { Address } from "../net/address.ts";
import { formatAddress } from "../net/address.ts";
import type { Clock } from "./clock.ts";
import type { Gauge, ServerMetrics } from "./metrics.ts";
import type { Duplex } from "node:stream";
import { acceptKey, encodeFrame, FrameReader, OPCODE } from "../net/websocket.ts";
import { MAX_DATAGRAM } from "../wire/messages.ts";
import { Counts } from "./counts.ts";
import { WebFiles } from "./web_files.ts";

/** Synthetic client-port numbers of web pages start here (above every UDP port). */
export const WEB_PORT_BASE = 65536;

/** True for the client address of a web page (its replies go to the web port). */
export function isWebAddress(a: Address): boolean {
  return a.port >= WEB_PORT_BASE;
}

/** How long a response waits for its reply before 204 (longer than the longest poll, 30 s). */
export const REPLY_WAIT_MS = 35_000;
/** Responses waiting at once, per IP address and in all. */
const MAX_WAITING_PER_IP = 256;
const MAX_WAITING = 20_000;
/** Page ids remembered (the oldest is forgotten first: it gets a new address). */
const MAX_PAGES = 100_000;
/** A body without a length past the limit is read (and dropped) up to this, to answer 413; past it the connection is cut. */
const MAX_DRAIN = 1 << 20;
const CLIENT_ID = /^[A-Za-z0-9_-]{16,64}$/;
const TAG_LINE = /^[^\n]*\n([A-Za-z0-9]{1,16})\n/;
const decoder = new TextDecoder();
/** The tag of a datagram (its second line), or "-". */
const tagOf = (bytes: Uint8Array) => TAG_LINE.exec(decoder.decode(bytes.subarray(0, 64)))?.[1] ?? "-";

export type WebPortOptions = {
  /** The client port: datagrams go in here (`proven`: a TCP peer). */
  clientPort: { onDatagram(bytes: Uint8Array, from: Address, proven: boolean): void };
  metrics: ServerMetrics;
  /** Gauges read at each scrape of /metrics. */
  gauges: () => Gauge[];
  /** Web URLs of every server of servers.txt (pages fail over along them), by server id. */
  servers: { id: string; web?: string }[];
  /** Origins allowed besides the listener's own (the servers' web URLs). */
  origins: string[];
  clock: Clock;
  /** Responses waiting and WebSockets open per IP address (default 256; Infinity with `--rate-limit 0`). */
  maxPerIp?: number;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string; key: string };
  log(line: string): void;
};

type Waiting = { res: ServerResponse; cancel: () => void; ip: string };
/** WebSocket connections open at once, per IP address and in all. */
const MAX_SOCKETS_PER_IP = 256;
const MAX_SOCKETS = 20_000;

export class WebPort {
  #o: WebPortOptions;
  #server: Server;
  #pages = new Map<string, number>();
  #nextPort = WEB_PORT_BASE;
  /** "address tag" → responses waiting for that reply. */
  #waiting = new Map<string, Set<Waiting>>();
  #perIp = new Counts<string>();
  #count = 0;
  /** The page's files and the modules it imports (lib/server/web_files.ts). */
  #files = new WebFiles();
  /** Open WebSocket connections by their synthetic port. */
  #sockets = new Map<number, Duplex>();
  #socketsPerIp = new Counts<string>();
  #origin = "";
  /** The Content-Security-Policy of pages: `connect-src` lists the servers' web origins, http and ws. */
  #csp: string;

  constructor(o: WebPortOptions) {
    this.#o = o;
    const connect = ["'self'", ...o.origins.flatMap((origin) => [origin, origin.replace(/^http/, "ws")])].join(" ");
    this.#csp = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connect}; ` +
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    this.#server = o.tls ? createHttps({ cert: o.tls.cert, key: o.tls.key }, handler) : createHttp(handler);
    this.#server.on("clientError", (_e, socket) => socket.destroy());
    this.#server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Uint8Array) => this.#upgrade(req, socket, head));
  }

  /** Binds; resolves with the bound address. */
  listen(at: Address): Promise<Address> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(at.port, at.host, () => {
        this.#server.off("error", reject);
        const a = this.#server.address();
        const port = typeof a === "object" && a ? a.port : at.port;
        this.#origin = `${this.#o.tls ? "https" : "http"}://${at.host.includes(":") ? `[${at.host}]` : at.host}:${port}`;
        resolve({ host: at.host, port });
      });
    });
  }

  /** This listener's own origin (`http://host:port`), once listening. */
  get origin(): string {
    return this.#origin;
  }

  /** WebSocket connections open. */
  get sockets(): number {
    return this.#sockets.size;
  }

  /** Responses waiting for replies. */
  get waiting(): number {
    return this.#count;
  }

  /** A reply of the client port to a web page: answers the responses waiting for its tag. */
  send(bytes: Uint8Array, to: Address): void {
    const socket = this.#sockets.get(to.port);
    if (socket) {
      if (!socket.destroyed) socket.write(encodeFrame(OPCODE.text, bytes));
      return;
    }
    const addr = formatAddress(to);
    const k = `${addr} ${tagOf(bytes)}`;
    const set = this.#waiting.get(k) ?? this.#waiting.get(`${addr} -`);
    if (!set) return; // nobody waits (gone, or timed out): like a lost datagram
    for (const w of [...set]) this.#finish(w, k, 200, bytes);
  }

  /** Stops listening; waiting responses get 503. */
  close(): Promise<void> {
    for (const [k, set] of this.#waiting) for (const w of [...set]) this.#finish(w, k, 503, null);
    for (const s of this.#sockets.values()) s.destroy();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      (this.#server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }

  // --- WebSocket --------------------------------------------------------------

  /** `GET /ws` with an upgrade: checked like a request (origin, limits), then one client address per connection. */
  #upgrade(req: IncomingMessage, socket: Duplex, head: Uint8Array): void {
    const refuse = (status: string) => {
      this.#o.metrics.web("refused");
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    socket.on("error", () => {});
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/ws") return refuse("404 Not Found");
    if (!this.#originAllowed(req)) return refuse("403 Forbidden");
    const key = req.headers["sec-websocket-key"];
    if (String(req.headers.upgrade).toLowerCase() !== "websocket" || typeof key !== "string" || req.headers["sec-websocket-version"] !== "13") {
      return refuse("400 Bad Request");
    }
    const ip = req.socket.remoteAddress ?? "?";
    if (this.#socketsPerIp.get(ip) >= (this.#o.maxPerIp ?? MAX_SOCKETS_PER_IP) || this.#sockets.size >= MAX_SOCKETS) return refuse("429 Too Many Requests");
    // Replies are small and must go at once (no Nagle delay behind an unacknowledged one).
    (socket as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
    const port = this.#nextPort++;
    const from = { host: ip, port };
    this.#sockets.set(port, socket);
    this.#socketsPerIp.add(ip);
    this.#o.metrics.web("ws-open");
    const reader = new FrameReader(MAX_DATAGRAM + 1);
    const onBytes = (chunk: Uint8Array) => {
      for (const f of reader.push(chunk)) {
        if (f.kind === "message") {
          this.#o.metrics.web("ws-datagram");
          this.#o.clientPort.onDatagram(f.data, from, true);
        } else if (f.kind === "control") {
          if (f.opcode === OPCODE.ping) socket.write(encodeFrame(OPCODE.pong, f.data));
          else if (f.opcode === OPCODE.close) {
            socket.end(encodeFrame(OPCODE.close, f.data.subarray(0, 2)));
          }
        } else {
          const code = new Uint8Array([f.code >> 8, f.code & 0xff]);
          socket.end(encodeFrame(OPCODE.close, code));
        }
      }
    };
    let gone = false;
    const forget = () => {
      if (gone) return;
      gone = true;
      this.#sockets.delete(port);
      this.#socketsPerIp.remove(ip);
    };
    socket.on("close", forget);
    socket.on("end", forget);
    socket.on("data", onBytes);
    if (head.length > 0) onBytes(head);
  }

  // --- Requests ---------------------------------------------------------------

  #handle(req: IncomingMessage, res: ServerResponse): void {
    req.socket.setNoDelay?.(true);
    const url = new URL(req.url ?? "/", "http://x");
    // Datagram replies are text/plain and never rendered: nosniff is enough there.
    if (url.pathname === "/dc") res.setHeader("X-Content-Type-Options", "nosniff");
    else this.#headers(res);
    if (!this.#originAllowed(req)) {
      this.#o.metrics.web("refused");
      return this.#plain(res, 403, "cross-site request refused\n");
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
    }
    if (url.pathname === "/dc") {
      if (req.method === "OPTIONS") {
        res.setHeader("Access-Control-Allow-Methods", "POST");
        res.setHeader("Access-Control-Allow-Headers", "X-DistChat-Client, Content-Type");
        res.setHeader("Access-Control-Max-Age", "600");
        res.writeHead(204).end();
        return;
      }
      if (req.method !== "POST") return this.#plain(res, 405, "POST a datagram\n");
      return this.#datagram(req, res);
    }
    if (req.method !== "GET" && req.method !== "HEAD") return this.#plain(res, 405, "GET only\n");
    if (url.pathname === "/metrics") {
      this.#o.metrics.web("metrics");
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(this.#o.metrics.render({ gauges: this.#o.gauges() }));
      return;
    }
    if (url.pathname === "/servers.json") {
      const list = this.#o.servers.filter((s) => s.web).map((s) => ({ id: s.id, web: s.web }));
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ self: this.#origin, servers: list }));
      return;
    }
    const file = this.#files.get(url.pathname);
    if (!file) return this.#plain(res, 404, "not found\n");
    this.#o.metrics.web("page");
    if (req.headers["if-none-match"] === file.etag) return void res.writeHead(304, { ETag: file.etag, "Cache-Control": "no-cache" }).end();
    res.writeHead(200, { "Content-Type": file.type, "Cache-Control": "no-cache", ETag: file.etag });
    res.end(req.method === "HEAD" ? undefined : file.bytes);
  }

  /** One datagram: its reply, 204 after REPLY_WAIT_MS, 413 past the size limit, 429 past the waiting limits. */
  #datagram(req: IncomingMessage, res: ServerResponse): void {
    const id = req.headers["x-distchat-client"];
    if (typeof id !== "string" || !CLIENT_ID.test(id)) {
      this.#o.metrics.web("refused");
      return this.#plain(res, 400, "header X-DistChat-Client: 16 to 64 of A-Z a-z 0-9 _ -\n");
    }
    const ip = req.socket.remoteAddress ?? "?";
    const chunks: Uint8Array[] = [];
    let size = 0;
    let tooBig = false;
    if (Number(req.headers["content-length"] ?? 0) > MAX_DATAGRAM + 1) {
      this.#o.metrics.web("refused");
      res.setHeader("Connection", "close");
      return this.#plain(res, 413, `a datagram is at most ${MAX_DATAGRAM} bytes\n`);
    }
    req.on("data", (c: Uint8Array) => {
      size += c.length;
      if (size > MAX_DATAGRAM + 1) {
        tooBig = true; // read on (and drop) to answer 413, up to a point
        if (size > MAX_DRAIN) req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("error", () => {});
    req.on("end", () => {
      if (tooBig) {
        this.#o.metrics.web("refused");
        return this.#plain(res, 413, `a datagram is at most ${MAX_DATAGRAM} bytes\n`);
      }
      if (this.#perIp.get(ip) >= (this.#o.maxPerIp ?? MAX_WAITING_PER_IP) || this.#count >= MAX_WAITING) {
        this.#o.metrics.web("refused");
        return this.#plain(res, 429, "too many requests waiting\n");
      }
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) (bytes.set(c, at), at += c.length);
      const from = { host: ip, port: this.#pageAddress(`${ip} ${id}`) };
      const k = `${formatAddress(from)} ${tagOf(bytes)}`;
      const w: Waiting = { res, ip, cancel: () => {} };
      w.cancel = this.#o.clock.after(REPLY_WAIT_MS, () => this.#finish(w, k, 204, null));
      res.on("close", () => this.#drop(w, k));
      let set = this.#waiting.get(k);
      if (!set) this.#waiting.set(k, set = new Set());
      set.add(w);
      this.#count++;
      this.#perIp.add(ip);
      this.#o.metrics.web("datagram");
      this.#o.clientPort.onDatagram(bytes, from, true);
    });
  }

  #finish(w: Waiting, k: string, status: number, body: Uint8Array | null): void {
    if (!this.#drop(w, k)) return;
    if (w.res.headersSent || w.res.destroyed) return;
    if (body === null) w.res.writeHead(status).end();
    else w.res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(body);
  }

  /** Forgets a waiting response; false when it was already gone. */
  #drop(w: Waiting, k: string): boolean {
    const set = this.#waiting.get(k);
    if (!set?.delete(w)) return false;
    if (set.size === 0) this.#waiting.delete(k);
    w.cancel();
    this.#count--;
    this.#perIp.remove(w.ip);
    return true;
  }

  /** The synthetic port of a page (its IP and id). */
  #pageAddress(key: string): number {
    let port = this.#pages.get(key);
    if (port !== undefined) return port;
    if (this.#pages.size >= MAX_PAGES) this.#pages.delete(this.#pages.keys().next().value as string);
    port = this.#nextPort++;
    this.#pages.set(key, port);
    return port;
  }

  /**
   * No `Origin` (not a browser's cross-site request), the page's own (the
   * name the browser used for this listener: its Host), or a servers.txt web URL.
   */
  #originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    const own = `${this.#o.tls ? "https" : "http"}://${req.headers.host ?? ""}`;
    return origin === undefined || origin === own || this.#o.origins.includes(origin);
  }

  /** Security headers on every response but datagram replies (docs/OPERATIONS.md "Web"). */
  #headers(res: ServerResponse): void {
    res.setHeader("Content-Security-Policy", this.#csp);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("X-Frame-Options", "DENY");
    res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    if (this.#o.tls) res.setHeader("Strict-Transport-Security", "max-age=31536000");
  }

  #plain(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(text);
  }
}
