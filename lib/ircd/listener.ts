/**
 * The IRC listener (`--irc HOST:PORT`, `--irc-tls HOST:PORT`; docs/IRC.md):
 * a TCP (or TLS) port beside the client, peer and web ports, in the server's
 * own process. Each connection is an `IrcConnection` (lib/irc/connection.ts)
 * whose DistChat requests go, as datagrams, straight to the client port
 * (`deliver`, no socket in between), as client address `{ host: its IP,
 * port: a number of this listener's }` of the channel "irc"
 * (lib/server/channel.ts) — so an IRC user meets exactly the handlers,
 * rate limits, quotas (per source IP, shared with every other transport),
 * saved replies and held polls of a terminal or web client. Its channels are
 * fed by one held long poll per room for all its connections (lib/ircd/feeds.ts):
 * a commit that brings a room a message wakes it, as it wakes any client's.
 *
 * What a connection may cost is bounded by lib/web/connections.ts, the web
 * listener's bounds, with a budget of their own: connections per IP address
 * and in all (lib/web/connection_budget.ts), a registration timeout, an
 * idle backstop past IRC's own PING timeout, and unread output (reading
 * stops while the client leaves output unread; past the bounds it is cut
 * off). Lines, floods and queued commands are bounded by the core.
 *
 * Direct messages are pushed: a commit that touches a conversation
 * ("@PART@PART") makes this listener's connections of either party look
 * for new conversations at once (`checkDms`), wherever the message was
 * written; the core's own `dms` poll is only a slow backstop.
 *
 * @example
 * ```ts
 * const irc = await openIrcListener({ config, deliver, hooks, clock, random, log }); // lib/ircd/open.ts, NodeTransports.irc
 * irc.origin; // "irc://127.0.0.1:6667"
 * await irc.close();
 * ```
 */
import type { Socket } from "node:net";
import type { Address } from "../wire/address.ts";
import { decodeReply, encodeRequest } from "../wire/codec.ts";
import type { PresenceNote } from "../wire/messages.ts";
import { nameKey } from "../wire/names.ts";
import { proofWork } from "./proof_work.ts";
import type { IrcListenConfig } from "../config/node_config.ts";
import type { Clock } from "../server/clock.ts";
import type { ClientChannel } from "../server/channel.ts";
import type { Deliver, IrcHooks } from "../server/node.ts";
import { clientIp, CLOSE_GRACE_MS, WebConnections } from "../web/connections.ts";
import { type IrcConfig, IrcConnection, type IrcStep } from "../irc/connection.ts";
import { ListenerUsers } from "./listener_users.ts";
import { RoomFeeds } from "./feeds.ts";
import { MonitorWatch } from "./monitors.ts";
import { OperChecks } from "./operators.ts";

/** How often every connection's timers run (timeouts, PING, retried polls, overdue echoes). */
export const TICK_MS = 500;
/** The core's own `dms` poll: a backstop only, since commits push (see the file comment). */
const DMS_BACKSTOP_MS = 30_000;
/** Away users remembered (as many as a server's presence board holds states). */
const MAX_AWAY = 20_000;
/** Monitored nicks looked up again per tick, in turn (logins and logouts elsewhere, expired sessions). */
const MONITOR_CHECKS = 1000;
/** How long a channel's long poll is held (docs/PROTOCOL.md: at most 30 s). */
const POLL_WAIT_MS = 25_000;

export type IrcListenerOptions = {
  config: IrcListenConfig;
  /** Where requests go: the client port (lib/server/node.ts Deliver). */
  deliver: Deliver;
  /** The rooms of each commit (pushes direct messages) and read positions (replay after failover). */
  hooks: IrcHooks;
  clock: Clock;
  random: (n: number) => Uint8Array;
  /** PEM certificate and key, for `config.tlsAt`. */
  tls?: { cert: string; key: string };
  /** The message of the day, a line each. */
  motd?: string[];
  log(line: string): void;
};

/** An IRC listener, listening. */
export type IrcListener = {
  /** Where it listens: "irc://host:port" and/or "ircs://host:port", joined by a space. */
  readonly origin: string;
  /** Stops listening and closes every connection (their sessions log out). */
  close(): Promise<void>;
};

/** One connection: its socket, its core, its client address. */
type Link = {
  socket: Socket;
  conn: IrcConnection;
  from: Address;
  closed: boolean;
  congested: boolean;
  registered: boolean;
  /** The away message last seen on this connection (told to its monitors here when it is in no channel). */
  away: string | null;
  /** The nicks it monitors, as last handed to the listener's watch (a new list is a new map). */
  monitor: ReadonlyMap<string, string>;
  /** The tag of the logout a QUIT sent: the socket is closed once it is answered (so a reconnection comes after it). */
  endOn?: string;
};

/**
 * The listener's connections as one client channel "irc" of the client port:
 * each is a client address whose requests go to `deliver` and whose replies
 * come back through `send`.
 */
export class IrcTransport implements ClientChannel {
  readonly name = "irc";
  /** A TCP connection proved its address with its handshake. */
  readonly proven = true;
  #o: IrcListenerOptions;
  #core: IrcConfig;
  #links = new Map<number, Link>();
  /** Registered connections by nick key (WHO, WHOIS: IrcConfig.localUser). */
  #byNick = new Map<string, Link>();
  #connections: WebConnections;
  /** One shared stream per room followed here. */
  #feeds: RoomFeeds<Link>;
  /** The nicks the connections MONITOR. */
  #monitors: MonitorWatch<Link>;
  #nextPort = 1;
  /** Users known to be away (from presence notes), by key → until when. */
  #away = new Map<string, number>();
  /** OPER's password checks, bounded per address. */
  #operChecks: OperChecks;
  /** What one connection does to others of this listener (KILL, WALLOPS, SETNAME) and who left (WHOWAS). */
  #users: ListenerUsers<Link>;
  /** Most users registered at once. */
  #max = 0;
  #stopTick: () => void;
  /** Closed: nothing more goes to the client port (the node is closing). */
  #closed = false;

  constructor(o: IrcListenerOptions) {
    const { config, clock } = o;
    this.#o = o;
    this.#connections = new WebConnections({ limits: config.limits, clock, count: () => {} });
    this.#operChecks = new OperChecks(config.opers ?? new Map(), () => clock.now());
    this.#users = new ListenerUsers<Link>({ byNick: this.#byNick, apply: (l, step) => this.#apply(l, step), now: () => clock.now(), serverName: config.name });
    this.#core = {
      serverName: config.name,
      network: "DistChat",
      version: "distchat-1",
      createdAt: clock.now(),
      motd: o.motd ?? [`${config.name}: a DistChat server (docs/IRC.md)`],
      servers: config.servers,
      pollWaitMs: POLL_WAIT_MS,
      sharedFeeds: true,
      dmsEveryMs: DMS_BACKSTOP_MS,
      random: o.random,
      census: () => this.#census(),
      readPosition: (userName, token) => o.hooks.readPosition(userName, token),
      botOf: (nick) => this.#byNick.get(nameKey(nick))?.conn.state.userModes.has("B") === true,
      awayOf: (nick) => (this.#away.get(nameKey(nick)) ?? 0) > clock.now(),
      localUser: (nick) => {
        const s = this.#byNick.get(nameKey(nick))?.conn.state;
        return s ? { user: s.user ?? nick, realname: s.realname, away: s.away, signon: s.connectedAt, oper: s.userModes.has("o"), bot: s.userModes.has("B") } : null;
      },
      onlineOf: (nick) => o.hooks.online?.(nick) ?? null,
      info: config.info,
      peers: config.peers,
      operators: (config.opers?.size ?? 0) > 0,
      ...this.#users.config,
      localUsers: () => [...this.#byNick.values()].filter((l) => !l.closed).map(({ conn: { state: s } }) => ({ nick: s.nick ?? "", invisible: s.userModes.has("i"), rooms: [...s.channels.keys()] })),
    };
    this.#feeds = new RoomFeeds<Link>({
      send: (req, from) => this.#closed || o.deliver(encodeRequest(req), from, this),
      apply: (link, step) => this.#apply(link, step),
      port: () => this.#nextPort++,
      now: () => clock.now(),
      waitMs: POLL_WAIT_MS,
    });
    o.hooks.onRooms((rooms) => this.#pushDms(rooms));
    o.hooks.onPresence?.((note) => this.#presence(note));
    this.#monitors = new MonitorWatch<Link>({
      online: (key) => o.hooks.online?.(key) ?? null,
      tell: (l, key, held, was) => l.closed || this.#apply(l, l.conn.monitored(key, held, was, clock.now())),
    });
    o.hooks.onSessions?.((names) => this.#monitors.checkNames(names.map(nameKey)));
    this.#stopTick = clock.every(TICK_MS, () => {
      const now = clock.now();
      for (const l of this.#links.values()) if (!l.closed) this.#apply(l, l.conn.tick(now));
      this.#feeds.tick();
      this.#monitors.check(MONITOR_CHECKS);
    });
  }

  /** Connections open. */
  get size(): number {
    return this.#links.size;
  }

  /** A new TCP connection (the server's "connection" event): budgeted, then refused or counted. */
  accept(socket: Socket): void {
    this.#connections.accept(socket);
  }

  /** Rooms with a shared stream (one held poll each). */
  get feeds(): number {
    return this.#feeds.size;
  }

  /** A reply to the connection (or the room stream) that is client address `to` (nothing when it is gone). */
  send(bytes: Uint8Array, to: Address): void {
    const r = decodeReply(bytes);
    if (r.ok && this.#feeds.owns(to.port)) return this.#feeds.reply(to.port, r.value);
    const link = this.#links.get(to.port);
    if (!link || !r.ok) return;
    this.#apply(link, link.conn.reply(r.value, this.#o.clock.now()));
    if (link.endOn === r.value.tag) this.#end(link);
  }

  /** Serves IRC on `socket` (accepted, and for TLS past its handshake). */
  open(socket: Socket): void {
    if (socket.destroyed) return;
    const { clock } = this.#o;
    socket.setNoDelay?.(true);
    const port = this.#nextPort++;
    const link: Link = { socket, conn: new IrcConnection(this.#core, clock.now()), from: { host: clientIp(socket), port }, closed: false, congested: false, registered: false, away: null, monitor: new Map() };
    this.#links.set(port, link);
    socket.on("data", (chunk: Uint8Array) => {
      if (link.closed) return;
      this.#connections.touched(socket);
      this.#apply(link, link.conn.bytes(new Uint8Array(chunk), clock.now()));
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#links.delete(port);
      const nick = link.conn.state.nick;
      if (nick !== null && this.#byNick.get(nameKey(nick)) === link) this.#byNick.delete(nameKey(nick));
      this.#users.left(link);
      link.closed = true;
      this.#feeds.closed(link);
      this.#monitors.drop(link);
      // The session logs out (its name is free again); the replies find no link and are dropped.
      this.#deliver(link, link.conn.disconnected(clock.now()));
    });
  }

  /** Stops the timers and destroys every connection (their sessions log out). */
  close(): void {
    this.#stopTick();
    this.#closed = true;
    for (const l of this.#links.values()) l.socket.destroy();
    this.#connections.close();
  }

  #deliver(link: Link, step: IrcStep): void {
    if (this.#closed) return;
    for (const req of step.requests) this.#o.deliver(encodeRequest(req), link.from, this);
  }

  #apply(link: Link, step: IrcStep): void {
    const { socket, conn } = link;
    const { clock } = this.#o;
    if (step.lines.length > 0 && !link.closed && !socket.destroyed) this.#write(link, step.lines.map((l) => l + "\r\n").join(""));
    this.#deliver(link, step);
    for (const job of step.proofs) {
      // PBKDF2 (SCRAM's proof, REGISTER's verifier, OPER's check) runs off the event loop; the answer comes back later.
      const work = "oper" in job ? this.#operChecks.check(link.from.host, job.oper, job.password) : proofWork(job);
      void work.then((answer) => this.#apply(link, conn.proved(job.id, answer, clock.now())));
    }
    for (const nick of step.dmsTo) this.#nudge(nameKey(nick), link);
    for (const m of step.readMarks ?? []) this.#toAccount(link, (l) => l.conn.readMarkMoved(m.target, m.value, clock.now()));
    for (const w of step.watch) if (!link.closed) this.#feeds.watch(link, w.room, w.cursor);
    if (conn.state.monitor !== link.monitor && !link.closed) this.#monitors.set(link, (link.monitor = conn.state.monitor).keys());
    if (conn.state.away !== link.away) this.#awayHere(link);
    if (!link.registered && conn.state.registered && !link.closed) {
      link.registered = true;
      if (conn.state.nick !== null) this.#byNick.set(nameKey(conn.state.nick), link);
      // The registration timeout is over; silence past IRC_IDLE_MS closes it (a backstop of the core's PING).
      this.#connections.webSocket(socket, () => (conn.close("Idle timeout"), this.#apply(link, conn.tick(clock.now()))));
    }
    if (step.close) this.#users.left(link);
    if (step.close && !link.closed && link.endOn === undefined) {
      // After QUIT the session's logout is committed before the socket closes: a client that reconnects at
      // once is then a later session, and its replay starts where this one ended (docs/IRC.md "Failover").
      const logout = step.requests.find((r) => r.verb === "logout");
      if (logout === undefined || this.#closed) return this.#end(link);
      link.endOn = logout.tag;
      this.#o.clock.after(CLOSE_GRACE_MS, () => this.#end(link));
    }
  }

  #end(link: Link): void {
    if (link.closed) return;
    link.closed = true;
    link.socket.end();
    this.#connections.closeWithin(link.socket, CLOSE_GRACE_MS);
  }

  /** LUSERS: registered users (and of them invisible, and operators), the most at once, connections not registered yet. */
  #census(): { local: number; max: number; invisible: number; unregistered: number; opers: number } {
    let local = 0, invisible = 0, unregistered = 0, opers = 0;
    for (const l of this.#links.values()) {
      if (l.closed || l.conn.state.closing) continue; // gone (QUIT), its socket not closed yet
      const modes = l.conn.state.userModes;
      if (!l.conn.state.registered) unregistered++;
      else (local++, invisible += modes.has("i") ? 1 : 0, opers += modes.has("o") ? 1 : 0);
    }
    this.#max = Math.max(this.#max, local);
    return { local, max: this.#max, invisible, unregistered, opers };
  }

  /** A presence note: typing to the connections in its rooms; away and back only when they change a user's state. */
  #presence(note: PresenceNote): void {
    const now = this.#o.clock.now(), ukey = nameKey(note.userName);
    if (note.state === "away" || note.state === "back") {
      const was = (this.#away.get(ukey) ?? 0) > now;
      this.#away.delete(ukey);
      if (note.state === "away") this.#away.set(ukey, now + note.ttlMs);
      if (this.#away.size > MAX_AWAY) this.#away.delete(this.#away.keys().next().value as string);
      if (was === (note.state === "away")) return; // said again: nothing changed
    }
    for (const l of this.#links.values()) if (!l.closed && l.registered) this.#apply(l, l.conn.presence(note, now));
  }

  /**
   * A connection's away state changed. In a channel, DistChat tells everyone (a presence note); in none,
   * DistChat has nowhere to say it, so this listener tells its own connections that monitor the nick.
   */
  #awayHere(link: Link): void {
    const { state } = link.conn;
    link.away = state.away;
    if (state.nick === null || state.channels.size > 0 || link.closed) return;
    const note: PresenceNote = { userName: state.nick, state: state.away === null ? "back" : "away", ttlMs: 0, rooms: [] };
    for (const l of this.#links.values()) if (l !== link && !l.closed && l.registered) this.#apply(l, l.conn.presence(note, this.#o.clock.now()));
  }

  /** Direct conversations a commit touched: their parties' connections look for new ones now. */
  #pushDms(rooms: ReadonlySet<string>): void {
    for (const key of rooms) {
      if (!key.startsWith("@")) continue;
      const at = key.indexOf("@", 1);
      for (const part of [key.slice(1, at), key.slice(at + 1)]) this.#nudge(part.split("~")[0]);
    }
  }

  /** Makes this listener's connections of the name whose key is `ukey` look for new direct conversations. */
  #nudge(ukey: string, except?: Link): void {
    for (const l of this.#links.values()) {
      const nick = l.conn.state.nick;
      if (l !== except && !l.closed && nick !== null && l.conn.state.registered && nameKey(nick) === ukey) this.#apply(l, l.conn.checkDms(this.#o.clock.now()));
    }
  }

  /** Applies `step` to the other connections logged in to `from`'s account (none for a connection without one). */
  #toAccount(from: Link, step: (l: Link) => IrcStep): void {
    const account = from.conn.state.account;
    if (account === null) return;
    for (const l of this.#links.values()) {
      if (l !== from && !l.closed && l.conn.state.account !== null && nameKey(l.conn.state.account) === nameKey(account)) this.#apply(l, step(l));
    }
  }

  /** Writes; while the client leaves output unread none of its lines are read (past the bounds it is cut off). */
  #write(link: Link, text: string): void {
    const { socket } = link;
    if (!socket.write(text) && !link.congested) {
      link.congested = true;
      socket.pause();
      socket.once("drain", () => {
        link.congested = false;
        if (!link.closed) socket.resume();
      });
    }
    this.#connections.wrote(socket);
  }
}
