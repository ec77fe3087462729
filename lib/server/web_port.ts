/**
 * The web port (`--web HOST:PORT`, docs/PROTOCOL.md "Web transport"): one
 * HTTP or HTTPS listener that serves the web client's files (the page and
 * the modules it imports, types stripped, each with an ETag: a reload gets
 * `304`s; lib/server/web_files.ts), carries client datagrams, and answers
 * `GET /metrics`.
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
 * A request whose `Host` is not one of this listener's names gets 421
 * (lib/server/web_hosts.ts: DNS rebinding). Cross-site use is refused: a
 * request whose `Origin` is not the page's own or another web URL of
 * servers.txt gets 403, and the custom header makes a browser ask first
 * (CORS preflight), which only those origins pass. Every connection is
 * budgeted, timed out and cut off when it does not read
 * (lib/server/web_connections.ts); WebSockets are lib/server/web_sockets.ts.
 * `/metrics` is served only to `--metrics-allow` sources, a scrape a second each.
 *
 * @example
 * ```ts
 * const web = new WebPort({ clientPort, metrics, gauges, origins, hosts, metricsAllow, limits, servers, clock, log });
 * const at = await web.listen({ host: "127.0.0.1", port: 8080 });
 * // server.ts: send = (bytes, to) => isWebAddress(to) ? web.send(bytes, to) : udp.send(bytes, to)
 * ```
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttps } from "node:https";
import type { Socket } from "node:net";
import type { Address } from "../net/address.ts";
import { formatAddress } from "../net/address.ts";
import type { AddressRanges } from "../net/cidr.ts";
import { MAX_DATAGRAM } from "../wire/messages.ts";
import type { Cancel, Clock } from "./clock.ts";
import { Counts } from "./counts.ts";
import type { Gauge, ServerMetrics } from "./metrics.ts";
import { RateLimiter } from "./rate_limit.ts";
import { clientIp, CLOSE_GRACE_MS, WebConnections, type WebLimits } from "./web_connections.ts";
import { pageCsp, rawResponse, securityHeaders, WebFiles } from "./web_files.ts";
import { requestProblem, WebHosts } from "./web_hosts.ts";
import { WebRequestRate } from "./web_request_rate.ts";
import { WebSockets } from "./web_sockets.ts";

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
/** Scrapes of /metrics an address may make a second (five at once). */
export const SCRAPES_PER_SECOND = 1;
const CLIENT_ID = /^[A-Za-z0-9_-]{16,64}$/;
const TAG_LINE = /^[^\n]*\n([A-Za-z0-9]{1,16})\n/;
const decoder = new TextDecoder();
/** The tag of a datagram (its second line), or "-". */
const tagOf = (bytes: Uint8Array) => TAG_LINE.exec(decoder.decode(bytes.subarray(0, 64)))?.[1] ?? "-";

/** What the web port is built from (server.ts wires it). */
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
  /** Host names this listener answers to besides those of `origins`, its listen address and IPs (`--web-host`). */
  hosts: string[];
  /** Sources that may read /metrics (`--metrics-allow`). */
  metricsAllow: AddressRanges;
  /** Connection budgets, timeouts and output bounds (lib/server/web_connections.ts). */
  limits: WebLimits;
  clock: Clock;
  /** HTTP requests per second per IP address (`--web-request-rate`, lib/server/web_request_rate.ts; 0: none). */
  requestRate?: number;
  /** Responses waiting per IP address (default 256; Infinity with `--rate-limit 0`). */
  maxPerIp?: number;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string; key: string };
  log(line: string): void;
};

type Waiting = { res: ServerResponse; cancel: () => void; ip: string };

/** The web listener: routes requests, upgrades and replies (see the file comment). */
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
  #connections: WebConnections;
  #sockets: WebSockets;
  #hosts: WebHosts;
  #scrapes = new RateLimiter(SCRAPES_PER_SECOND, 5 * SCRAPES_PER_SECOND);
  #requests: WebRequestRate;
  #stopPrune: Cancel;
  #origin = "";
  /** The security headers of every response (the page's CSP lists the servers' web origins). */
  #headers: [string, string][];

  constructor(o: WebPortOptions) {
    this.#o = o;
    this.#headers = securityHeaders(pageCsp(o.origins), o.tls !== undefined);
    this.#hosts = this.#hostsFor("");
    this.#requests = new WebRequestRate(o.requestRate);
    const dropped = (reason: string) => o.metrics.webDropped(reason);
    this.#connections = new WebConnections({ limits: o.limits, clock: o.clock, count: dropped });
    this.#sockets = new WebSockets({
      clientPort: o.clientPort,
      connections: this.#connections,
      clock: o.clock,
      count: (kind) => o.metrics.web(kind),
      dropped,
      nextPort: () => this.#nextPort++,
    });
    this.#stopPrune = o.clock.every(60_000, () => {
      this.#sockets.prune();
      this.#scrapes.prune(o.clock.monotonic());
      this.#requests.prune(o.clock.monotonic());
    });
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    this.#server = o.tls ? createHttps({ cert: o.tls.cert, key: o.tls.key }, handler) : createHttp(handler);
    this.#server.on("connection", (socket: Socket) => {
      if (this.#requests.admits(clientIp(socket), o.clock.monotonic())) return this.#connections.accept(socket);
      o.metrics.webDropped("conn-refused-rate");
      socket.destroy();
    });
    this.#server.on("clientError", (_e, socket) => socket.destroy());
    this.#server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Uint8Array) => this.#upgrade(req, socket, head));
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
        this.#hosts = this.#hostsFor(at.host);
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

  /** TCP connections open (WebSockets included). */
  get connections(): number {
    return this.#connections.size;
  }

  /** Responses waiting for replies. */
  get waiting(): number {
    return this.#count;
  }

  /** A reply of the client port to a web page: goes to its WebSocket, or answers the responses waiting for its tag. */
  send(bytes: Uint8Array, to: Address): void {
    if (this.#sockets.send(bytes, to.port)) return;
    const addr = formatAddress(to);
    const k = `${addr} ${tagOf(bytes)}`;
    const set = this.#waiting.get(k) ?? this.#waiting.get(`${addr} -`);
    if (!set) return; // nobody waits (gone, or timed out): like a lost datagram
    for (const w of [...set]) this.#finish(w, k, 200, bytes);
  }

  /** Stops listening; waiting responses get 503. */
  close(): Promise<void> {
    this.#stopPrune();
    for (const [k, set] of this.#waiting) for (const w of [...set]) this.#finish(w, k, 503, null);
    this.#sockets.closeAll();
    this.#connections.close();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      (this.#server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }

  #hostsFor(listen: string): WebHosts {
    return new WebHosts({ listen, names: this.#o.hosts, origins: this.#o.origins, tls: this.#o.tls !== undefined });
  }

  // --- WebSocket --------------------------------------------------------------

  /** `GET /ws` with an upgrade: checked like a request (Host, origin), then one client address per connection. */
  #upgrade(req: IncomingMessage, socket: Socket, head: Uint8Array): void {
    socket.on("error", () => {});
    const refuse = (status: string, text: string) => {
      this.#o.metrics.web("refused");
      socket.end(rawResponse(status, this.#headers, text));
      this.#connections.closeWithin(socket, CLOSE_GRACE_MS);
    };
    if (!this.#requests.allow(clientIp(socket), this.#o.clock.monotonic())) return refuse("429 Too Many Requests", TOO_MANY);
    const bad = requestProblem(req.url, req.rawHeaders);
    if (bad !== null) return refuse("400 Bad Request", bad);
    const url = new URL(req.url ?? "/", "http://x");
    if (!this.#hosts.allows(req.headers.host)) return refuse("421 Misdirected Request", MISDIRECTED);
    if (url.pathname !== "/ws") return refuse("404 Not Found", "not found\n");
    if (!this.#hosts.originAllowed(req.headers.origin, req.headers.host ?? "")) return refuse("403 Forbidden", CROSS_SITE);
    const key = req.headers["sec-websocket-key"];
    if (String(req.headers.upgrade).toLowerCase() !== "websocket" || typeof key !== "string" || req.headers["sec-websocket-version"] !== "13") {
      return refuse("400 Bad Request", "a WebSocket upgrade needs Upgrade: websocket, Sec-WebSocket-Key and Sec-WebSocket-Version: 13\n");
    }
    this.#sockets.open(socket, head, clientIp(socket), key, this.#headers);
  }

  // --- Requests ---------------------------------------------------------------

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as Socket;
    // Every request parsed takes a token, even one pipelined behind a close (the parser goes on through the chunk it read).
    const allowed = this.#requests.allow(clientIp(socket), this.#o.clock.monotonic());
    // A client that has not read what it was sent is cut off before it is sent more.
    if (!this.#connections.requestStarted(socket)) return void res.destroy();
    let done = false;
    const finished = () => {
      if (!done) (done = true, this.#connections.responseDone(socket));
    };
    res.once("finish", finished);
    res.once("close", finished);
    socket.setNoDelay?.(true);
    for (const [k, v] of this.#headers) res.setHeader(k, v);
    if (!allowed) {
      this.#o.metrics.webDropped("http-rate");
      // Nothing more of it is read; gone once the 429 is out, or after the grace.
      socket.pause();
      res.once("finish", () => socket.destroy());
      this.#connections.closeWithin(socket, CLOSE_GRACE_MS);
      res.setHeader("Retry-After", "1");
      res.setHeader("Connection", "close");
      return this.#plain(res, 429, TOO_MANY);
    }
    const bad = requestProblem(req.url, req.rawHeaders);
    if (bad !== null || !this.#hosts.allows(req.headers.host)) {
      this.#o.metrics.web("refused");
      return bad !== null ? this.#plain(res, 400, bad) : this.#plain(res, 421, MISDIRECTED);
    }
    const url = new URL(req.url ?? "/", "http://x");
    if (!this.#hosts.originAllowed(req.headers.origin, req.headers.host ?? "")) {
      this.#o.metrics.web("refused");
      return this.#plain(res, 403, CROSS_SITE);
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
    if (url.pathname === "/metrics") return this.#metrics(req, res);
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

  /** `GET /metrics`: for the sources of --metrics-allow, SCRAPES_PER_SECOND each. */
  #metrics(req: IncomingMessage, res: ServerResponse): void {
    const ip = clientIp(req.socket);
    if (!this.#o.metricsAllow.has(ip)) {
      this.#o.metrics.web("metrics-refused");
      return this.#plain(res, 403, "/metrics is not served to this address (the server's --metrics-allow)\n");
    }
    if (!this.#scrapes.allow(ip, this.#o.clock.monotonic())) {
      this.#o.metrics.web("metrics-limited");
      res.setHeader("Retry-After", "1");
      return this.#plain(res, 429, `at most ${SCRAPES_PER_SECOND} scrape a second\n`);
    }
    this.#o.metrics.web("metrics");
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
    res.end(this.#o.metrics.render({ gauges: this.#o.gauges() }));
  }

  /** One datagram: its reply, 204 after REPLY_WAIT_MS, 413 past the size limit, 429 past the waiting limits. */
  #datagram(req: IncomingMessage, res: ServerResponse): void {
    const id = req.headers["x-distchat-client"];
    if (typeof id !== "string" || !CLIENT_ID.test(id)) {
      this.#o.metrics.web("refused");
      return this.#plain(res, 400, "header X-DistChat-Client: 16 to 64 of A-Z a-z 0-9 _ -\n");
    }
    const ip = clientIp(req.socket);
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
      this.#connections.requestHeld(req.socket as Socket);
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

  #plain(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(text);
  }
}

const MISDIRECTED = "this server does not answer to that Host name (its operator adds names with --web-host)\n";
const CROSS_SITE = "cross-site request refused\n";
const TOO_MANY = "too many requests from this address: wait a second (the server's --web-request-rate)\n";
