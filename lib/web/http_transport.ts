/**
 * The HTTP transport of the web listener (`POST /dc`, docs/PROTOCOL.md
 * "Web transport"), for clients without WebSockets: body = one client
 * datagram, response = its reply datagram (200, text/plain), or 204 when
 * the server has no answer within REPLY_WAIT_MS (a lost datagram: resend
 * it). A held long poll is a held response. Each page names itself in the
 * header `X-DistChat-Client` (a random id) and is then one client address
 * of this channel (lib/server/channel.ts, named "http") — `{ host: its IP,
 * port: a number of this transport's }` — so the same codec, handlers,
 * rate limits (per IP), quotas, saved replies and held polls apply as over
 * UDP. A reply comes back through `send` with its request's tag, and
 * answers the responses waiting for that tag.
 *
 * @example
 * ```ts
 * const http = new HttpTransport({ deliver, clock, count, maxWaitingPerIp: 256, held: (req) => connections.requestHeld(req.socket) });
 * http.receive(req, res, clientIp(req.socket)); // a POST /dc that passed the listener's checks
 * ```
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Address } from "../wire/address.ts";
import { formatAddress } from "../wire/address.ts";
import { datagramTag } from "../wire/codec.ts";
import { MAX_DATAGRAM } from "../wire/messages.ts";
import type { Clock } from "../server/clock.ts";
import type { ClientChannel } from "../server/channel.ts";
import { Counts } from "../server/counts.ts";

/** How long a response waits for its reply before 204 (longer than the longest poll, 30 s). */
export const REPLY_WAIT_MS = 35_000;
/** Responses waiting at once in all. */
const MAX_WAITING = 20_000;
/** Page ids remembered (the oldest is forgotten first: it gets a new address). */
const MAX_PAGES = 100_000;
/** A body without a length past the limit is read (and dropped) up to this, to answer 413; past it the connection is cut. */
const MAX_DRAIN = 1 << 20;
const CLIENT_ID = /^[A-Za-z0-9_-]{16,64}$/;

type Waiting = { res: ServerResponse; cancel: () => void; ip: string };

export type HttpTransportOptions = {
  /** Where each datagram goes (the client port's onDatagram). */
  deliver: (bytes: Uint8Array, from: Address, via: ClientChannel) => void;
  clock: Clock;
  /** Counts a web event ("datagram", "refused"; lib/server/metrics.ts `web`). */
  count: (kind: string) => void;
  /** Responses waiting per IP address. */
  maxWaitingPerIp: number;
  /** A request was read whole and now waits on the server (lib/web/connections.ts requestHeld). */
  held: (req: IncomingMessage) => void;
};

/** `POST /dc`: the responses waiting for their replies, by address and tag. */
export class HttpTransport implements ClientChannel {
  readonly name = "http";
  /** A TCP connection proved its address with its handshake. */
  readonly proven = true;
  #o: HttpTransportOptions;
  #pages = new Map<string, number>();
  #nextPort = 1;
  /** "address tag" → responses waiting for that reply. */
  #waiting = new Map<string, Set<Waiting>>();
  #perIp = new Counts<string>();
  #count = 0;

  constructor(o: HttpTransportOptions) {
    this.#o = o;
  }

  /** Responses waiting for replies. */
  get waiting(): number {
    return this.#count;
  }

  /** A reply to the request tagged `tag` of page `to`: answers the responses waiting for it (none: like a lost datagram). */
  send(bytes: Uint8Array, to: Address, tag: string): void {
    const addr = formatAddress(to);
    const k = `${addr} ${tag}`;
    const set = this.#waiting.get(k) ?? this.#waiting.get(`${addr} -`);
    if (!set) return;
    for (const w of [...set]) this.#finish(w, k, 200, bytes);
  }

  /** Every waiting response gets 503 (the listener closes). */
  close(): void {
    for (const [k, set] of this.#waiting) for (const w of [...set]) this.#finish(w, k, 503, null);
  }

  /** One datagram from `ip`: its reply, 204 after REPLY_WAIT_MS, 400 without a page id, 413 past the size limit, 429 past the waiting limits. */
  receive(req: IncomingMessage, res: ServerResponse, ip: string): void {
    const id = req.headers["x-distchat-client"];
    if (typeof id !== "string" || !CLIENT_ID.test(id)) {
      this.#o.count("refused");
      return plain(res, 400, "header X-DistChat-Client: 16 to 64 of A-Z a-z 0-9 _ -\n");
    }
    if (Number(req.headers["content-length"] ?? 0) > MAX_DATAGRAM + 1) {
      this.#o.count("refused");
      res.setHeader("Connection", "close");
      return plain(res, 413, `a datagram is at most ${MAX_DATAGRAM} bytes\n`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    req.on("data", (c: Uint8Array) => {
      size += c.length;
      if (size <= MAX_DATAGRAM + 1) chunks.push(c);
      else if (size > MAX_DRAIN) req.destroy(); // read on (and drop) to answer 413, up to a point
    });
    req.on("error", () => {});
    req.on("end", () => {
      if (size > MAX_DATAGRAM + 1) {
        this.#o.count("refused");
        return plain(res, 413, `a datagram is at most ${MAX_DATAGRAM} bytes\n`);
      }
      if (this.#perIp.get(ip) >= this.#o.maxWaitingPerIp || this.#count >= MAX_WAITING) {
        this.#o.count("refused");
        return plain(res, 429, "too many requests waiting\n");
      }
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) (bytes.set(c, at), at += c.length);
      this.#wait(req, res, ip, { host: ip, port: this.#pageAddress(`${ip} ${id}`) }, bytes);
    });
  }

  /** Holds `res` for the reply to `bytes` from `from`, and hands the datagram on. */
  #wait(req: IncomingMessage, res: ServerResponse, ip: string, from: Address, bytes: Uint8Array): void {
    this.#o.held(req);
    const k = `${formatAddress(from)} ${datagramTag(bytes)}`;
    const w: Waiting = { res, ip, cancel: () => {} };
    w.cancel = this.#o.clock.after(REPLY_WAIT_MS, () => this.#finish(w, k, 204, null));
    res.on("close", () => this.#drop(w, k));
    let set = this.#waiting.get(k);
    if (!set) this.#waiting.set(k, set = new Set());
    set.add(w);
    this.#count++;
    this.#perIp.add(ip);
    this.#o.count("datagram");
    this.#o.deliver(bytes, from, this);
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

  /** The port number of a page (its IP and id). */
  #pageAddress(key: string): number {
    let port = this.#pages.get(key);
    if (port !== undefined) return port;
    if (this.#pages.size >= MAX_PAGES) this.#pages.delete(this.#pages.keys().next().value as string);
    port = this.#nextPort++;
    this.#pages.set(key, port);
    return port;
  }
}

/** A plain-text response. */
export function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(text);
}
