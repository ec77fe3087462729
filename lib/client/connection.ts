/**
 * The client's link to the cluster: sends requests with fresh tags, matches
 * replies by tag, retransmits the same datagram (same tag) until answered,
 * and fails over to the next server of servers.txt (wrapping) when the
 * current one stays silent (docs/PROTOCOL.md "Retransmission"). Every pending
 * request is then resent, unchanged, to the new server.
 *
 * It knows nothing of sessions or rooms (lib/client/session.ts does); it
 * touches sockets only through a Transport (lib/net/udp_node.ts).
 *
 * @example
 * ```ts
 * const conn = await Connection.open({ servers, bind: (on) => bindUdp({ host: "127.0.0.1", port: 0 }, on) });
 * const reply = await conn.request((tag) => ({ verb: "login", tag, userName: "bob" })).reply;
 * ```
 */
import { decodeReply, encodeRequest } from "../wire/codec.ts";
import type { Reply, Request } from "../wire/messages.ts";
import type { ServerEntry } from "../config/servers_file.ts";
import type { Address } from "../wire/address.ts";
import type { OnDatagram, Transport } from "../wire/transport.ts";
import { makeTagger } from "./tags.ts";

export type Timing = {
  /** First retransmission timeout; doubles on each resend. */
  rtoMs: number;
  /** Largest retransmission timeout (before outage backoff). */
  maxRtoMs: number;
  /** Unanswered sends of one request after which a silent server is left. */
  failoverSends: number;
  /** Extra time a held poll may take past its waitMs before it counts as lost. */
  pollGraceMs: number;
  /** Largest factor the timeouts grow by while no server answers at all. */
  maxBackoff: number;
  /**
   * Silence (ms) from the current server after which a probe is sent while
   * long polls are held, so a dead server is noticed in seconds rather than
   * when a poll times out. 0 turns probing off.
   */
  probeAfterMs: number;
};

export const DEFAULT_TIMING: Timing = {
  rtoMs: 400,
  maxRtoMs: 2000,
  failoverSends: 3,
  pollGraceMs: 4000,
  maxBackoff: 8,
  probeAfterMs: 2500,
};

export type ConnectionOptions = {
  servers: readonly ServerEntry[];
  /** Binds the transport that delivers datagrams to the given callback. */
  bind: (onDatagram: OnDatagram) => Promise<Transport>;
  /** Status lines for the user ("server a not answering; switched to b"). */
  notice?: (text: string) => void;
  timing?: Partial<Timing>;
  /** Source of tags; a fresh one per call. */
  nextTag?: () => string;
  now?: () => number;
};

type Pending = {
  tag: string;
  bytes: Uint8Array;
  /** waitMs of a long-poll; 0 for other requests. */
  waitMs: number;
  rto: number;
  /** Sends to the current server. */
  sendsHere: number;
  /** When it was first sent to the current server. */
  firstSentHere: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: (r: Reply | null) => void;
};

/** A request in flight; `reply` resolves with null when cancelled or closed. */
export type Call = { tag: string; reply: Promise<Reply | null> };

const IP_LITERAL = /^(\d+\.\d+\.\d+\.\d+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$/;

function sameAddress(from: Address, server: Address): boolean {
  if (from.port !== server.port) return false;
  // A host name in servers.txt cannot be compared with the sender's address.
  return !IP_LITERAL.test(server.host) || from.host.replace(/^::ffff:/, "") === server.host;
}

export class Connection {
  readonly servers: readonly ServerEntry[];
  #transport: Transport | undefined;
  #timing: Timing;
  #notice: (text: string) => void;
  #nextTag: () => string;
  #now: () => number;
  #pending = new Map<string, Pending>();
  #current = 0;
  /** When a datagram last came from the current server (or it became current). */
  #heardAt: number;
  /** Failovers since any server last answered. */
  #silentSwitches = 0;
  #backoff = 1;
  #closed = false;
  /** Builds a cheap request that proves the server is alive (set by the session). */
  #probe: ((tag: string) => Request) | null = null;
  #probing = false;
  #probeTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(o: ConnectionOptions) {
    if (o.servers.length === 0) throw new RangeError("Connection needs at least one server");
    this.servers = o.servers;
    this.#timing = { ...DEFAULT_TIMING, ...o.timing };
    this.#notice = o.notice ?? (() => {});
    this.#nextTag = o.nextTag ?? makeTagger();
    this.#now = o.now ?? Date.now;
    this.#heardAt = this.#now();
  }

  /** Creates a connection and binds its transport. */
  static async open(o: ConnectionOptions): Promise<Connection> {
    const c = new Connection(o);
    c.#transport = await o.bind((bytes, from) => c.#receive(bytes, from));
    return c;
  }

  /**
   * Sets the probe: while long polls are held and the current server has
   * been silent for `probeAfterMs`, one such request is sent; it is
   * retransmitted and fails over like any other, taking the polls along.
   */
  setProbe(build: ((tag: string) => Request) | null): void {
    this.#probe = build;
    clearInterval(this.#probeTimer);
    this.#probeTimer = undefined;
    const every = this.#timing.probeAfterMs;
    if (build === null || every <= 0 || this.#closed) return;
    this.#probeTimer = setInterval(() => this.#maybeProbe(), Math.max(50, Math.min(250, every / 4)));
    (this.#probeTimer as { unref?: () => void }).unref?.();
  }

  #maybeProbe(): void {
    if (this.#closed || this.#probing || this.#probe === null) return;
    if (this.#now() - this.#heardAt < this.#timing.probeAfterMs) return;
    if (![...this.#pending.values()].some((p) => p.waitMs > 0)) return;
    this.#probing = true;
    this.request(this.#probe).reply.finally(() => (this.#probing = false));
  }

  /** The server requests go to now. */
  get server(): ServerEntry {
    return this.servers[this.#current];
  }

  /** Requests waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Sends a new request under a fresh tag; `build` gets the tag. A request
   * with waitMs > 0 is a long-poll: it is not resent before the server had
   * waitMs (plus grace) to answer.
   */
  request(build: (tag: string) => Request): Call {
    const tag = this.#nextTag();
    const req = build(tag);
    if (this.#closed) return { tag, reply: Promise.resolve(null) };
    let resolve!: (r: Reply | null) => void;
    const reply = new Promise<Reply | null>((r) => (resolve = r));
    const p: Pending = {
      tag,
      bytes: encodeRequest(req),
      waitMs: req.verb === "request" ? req.waitMs : 0,
      rto: this.#initialRto(),
      sendsHere: 0,
      firstSentHere: this.#now(),
      timer: undefined,
      resolve,
    };
    this.#pending.set(tag, p);
    this.#send(p);
    return { tag, reply };
  }

  /** Stops retransmitting a request; its reply resolves with null. */
  cancel(tag: string): void {
    const p = this.#pending.get(tag);
    if (!p) return;
    clearTimeout(p.timer);
    this.#pending.delete(tag);
    p.resolve(null);
  }

  /** Cancels everything and closes the transport. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#probeTimer);
    for (const tag of [...this.#pending.keys()]) this.cancel(tag);
    await this.#transport?.close();
  }

  #initialRto(): number {
    return this.#timing.rtoMs * this.#backoff;
  }

  #send(p: Pending): void {
    if (p.sendsHere === 0) p.firstSentHere = this.#now();
    p.sendsHere++;
    this.#transport?.send(p.bytes, this.server.client);
    clearTimeout(p.timer);
    const wait = p.waitMs > 0 ? p.waitMs + this.#timing.pollGraceMs : p.rto;
    p.timer = setTimeout(() => this.#timeout(p), wait);
  }

  #timeout(p: Pending): void {
    if (this.#closed || this.#pending.get(p.tag) !== p) return;
    const silent = this.#heardAt <= p.firstSentHere;
    if (silent && (p.waitMs > 0 || p.sendsHere >= this.#timing.failoverSends)) {
      this.#failover();
      return;
    }
    if (p.waitMs === 0) p.rto = Math.min(p.rto * 2, this.#timing.maxRtoMs * this.#backoff);
    this.#send(p);
  }

  /** Moves to the next server and resends every pending request there. */
  #failover(): void {
    const from = this.server;
    this.#current = (this.#current + 1) % this.servers.length;
    this.#silentSwitches++;
    this.#heardAt = this.#now();
    const n = this.servers.length;
    if (this.#silentSwitches < n) {
      this.#notice(`server ${from.id} not answering; switched to ${this.server.id}`);
    } else {
      // A whole round without an answer: back off, and say so once per round.
      if (this.#silentSwitches % n === 0) {
        this.#backoff = Math.min(this.#backoff * 2, this.#timing.maxBackoff);
        const which = n === 1 ? `server ${from.id} is not` : "no server is";
        this.#notice(`${which} answering; still trying (round ${this.#silentSwitches / n})`);
      }
    }
    for (const p of this.#pending.values()) {
      p.sendsHere = 0;
      p.rto = this.#initialRto();
      this.#send(p);
    }
  }

  #receive(bytes: Uint8Array, from: Address): void {
    if (this.#closed) return;
    const index = this.servers.findIndex((s) => sameAddress(from, s.client));
    if (index < 0) return; // not from a server of ours
    const r = decodeReply(bytes);
    if (!r.ok) return; // garbage is dropped; the request will be resent
    if (index === this.#current) {
      this.#heardAt = this.#now();
      if (this.#silentSwitches >= this.servers.length) this.#notice(`server ${this.server.id} answering again`);
      this.#silentSwitches = 0;
      this.#backoff = 1;
    }
    const p = this.#pending.get(r.value.tag);
    if (!p) return; // a late duplicate of an answered request
    clearTimeout(p.timer);
    this.#pending.delete(p.tag);
    p.resolve(r.value);
  }
}
