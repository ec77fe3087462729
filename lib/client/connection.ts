/**
 * The client's link to the cluster: sends requests with fresh tags, matches
 * replies by tag, retransmits the same datagram (same tag) until answered,
 * and fails over to the next server (wrapping, so the one it left is tried
 * last) when the current one is silent (docs/PROTOCOL.md "Retransmission").
 * Every pending request is then resent, unchanged, to the new server.
 *
 * A server is left only when it answers nothing at all: an `add` may wait
 * seconds for a second disk on a server that is fine, and a held poll waits
 * by design. So an unanswered request alone never moves the client; it sends
 * a probe (a tiny request the session provides), and only a probe that goes
 * unanswered — or a transport that says the server is unreachable — does.
 * The user hears of it once: "server a is not answering; reconnecting…",
 * then "connected to b" (lib/client/wording.ts).
 *
 * With `learnServers`, it asks the server it talks to for the live
 * membership (`servers`, docs/PROTOCOL.md) once connected — after the login,
 * and after each failover — and every `everyMs`, and adopts the list by the
 * rules of lib/client/server_list.ts (lib/client/server_roster.ts keeps the
 * list and the server talked to): new servers are tried on failover;
 * servers no longer listed are dropped, the current one only once it fails.
 *
 * It knows nothing of sessions or rooms (lib/client/session.ts does), nor of
 * sockets: a ClientTransport (lib/client/transport.ts) carries the bytes.
 *
 * @example
 * ```ts
 * const conn = await Connection.open({ servers, transport: udpTransport((on) => bindUdp(at, on)) });
 * const reply = await conn.request((tag) => ({ verb: "login", tag, userName: "bob" })).reply;
 * ```
 */
import { decodeReply, encodeRequest } from "../wire/codec.ts";
import type { Reply, Request, ServerListing } from "../wire/messages.ts";
import { makeTagger } from "./tags.ts";
import type { ClientTransport, OpenTransport, ServerRef } from "./transport.ts";
import { linkWords } from "./wording.ts";
import { ServerRoster } from "./server_roster.ts";

export type Timing = {
  /** First retransmission timeout; doubles on each resend. */
  rtoMs: number;
  /** Largest retransmission timeout (before outage backoff). */
  maxRtoMs: number;
  /** Unanswered sends of a probe (or of a request before there is a probe) after which a silent server is left. */
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

/** The state of the link, for a status line or banner. */
export type LinkStatus = { state: "connecting" | "connected" | "reconnecting"; server: string };

export type ConnectionOptions = {
  /** The servers, in the order to try them (servers.txt order; a page puts its own server first). */
  servers: readonly ServerRef[];
  transport: OpenTransport;
  /** Status lines for the user ("server a is not answering; reconnecting…", "connected to b"). */
  notice?: (text: string) => void;
  /** Every change of the link's state. */
  status?: (s: LinkStatus) => void;
  timing?: Partial<Timing>;
  /**
   * Learn the cluster's live server list (docs/CLIENT.md "Learning the
   * server list"): `root`, the keys of the servers file given at start, by
   * id (the trust root); asked again every `everyMs` (default 30 s).
   */
  learnServers?: { root: ReadonlyMap<string, Uint8Array>; everyMs?: number };
  /** Source of tags; a fresh one per call. */
  nextTag?: () => string;
  now?: () => number;
};

type Pending = {
  tag: string;
  bytes: Uint8Array;
  /** waitMs of a long-poll; 0 for other requests. */
  waitMs: number;
  /** A probe: its silence is what makes the client leave a server. */
  probe: boolean;
  rto: number;
  /** Sends to the current server. */
  sendsHere: number;
  /** When it was first sent to the current server. */
  firstSentHere: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: (r: Reply | null) => void;
  /** Told the reply and the server it came from, before `resolve`. */
  answered?: (r: Reply, from: ServerRef) => void;
  /** Servers that answered it `unavailable` (they take no writes now); once every server has, that answer is the reply. */
  refusedBy?: Set<string>;
};

/** How often a connection that learns the server list asks for it again, ms. */
export const SERVERS_EVERY_MS = 30_000;

/** A request in flight; `reply` resolves with null when cancelled or closed. */
export type Call = { tag: string; reply: Promise<Reply | null> };

export class Connection {
  /** The list failed over along, and the server talked to (the transport reads the list live). */
  #roster: ServerRoster;
  #transport: ClientTransport | undefined;
  #timing: Timing;
  #notice: (text: string) => void;
  #status: (s: LinkStatus) => void;
  #nextTag: () => string;
  #now: () => number;
  #pending = new Map<string, Pending>();
  /** When a datagram last came from the current server (or it became current). */
  #heardAt: number;
  /** The transport said the current server cannot be reached: leave it at the next timeout, no probe needed. */
  #unreachable = false;
  /** Failovers since any server last answered. */
  #silentSwitches = 0;
  #backoff = 1;
  #closed = false;
  #state: LinkStatus["state"] = "connecting";
  /** Builds a cheap request that proves the server is alive (set by the session once logged in). */
  #probe: ((tag: string) => Request) | null = null;
  #probeTag: string | null = null;
  #probeTimer: ReturnType<typeof setInterval> | undefined;
  #learn: ConnectionOptions["learnServers"];
  #askedServers = false;
  #serversTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(o: ConnectionOptions) {
    this.#roster = new ServerRoster(o.servers);
    this.#learn = o.learnServers;
    this.#timing = { ...DEFAULT_TIMING, ...o.timing };
    this.#notice = o.notice ?? (() => {});
    this.#status = o.status ?? (() => {});
    this.#nextTag = o.nextTag ?? makeTagger();
    this.#now = o.now ?? Date.now;
    this.#heardAt = this.#now();
  }

  /** Creates a connection and opens its transport. */
  static async open(o: ConnectionOptions): Promise<Connection> {
    const c = new Connection(o);
    c.#transport = await o.transport(c.#roster.servers, {
      datagram: (bytes, from) => c.#receive(bytes, from),
      alive: (from) => from === c.server && c.#heard(),
      unreachable: (server) => {
        if (server === c.server) c.#unreachable = true;
      },
    });
    c.#status({ state: c.#state, server: c.server.id });
    if (c.#learn) {
      c.#serversTimer = setInterval(() => c.#state === "connected" && c.#askServers(), c.#learn.everyMs ?? SERVERS_EVERY_MS);
      (c.#serversTimer as { unref?: () => void }).unref?.();
    }
    return c;
  }

  /** The servers failed over along, in order. */
  get servers(): readonly ServerRef[] {
    return this.#roster.servers;
  }

  /** Asks the current server for the live membership (`servers`) unless asked already, or it has no pinned key (its list could not be adopted); adopts the answer. */
  #askServers(): void {
    if (!this.#learn || this.#askedServers || this.#closed) return;
    if (!this.#learn.root.has(this.server.id) && this.server.publicKey === undefined) return;
    this.#askedServers = true;
    const call = this.#start((tag) => ({ verb: "servers", tag }), undefined, false, (r, from) => {
      if (r.verb === "ok" && r.kind === "servers") this.#adopt(r.servers, from);
    });
    call.reply.finally(() => (this.#askedServers = false));
  }

  /** Adopts the list `from` sent (lib/client/server_list.ts), or says why not. */
  #adopt(offered: readonly ServerListing[], from: ServerRef): void {
    const r = this.#roster.adopt({ root: this.#learn!.root, from, offered });
    if (!r.ok) return this.#notice(r.problem);
    if (r.added.length + r.dropped.length > 0) this.#notice(linkWords.newList(r.added, r.dropped, this.servers.map((s) => s.id)));
  }

  /** Drops servers `ids` (a page's /servers.json no longer lists them: lib/client/page_servers.ts), the current one once it fails; returns the ids dropped now. */
  dropServers(ids: readonly string[]): string[] {
    return this.#roster.drop(ids);
  }

  /**
   * Sets the probe: while long polls are held and the current server has
   * been silent for `probeAfterMs`, one such request is sent; and one is sent
   * to confirm a silence before any request makes the client leave a server.
   * It is retransmitted and fails over like any other, taking everything along.
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
    if (this.#closed || this.#now() - this.#heardAt < this.#timing.probeAfterMs) return;
    if ([...this.#pending.values()].some((p) => p.waitMs > 0)) this.#sendProbe();
  }

  /** Sends a probe unless one is on its way. */
  #sendProbe(): void {
    if (this.#probe === null || this.#probeTag !== null || this.#closed) return;
    const call = this.#start(this.#probe, undefined, true);
    this.#probeTag = call.tag;
    call.reply.finally(() => {
      if (this.#probeTag === call.tag) this.#probeTag = null;
    });
  }

  /** The server requests go to now. */
  get server(): ServerRef {
    return this.#roster.current;
  }

  /** The link's state now. */
  get status(): LinkStatus {
    return { state: this.#state, server: this.server.id };
  }

  /** How the current server is reached: "udp", "websocket" or "http". */
  get via(): string {
    return this.#transport?.via(this.server) ?? "none";
  }

  /** A fresh tag, for a request to be sent later under it (`request(build, { tag })`). */
  newTag(): string {
    return this.#nextTag();
  }

  /** Requests waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Sends a new request under a fresh tag (or `o.tag`: a request of an
   * earlier run resent as it was, e.g. an `add` kept across a page reload);
   * `build` gets the tag. A request with waitMs > 0 is a long-poll: it is not
   * resent before the server had waitMs (plus grace) to answer.
   */
  request(build: (tag: string) => Request, o: { tag?: string } = {}): Call {
    return this.#start(build, o.tag, false);
  }

  #start(build: (tag: string) => Request, given: string | undefined, probe: boolean, answered?: Pending["answered"]): Call {
    const tag = given ?? this.#nextTag();
    const req = build(tag);
    if (this.#closed || this.#pending.has(tag)) return { tag, reply: Promise.resolve(null) };
    let resolve!: (r: Reply | null) => void;
    const reply = new Promise<Reply | null>((r) => (resolve = r));
    const p: Pending = {
      tag,
      bytes: encodeRequest(req),
      waitMs: req.verb === "request" ? req.waitMs : 0,
      probe,
      rto: this.#initialRto(),
      sendsHere: 0,
      firstSentHere: this.#now(),
      timer: undefined,
      resolve,
      answered,
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
    clearInterval(this.#serversTimer);
    for (const tag of [...this.#pending.keys()]) this.cancel(tag);
    await this.#transport?.close();
  }

  #initialRto(): number {
    return this.#timing.rtoMs * this.#backoff;
  }

  #send(p: Pending): void {
    if (p.sendsHere === 0) p.firstSentHere = this.#now();
    p.sendsHere++;
    this.#transport?.send(p.bytes, this.server);
    clearTimeout(p.timer);
    const wait = p.waitMs > 0 ? p.waitMs + this.#timing.pollGraceMs : p.rto;
    p.timer = setTimeout(() => this.#timeout(p), wait);
  }

  #timeout(p: Pending): void {
    if (this.#closed || this.#pending.get(p.tag) !== p) return;
    const silent = this.#heardAt <= p.firstSentHere;
    if (!silent) p.sendsHere = 0; // heard since its first send here: its silence is counted afresh from the resend below
    if (silent && this.#unreachable) return this.#failover();
    if (silent && (p.waitMs > 0 || p.sendsHere >= this.#timing.failoverSends)) {
      // Only a silent probe (or, before there is one, the request itself) says the server is gone.
      if (p.probe || this.#probe === null) return this.#failover();
      this.#sendProbe();
    }
    if (p.waitMs === 0) p.rto = Math.min(p.rto * 2, this.#timing.maxRtoMs * this.#backoff);
    this.#send(p);
  }

  /** Moves to the next server and resends every pending request there. */
  #failover(): void {
    const from = this.#roster.advance(); // a server no longer listed (retired) is dropped now that it failed
    this.#silentSwitches++;
    this.#heardAt = this.#now();
    this.#unreachable = false;
    const n = this.servers.length;
    if (this.#state !== "reconnecting") {
      this.#notice(linkWords.reconnecting(from.id));
      this.#state = "reconnecting";
    } else if (this.#silentSwitches === n) {
      this.#notice(linkWords.noServer());
    }
    // A whole round without an answer: back off.
    if (this.#silentSwitches % n === 0) this.#backoff = Math.min(this.#backoff * 2, this.#timing.maxBackoff);
    this.#status(this.status);
    this.#resendAll();
  }

  /** Sends every pending request again, from the start, to the server now current. */
  #resendAll(): void {
    for (const p of this.#pending.values()) {
      p.sendsHere = 0;
      p.rto = this.#initialRto();
      this.#send(p);
    }
  }

  /** The server takes no writes now (`unavailable`): on to the next with every pending request (docs/PROTOCOL.md), unless all refused `p` so (false). */
  #moveOn(p: Pending, why: string): boolean {
    (p.refusedBy ??= new Set()).add(this.server.id);
    if (this.servers.every((s) => p.refusedBy!.has(s.id))) return false;
    const from = this.#roster.advance();
    this.#notice(linkWords.movedOn(from.id, why, this.server.id));
    this.#status(this.status);
    this.#resendAll();
    return true;
  }

  /** The current server showed it is alive. */
  #heard(): void {
    this.#heardAt = this.#now();
    this.#unreachable = false;
    this.#silentSwitches = 0;
    this.#backoff = 1;
    if (this.#state === "connected") return;
    if (this.#state === "reconnecting") this.#notice(linkWords.connected(this.server.id));
    this.#state = "connected";
    this.#status(this.status);
    this.#askServers(); // after the login, and after each failover
  }

  #receive(bytes: Uint8Array, from: ServerRef): void {
    if (this.#closed) return;
    const r = decodeReply(bytes);
    if (!r.ok) return; // garbage is dropped; the request will be resent
    if (from === this.server) this.#heard();
    const p = this.#pending.get(r.value.tag);
    if (!p) return; // a late duplicate of an answered request
    if (r.value.verb === "error" && r.value.code === "unavailable" && from === this.server && this.#moveOn(p, r.value.message)) return;
    clearTimeout(p.timer);
    this.#pending.delete(p.tag);
    p.answered?.(r.value, from);
    p.resolve(r.value);
  }
}
