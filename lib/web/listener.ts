/**
 * The web listener (`--web HOST:PORT`, docs/PROTOCOL.md "Web transport"):
 * one HTTP or HTTPS server that routes each request to its part —
 *
 * - the page and the modules it imports (lib/web/files.ts: types stripped,
 *   each with an ETag: a reload gets `304`s), and `/servers.json`;
 * - two client transports, each a channel of the client port like a UDP
 *   socket (lib/server/channel.ts), whose replies come back through the
 *   channel a request came in on: a WebSocket at `/ws`
 *   (lib/web/socket_transport.ts: a connection is one client address) and
 *   `POST /dc` (lib/web/http_transport.ts: a page is one);
 * - `GET /metrics` (lib/web/metrics_page.ts).
 *
 * A request whose `Host` is not one of this listener's names gets 421
 * (lib/web/hosts.ts: DNS rebinding). Cross-site use is refused: a request
 * whose `Origin` is not the page's own or another web URL of servers.txt
 * gets 403, and the custom header of `POST /dc` makes a browser ask first
 * (CORS preflight), which only those origins pass. Every connection is
 * budgeted, timed out and cut off when it does not read
 * (lib/web/connections.ts).
 *
 * @example
 * ```ts
 * const web = await openWebListener({ config, deliver, view, clock, log }); // a NodeTransports.web (lib/server/node.ts)
 * web.origin; // "http://127.0.0.1:8001"
 * await web.close();
 * ```
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttps } from "node:https";
import type { Server as NetServer, Socket } from "node:net";
import { AddressRanges } from "../wire/cidr.ts";
import type { WebConfig } from "../config/node_config.ts";
import type { Clock } from "../server/clock.ts";
import { webGauges } from "../server/metrics.ts";
import type { Deliver, NodeTransports, NodeView } from "../server/node.ts";
import { bindProblem } from "../platform/port_owner.ts";
import { formatAddress } from "../wire/address.ts";
import { clientIp, CLOSE_GRACE_MS, WebConnections } from "./connections.ts";
import { pageCsp, rawResponse, securityHeaders, WebFiles } from "./files.ts";
import { requestProblem, WebHosts } from "./hosts.ts";
import { HttpTransport, plain } from "./http_transport.ts";
import { MetricsPage } from "./metrics_page.ts";
import { WebRequestRate } from "./request_rate.ts";
import { WebSocketTransport } from "./socket_transport.ts";

export type WebListenerOptions = {
  config: WebConfig;
  /** Where datagrams of both transports go: the client port. */
  deliver: Deliver;
  /** The node's counters and gauges (for /metrics). */
  view: NodeView;
  clock: Clock;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string; key: string };
  log(line: string): void;
};

/** A web listener, listening. */
export type WebListener = {
  /** Its own origin (`http://host:port`). */
  readonly origin: string;
  /** Stops listening; responses waiting get 503, connections are closed. */
  close(): Promise<void>;
};

const MISDIRECTED = "this server does not answer to that Host name (its operator adds names with --web-host)\n";
const CROSS_SITE = "cross-site request refused\n";
const TOO_MANY = "too many requests from this address: wait a second (the server's --web-request-rate)\n";

/** Builds the listener and binds it at `config.at`; rejects with the OS error when it cannot. */
export async function openWebListener(o: WebListenerOptions): Promise<WebListener> {
  const { config, clock, view } = o;
  let origins = config.servers.flatMap((s) => s.web ? [s.web] : []);
  let headers = securityHeaders(pageCsp(origins), o.tls !== undefined);
  const dropped = (reason: string) => view.metrics.webDropped(reason);
  const count = (kind: string) => view.metrics.web(kind);
  const connections = new WebConnections({ limits: config.limits, clock, count: dropped });
  const sockets = new WebSocketTransport({ deliver: o.deliver, connections, clock, count, dropped });
  const http = new HttpTransport({ deliver: o.deliver, clock, count, maxWaitingPerIp: config.maxWaitingPerIp, held: (req) => connections.requestHeld(req.socket as Socket) });
  const webView = () => webGauges({ waiting: http.waiting, sockets: sockets.size, connections: connections.size });
  const metrics = new MetricsPage({ allow: new AddressRanges(config.metricsAllow), clock, metrics: view.metrics, gauges: () => [...view.gauges(), ...webView()] });
  const files = new WebFiles();
  const requests = new WebRequestRate(config.requestRate);
  const stopPrune = clock.every(60_000, () => (sockets.prune(), metrics.prune(), requests.prune(clock.monotonic())));
  let hosts = new WebHosts({ listen: "", names: config.hosts, origins, tls: o.tls !== undefined });
  let origin = "", listenHost = "", servers = config.servers;
  /** The servers file was reread (SIGHUP, a membership change): the allowed origins and the page's CSP follow. */
  const follow = () => {
    if (config.servers === servers) return;
    servers = config.servers;
    origins = servers.flatMap((s) => s.web ? [s.web] : []);
    headers = securityHeaders(pageCsp(origins), o.tls !== undefined);
    hosts = new WebHosts({ listen: listenHost, names: config.hosts, origins, tls: o.tls !== undefined });
  };
  const route = (req: IncomingMessage, res: ServerResponse) => {
    follow();
    // Every request parsed takes a token, even one pipelined behind a close (the parser goes on through the chunk it read).
    const allowed = requests.allow(clientIp(req.socket), clock.monotonic());
    if (!connections.requestStarted(req.socket as Socket)) return void res.destroy(); // it has not read what it was sent
    track(req, res, connections);
    for (const [k, v] of headers) res.setHeader(k, v);
    if (!allowed) return tooMany(req, res, connections, dropped);
    const refusal = checkOrigin(req, res, hosts);
    if (refusal !== null) return (count("refused"), refusal());
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/dc") return datagram(req, res, http);
    if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "GET only\n");
    if (path === "/metrics") return metrics.serve(res, clientIp(req.socket));
    if (path === "/servers.json") return json(res, { self: origin, servers: config.servers.filter((s) => s.web).map((s) => ({ id: s.id, web: s.web })) });
    const file = files.get(path);
    if (!file) return plain(res, 404, "not found\n");
    count("page");
    if (req.headers["if-none-match"] === file.etag) return void res.writeHead(304, { ETag: file.etag, "Cache-Control": "no-cache" }).end();
    res.writeHead(200, { "Content-Type": file.type, "Cache-Control": "no-cache", ETag: file.etag });
    res.end(req.method === "HEAD" ? undefined : file.bytes);
  };
  const upgrade = (req: IncomingMessage, socket: Socket, head: Uint8Array) => {
    follow();
    upgradeTo({ req, socket, head, headers, hosts, requests, connections, sockets, clock, count });
  };
  const server: Server = o.tls ? createHttps({ cert: o.tls.cert, key: o.tls.key }, route) : createHttp(route);
  server.on("connection", (socket: Socket) => {
    if (requests.admits(clientIp(socket), clock.monotonic())) return connections.accept(socket);
    dropped("conn-refused-rate"); // an address in debt: closed before anything is read
    socket.destroy();
  });
  server.on("clientError", (_e, socket) => socket.destroy());
  server.on("upgrade", upgrade);
  const close = (): Promise<void> => {
    stopPrune();
    http.close();
    sockets.closeAll();
    connections.close();
    return new Promise((resolve) => {
      server.close(() => resolve());
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  };
  try {
    const port = await listen(server, config.at);
    const host = listenHost = config.at.host;
    origin = `${o.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
    hosts = new WebHosts({ listen: host, names: config.hosts, origins, tls: o.tls !== undefined });
  } catch (e) {
    await close();
    throw e;
  }
  return { origin, close };
}

/** What an upgrade needs of the listener. */
type UpgradeContext = {
  req: IncomingMessage;
  socket: Socket;
  head: Uint8Array;
  headers: [string, string][];
  hosts: WebHosts;
  requests: WebRequestRate;
  connections: WebConnections;
  sockets: WebSocketTransport;
  clock: Clock;
  count: (kind: string) => void;
};

/** `GET /ws` with an upgrade: checked like a request (rate, target, Host, origin), then one client address per connection. */
function upgradeTo(c: UpgradeContext): void {
  const { req, socket, headers, hosts } = c;
  socket.on("error", () => {});
  const refuse = (status: string, text: string) => {
    c.count("refused");
    socket.end(rawResponse(status, headers, text));
    c.connections.closeWithin(socket, CLOSE_GRACE_MS);
  };
  if (!c.requests.allow(clientIp(socket), c.clock.monotonic())) return refuse("429 Too Many Requests", TOO_MANY);
  const bad = requestProblem(req.url, req.rawHeaders);
  if (bad !== null) return refuse("400 Bad Request", bad);
  if (!hosts.allows(req.headers.host)) return refuse("421 Misdirected Request", MISDIRECTED);
  if (new URL(req.url ?? "/", "http://x").pathname !== "/ws") return refuse("404 Not Found", "not found\n");
  if (!hosts.originAllowed(req.headers.origin, req.headers.host ?? "")) return refuse("403 Forbidden", CROSS_SITE);
  const key = req.headers["sec-websocket-key"];
  if (String(req.headers.upgrade).toLowerCase() !== "websocket" || typeof key !== "string" || req.headers["sec-websocket-version"] !== "13") {
    return refuse("400 Bad Request", "a WebSocket upgrade needs Upgrade: websocket, Sec-WebSocket-Key and Sec-WebSocket-Version: 13\n");
  }
  c.sockets.open(socket, c.head, clientIp(socket), key, headers);
}

/** Binds `server` (any node:net server: HTTP, TLS, TCP) at `at`; resolves with the bound port. */
export function listen(server: NetServer, at: { host: string; port: number }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port, at.host, () => {
      server.off("error", reject);
      const a = server.address();
      resolve(typeof a === "object" && a ? a.port : at.port);
    });
  });
}

/** Tells the connection's bounds when the response is done (sent or abandoned). */
function track(req: IncomingMessage, res: ServerResponse, connections: WebConnections): void {
  const socket = req.socket as Socket;
  let done = false;
  const finished = () => {
    if (!done) (done = true, connections.responseDone(socket));
  };
  res.once("finish", finished);
  res.once("close", finished);
  socket.setNoDelay?.(true);
}

/** 429 past the address's request rate: nothing more of the connection is read; gone once the 429 is out, or after the grace. */
function tooMany(req: IncomingMessage, res: ServerResponse, connections: WebConnections, dropped: (reason: string) => void): void {
  const socket = req.socket as Socket;
  dropped("http-rate");
  socket.pause();
  res.once("finish", () => socket.destroy());
  connections.closeWithin(socket, CLOSE_GRACE_MS);
  res.setHeader("Retry-After", "1");
  res.setHeader("Connection", "close");
  plain(res, 429, TOO_MANY);
}

/** The refusal of a malformed target or Host (400), another Host (421) or a foreign Origin (403), or null; an allowed Origin is echoed (CORS). */
function checkOrigin(req: IncomingMessage, res: ServerResponse, hosts: WebHosts): (() => void) | null {
  const bad = requestProblem(req.url, req.rawHeaders);
  if (bad !== null) return () => plain(res, 400, bad);
  if (!hosts.allows(req.headers.host)) return () => plain(res, 421, MISDIRECTED);
  if (!hosts.originAllowed(req.headers.origin, req.headers.host ?? "")) return () => plain(res, 403, CROSS_SITE);
  const origin = req.headers.origin;
  if (origin !== undefined) {
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Vary", "Origin");
  }
  return null;
}

/** `/dc`: a CORS preflight, or a datagram for the HTTP transport. */
function datagram(req: IncomingMessage, res: ServerResponse, http: HttpTransport): void {
  if (req.method === "OPTIONS") {
    res.setHeader("Access-Control-Allow-Methods", "POST");
    res.setHeader("Access-Control-Allow-Headers", "X-DistChat-Client, Content-Type");
    res.setHeader("Access-Control-Max-Age", "600");
    res.writeHead(204).end();
    return;
  }
  if (req.method !== "POST") return plain(res, 405, "POST a datagram\n");
  http.receive(req, res, clientIp(req.socket));
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(JSON.stringify(value));
}

/** The node's `transports.web` for `config` (lib/server/node.ts): opens the listener; a port it cannot bind is told in `flag`'s words. */
export function webTransport(config: WebConfig, o: Omit<WebListenerOptions, "config" | "deliver" | "view">, flag: string): NonNullable<NodeTransports["web"]> {
  return (deliver, view) =>
    openWebListener({ ...o, config, deliver, view }).catch((e) => {
      throw new Error(bindProblem(formatAddress(config.at), config.at.port, e, flag, false));
    });
}
