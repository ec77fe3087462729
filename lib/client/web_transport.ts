/**
 * The ClientTransport (lib/client/transport.ts) of the web page, or of any
 * runtime with WebSocket and fetch (Node 22+, Deno): per server, a WebSocket
 * to `<web>/ws` carrying one datagram per message; where none can be opened
 * (no WebSocket, or a proxy that refuses the upgrade) `POST <web>/dc`, one
 * datagram per request, the reply in the response (docs/PROTOCOL.md "Web
 * transport"). A server that refuses or drops the connection is reported
 * unreachable, so the connection fails over at once instead of waiting out
 * three timeouts.
 *
 * @example
 * ```ts
 * const conn = await Connection.open({ servers: [{ id: "a", web: "http://127.0.0.1:8001" }], transport: webTransport() });
 * ```
 */
import { toBase64Url } from "../wire/base64.ts";
import { randomBytes } from "./random.ts";
import type { OpenTransport, ServerRef, TransportEvents } from "./transport.ts";

export type WebTransportOptions = {
  /** Try WebSockets (default: when the environment has them). */
  webSocket?: boolean;
  /** This page's id for `POST /dc` (`X-DistChat-Client`); default: 22 random characters. */
  clientId?: string;
  /** How long a WebSocket may take to open before HTTP is tried, ms (default 3000). */
  openTimeoutMs?: number;
};

/** Longer than a server holds an answer (35 s, then 204): a response still missing then is lost. */
const POST_TIMEOUT_MS = 40_000;
const text = new TextDecoder();
const bytes = new TextEncoder();

/** The way to one server: its socket while one is open, else POST. */
class Link {
  #server: ServerRef;
  #events: TransportEvents;
  #o: Required<WebTransportOptions>;
  #ws: WebSocket | null = null;
  #opening = false;
  #queue: string[] = [];
  /** No WebSocket here (it failed to open while HTTP worked): POST from now on. */
  #http: boolean;
  #aborts = new Set<AbortController>();
  #closed = false;

  constructor(server: ServerRef, events: TransportEvents, o: Required<WebTransportOptions>) {
    this.#server = server;
    this.#events = events;
    this.#o = o;
    this.#http = !o.webSocket;
  }

  get via(): string {
    return this.#http ? "http" : "websocket";
  }

  send(datagram: string): void {
    if (this.#closed) return;
    if (this.#http) return void this.#post(datagram);
    if (this.#ws?.readyState === WebSocket.OPEN) return this.#ws.send(datagram);
    this.#queue.push(datagram);
    this.#open();
  }

  #open(): void {
    if (this.#opening) return;
    this.#opening = true;
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${this.#server.web!.replace(/^http/, "ws")}/ws`);
    } catch {
      return this.#noSocket();
    }
    const timer = setTimeout(() => ws.close(), this.#o.openTimeoutMs);
    let opened = false;
    ws.onopen = () => {
      clearTimeout(timer);
      opened = true;
      this.#opening = false;
      if (this.#closed) return ws.close();
      this.#ws = ws;
      for (const d of this.#queue.splice(0)) ws.send(d);
    };
    ws.onmessage = (e) => {
      if (typeof e.data === "string") this.#events.datagram(bytes.encode(e.data), this.#server);
    };
    ws.onclose = () => {
      clearTimeout(timer);
      if (this.#ws === ws) this.#ws = null;
      if (!opened) return this.#noSocket();
      // A socket that was open went away (the server stopped): the next send opens another, or fails over.
      if (!this.#closed) this.#events.unreachable?.(this.#server);
    };
    ws.onerror = () => {}; // onclose follows
  }

  /** No socket could be opened: the queued datagrams go by POST, which tells whether the server is there at all. */
  #noSocket(): void {
    this.#opening = false;
    const queued = this.#queue.splice(0);
    if (queued.length === 0) return;
    for (const d of queued) {
      void this.#post(d).then((reached) => {
        if (reached) this.#http = true; // the server answers HTTP but not WebSockets: stay with HTTP
      });
    }
  }

  /** One POST; true when the server answered at all. */
  async #post(datagram: string): Promise<boolean> {
    const abort = new AbortController();
    this.#aborts.add(abort);
    const timer = setTimeout(() => abort.abort(), POST_TIMEOUT_MS);
    try {
      const res = await fetch(`${this.#server.web}/dc`, {
        method: "POST",
        headers: { "X-DistChat-Client": this.#o.clientId, "Content-Type": "text/plain;charset=utf-8" },
        body: datagram,
        signal: abort.signal,
        cache: "no-store",
      });
      const body = await res.text();
      if (this.#closed) return true;
      if (res.status === 200) this.#events.datagram(bytes.encode(body), this.#server);
      else if (res.status === 204) this.#events.alive?.(this.#server);
      else if (res.status === 503) this.#events.unreachable?.(this.#server); // shutting down
      return true;
    } catch {
      if (!abort.signal.aborted && !this.#closed) this.#events.unreachable?.(this.#server);
      return false;
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(abort);
    }
  }

  close(): void {
    this.#closed = true;
    this.#ws?.close();
    for (const a of this.#aborts) a.abort();
  }
}

/** A web transport: WebSocket per server, POST /dc where there is none. Servers without a web URL are never sent to. */
export function webTransport(options: WebTransportOptions = {}): OpenTransport {
  const o: Required<WebTransportOptions> = {
    webSocket: options.webSocket ?? typeof WebSocket !== "undefined",
    clientId: options.clientId ?? toBase64Url(randomBytes(16)) + "pg",
    openTimeoutMs: options.openTimeoutMs ?? 3000,
  };
  return (servers: readonly ServerRef[], events) => {
    const links = new Map(servers.filter((s) => s.web).map((s) => [s, new Link(s, events, o)]));
    return Promise.resolve({
      send: (datagram, to) => links.get(to)?.send(text.decode(datagram)),
      via: (to) => links.get(to)?.via ?? "none",
      close: () => {
        for (const l of links.values()) l.close();
        return Promise.resolve();
      },
    });
  };
}
