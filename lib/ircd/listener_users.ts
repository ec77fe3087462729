/**
 * What an IRC connection does to the others of its listener, and what the
 * listener remembers of those that left (docs/IRC.md "Operators",
 * "WHOWAS"): KILL closes one, WALLOPS and SETNAME are told to those they
 * concern, and WHOWAS reads the nicks that went. All listener-local: a
 * listener knows its own connections only.
 *
 * @example
 * ```ts
 * const users = new ListenerUsers({ byNick, apply, now: () => clock.now(), serverName: "a.distchat" });
 * const core: IrcConfig = { ...settings, ...users.config };
 * users.left(link); // on QUIT, KILL or a closed socket
 * ```
 */
import { nameKey } from "../wire/names.ts";
import type { IrcConfig, IrcConnection, IrcStep } from "../irc/connection.ts";
import type { IrcMessage } from "../irc/message.ts";
import { WhowasHistory } from "../irc/whowas.ts";

/** What this needs of a listener's connection. */
export type UserLink = { conn: IrcConnection; closed: boolean; registered: boolean };

export type ListenerUsersOptions<L extends UserLink> = {
  /** The listener's registered connections by nick key. */
  byNick: ReadonlyMap<string, L>;
  /** Sends a step of one connection (its lines, requests, closing). */
  apply: (link: L, step: IrcStep) => void;
  now: () => number;
  /** The server's IRC name (WHOWAS's RPL_WHOISSERVER). */
  serverName: string;
};

/** KILL, WALLOPS, SETNAME's relay and WHOWAS over one listener's connections. */
export class ListenerUsers<L extends UserLink> {
  #o: ListenerUsersOptions<L>;
  #whowas = new WhowasHistory();
  #left = new WeakSet<L>();

  constructor(o: ListenerUsersOptions<L>) {
    this.#o = o;
  }

  /** The IrcConfig entries these answer. */
  get config(): Pick<IrcConfig, "kill" | "wallops" | "tellChannels" | "whowas"> {
    return {
      kill: (nick, reason) => this.#kill(nick, reason),
      wallops: (msg, except) => this.#tell(msg, except, (s) => s.userModes.has("w")),
      // Users in a channel with `except`, and (extended-monitor) those that monitor it.
      tellChannels: (rooms, msg, cap, except) =>
        this.#tell(msg, except, (s) => s.caps.has(cap) && (rooms.some((r) => s.channels.has(r)) || (s.caps.has("extended-monitor") && s.monitor.has(nameKey(except))))),
      whowas: (nick, count) => this.#whowas.find(nick, count),
    };
  }

  /** Remembers a registered connection's nick as it goes (QUIT, KILL, a closed socket), once. */
  left(link: L): void {
    const s = link.conn.state;
    if (this.#left.has(link) || !link.registered || s.nick === null) return;
    this.#left.add(link);
    this.#whowas.add({ nick: s.nick, user: s.user ?? s.nick, realname: s.realname, server: this.#o.serverName, at: this.#o.now() });
  }

  /** Sends `msg` to the registered connections but `except` (a nick) whose state passes `to`. */
  #tell(msg: IrcMessage, except: string, to: (s: IrcConnection["state"]) => boolean): void {
    const now = this.#o.now();
    for (const l of this.#o.byNick.values()) if (!l.closed && l.conn.state.nick !== except && to(l.conn.state)) this.#o.apply(l, l.conn.told(msg, now));
  }

  /** Closes the connection of `nick` with `reason` (its session logs out); false when there is none. */
  #kill(nick: string, reason: string): boolean {
    const link = this.#o.byNick.get(nameKey(nick));
    if (link === undefined || link.closed || link.conn.state.closing) return false;
    link.conn.close(reason);
    this.#o.apply(link, link.conn.tick(this.#o.now()));
    return true;
  }
}
