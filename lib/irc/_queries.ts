/**
 * Queries about users and the server (private to lib/irc): WHO, WHOIS,
 * ISON, USERHOST, MOTD, LUSERS, VERSION (RFC 2812 §3.4–3.6, Modern IRC);
 * WHO with `%fields` answers WHOX lines (lib/irc/_whox.ts).
 * Users come from DistChat's `who` (live sessions of a room) and `whois`
 * (registered, idle, rooms in common). User names, real names and away
 * messages are the listener's (DistChat keeps no real names, and passes
 * away states between servers without their text), so they show for users
 * of the same listener (`IrcConfig.localUser`) and a nick's own; others show
 * their nick, and "Away" when the server knows them away (AWAY: _presence.ts).
 */
import type { Reply } from "../wire/messages.ts";
import { type Core, type Ctx, type Handler, type LocalUser } from "./_core.ts";
import { N } from "./numerics.ts";
import { awayText } from "./_presence.ts";
import { isupportTokens } from "./isupport.ts";
import { channelOfRoom, isChannel, nameKey, roomOfChannel, USER_HOST } from "./names.ts";
import { accountOf, knownAccount, lookupAccount, rememberAccount } from "./_deliver.ts";
import { parseWhox, RPL_WHOSPCRPL, whoxParams } from "./_whox.ts";
import { memberPrefixes, namesPrefix } from "./channel_modes.ts";

/** Pages of a `who` or `rooms` list read at most for one command. */
export const MAX_PAGES = 50;

/**
 * Every name of a paged `who`/`rooms` list (docs/PROTOCOL.md "Paging
 * names"), deduplicated (a registered name has a session per device); `done`
 * gets the names and the room's name as shown, or the error.
 */
export function pageNames(
  c: Core,
  ctx: Ctx | null,
  room: string | null,
  done: (r: { names: string[]; shown: string | null } | Extract<Reply, { verb: "error" }>) => void,
): void {
  const names = new Map<string, string>();
  let shown: string | null = null;
  const page = (after: string | null, n: number) => {
    c.call(ctx, (tag, token) => (room === null ? { verb: "rooms", tag, token, after } : { verb: "who", tag, token, groupName: room, after }), (r) => {
      if (r.verb === "error") return done(r);
      if (r.verb !== "ok" || (r.kind !== "rooms" && r.kind !== "who")) return done({ verb: "error", tag: r.tag, code: "internal", message: "unexpected reply" });
      if (r.kind === "who") shown = r.groupName;
      for (const name of r.names) names.set(nameKey(name), name);
      if (r.more && r.names.length > 0 && n + 1 < MAX_PAGES) return page(r.names[r.names.length - 1], n + 1);
      done({ names: [...names.values()], shown });
    });
  };
  page(null, 0);
}

/** Most users a WHO with a mask lists. */
const MAX_WHO_MASK = 200;

/** An IRC mask (`*`, `?`) as a regular expression over nicks, ASCII case-insensitive. */
export function globRegExp(mask: string): RegExp {
  return new RegExp("^" + mask.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$", "i");
}

/** What WHO, WHOIS and USERHOST show of `nick`: this connection's own, another of the listener's, or the nick alone. */
export function profile(c: Core, nick: string): LocalUser {
  const s = c.state;
  if (nameKey(nick) === nameKey(s.nick ?? "")) return { user: s.user ?? nick, realname: s.realname, away: s.away, signon: s.connectedAt, oper: s.userModes.has("o"), bot: s.userModes.has("B") };
  return c.config.localUser?.(nick) ?? { user: nick, realname: nick, away: awayText(c, nick) };
}

function who(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const mask = m.params[0] ?? "*";
  const whox = parseWhox(m.params[1]);
  const end = () => c.numeric(ctx, N.RPL_ENDOFWHO, mask, "End of WHO list");
  const line = (channel: string, nick: string, prefix: string, idle = 0) => {
    const p = profile(c, nick);
    const flags = (p.away !== null ? "G" : "H") + (p.oper ? "*" : "") + prefix + (p.bot ? "B" : "");
    if (whox === null) return c.numeric(ctx, N.RPL_WHOREPLY, channel, p.user, USER_HOST, c.config.serverName, nick, flags, `0 ${p.realname}`);
    const facts = { channel, user: p.user, host: USER_HOST, server: c.config.serverName, nick, flags, idle, account: accountOf(c, nick), realname: p.realname };
    c.numeric(ctx, RPL_WHOSPCRPL, ...whoxParams(whox, facts));
  };
  // WHOX's account field: names whose account is not known yet are looked up first (at most MAX_WHO_MASK).
  const withAccounts = (names: string[], then: () => void) => {
    const unknown = whox?.fields.includes("a") ? names.filter((n) => !knownAccount(c, n)).slice(0, MAX_WHO_MASK) : [];
    let left = unknown.length;
    if (left === 0) return then();
    for (const n of unknown) lookupAccount(c, ctx, n, () => --left === 0 && then());
  };
  if (isChannel(mask)) {
    const room = roomOfChannel(mask);
    if (room === null) return end();
    return c.call(ctx, (tag, token) => ({ verb: "room", tag, token, groupName: room }), (info) => {
      const prefixes = info.verb === "ok" && info.kind === "room" ? memberPrefixes(info.roles) : new Map<string, string>();
      const multi = c.state.caps.has("multi-prefix");
      pageNames(c, ctx, room, (r) => {
        const names = "names" in r ? r.names : [];
        withAccounts(names, () => {
          for (const n of names) line(channelOfRoom(("shown" in r ? r.shown : null) ?? room), n, namesPrefix(prefixes.get(nameKey(n)) ?? "", multi));
          end();
        });
      });
    });
  }
  if (/[*?]/.test(mask)) {
    // DistChat lists users per room only: a mask is matched against this listener's users (the invisible
    // ones only when they share a channel with the asker, or are the asker).
    const re = globRegExp(mask), me = nameKey(c.state.nick ?? "");
    const seen = (u: { nick: string; invisible: boolean; rooms: string[] }) => !u.invisible || nameKey(u.nick) === me || u.rooms.some((r) => c.state.channels.has(r));
    const names = (c.config.localUsers?.() ?? []).filter((u) => re.test(u.nick) && seen(u)).slice(0, MAX_WHO_MASK).map((u) => u.nick);
    return withAccounts(names, () => {
      for (const n of names) line("*", n, "");
      end();
    });
  }
  c.call(ctx, (tag, token) => ({ verb: "whois", tag, token, userName: mask }), (r) => {
    if (r.verb === "ok" && r.kind === "whois") rememberAccount(c, r.userName, r.registered);
    if (r.verb === "ok" && r.kind === "whois" && r.idle !== null) line("*", r.userName, "", r.idle);
    end();
  });
}

function whois(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const target = m.params[m.params.length - 1]; // WHOIS [server] nick
  if (target === undefined || target === "") return c.numeric(ctx, N.ERR_NONICKNAMEGIVEN, "No nickname given");
  const nick = target.split(",")[0];
  const end = (shown: string) => c.numeric(ctx, N.RPL_ENDOFWHOIS, shown, "End of /WHOIS list");
  c.call(ctx, (tag, token) => ({ verb: "whois", tag, token, userName: nick }), (r) => {
    if (r.verb !== "ok" || r.kind !== "whois" || r.idle === null) {
      if (r.verb === "ok" && r.kind === "whois") rememberAccount(c, nick, r.registered);
      c.numeric(ctx, N.ERR_NOSUCHNICK, nick, "No such nick/channel");
      return end(nick);
    }
    rememberAccount(c, r.userName, r.registered);
    const p = profile(c, r.userName);
    c.numeric(ctx, N.RPL_WHOISUSER, r.userName, p.user, USER_HOST, "*", p.realname);
    if (r.rooms.length > 0) c.numeric(ctx, N.RPL_WHOISCHANNELS, r.userName, r.rooms.map(channelOfRoom).join(" "));
    c.numeric(ctx, N.RPL_WHOISSERVER, r.userName, c.config.serverName, `${c.config.network} (DistChat)`);
    if (p.away !== null) c.numeric(ctx, N.RPL_AWAY, r.userName, p.away);
    if (p.oper) c.numeric(ctx, N.RPL_WHOISOPERATOR, r.userName, "is an IRC operator");
    if (p.bot) c.numeric(ctx, N.RPL_WHOISBOT, r.userName, `is a bot on ${c.config.network}`);
    if (r.registered) c.numeric(ctx, N.RPL_WHOISACCOUNT, r.userName, r.userName, "is logged in as");
    if (p.signon === undefined) c.numeric(ctx, N.RPL_WHOISIDLE, r.userName, String(r.idle), "seconds idle");
    else c.numeric(ctx, N.RPL_WHOISIDLE, r.userName, String(r.idle), String(Math.floor(p.signon / 1000)), "seconds idle, signon time");
    end(r.userName);
  });
}

/** The nicks of ISON/USERHOST that are online (a live session, by `whois`), in the order asked; `done` gets them. */
function online(c: Core, ctx: Ctx, params: string[], most: number, done: (names: string[]) => void): void {
  const nicks = params.flatMap((p) => p.split(" ")).filter((n) => n !== "").slice(0, most);
  const found: (string | null)[] = nicks.map(() => null);
  let left = nicks.length;
  nicks.forEach((nick, i) => {
    c.call(ctx, (tag, token) => ({ verb: "whois", tag, token, userName: nick }), (r) => {
      if (r.verb === "ok" && r.kind === "whois" && r.idle !== null) found[i] = r.userName;
      if (--left === 0) done(found.filter((n): n is string => n !== null));
    });
  });
}

function ison(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (m.params.length === 0) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "ISON", "Not enough parameters");
  online(c, ctx, m.params, 20, (names) => c.numeric(ctx, "303", names.join(" ")));
}

function userhost(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (m.params.length === 0) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "USERHOST", "Not enough parameters");
  online(c, ctx, m.params, 5, (names) => {
    c.numeric(ctx, "302", names.map((n) => `${n}=${profile(c, n).away !== null ? "-" : "+"}${profile(c, n).user}@${USER_HOST}`).join(" "));
  });
}

/** MOTD: 375, 372 per line, 376; or 422 when there is none. */
export function sendMotd(c: Core, ctx: Ctx): void {
  const motd = c.config.motd;
  if (motd.length === 0) return c.numeric(ctx, N.ERR_NOMOTD, "MOTD File is missing");
  c.numeric(ctx, N.RPL_MOTDSTART, `- ${c.config.serverName} Message of the day - `);
  for (const l of motd) c.numeric(ctx, N.RPL_MOTD, `- ${l}`);
  c.numeric(ctx, N.RPL_ENDOFMOTD, "End of /MOTD command.");
}

/**
 * LUSERS: what this server can tell honestly — its own IRC connections
 * (the listener's census) and the servers of the cluster. DistChat does not
 * count users across servers or transports, so the global figures are the
 * local ones and say so.
 */
export function sendLusers(c: Core, ctx: Ctx): void {
  const counted = c.config.census?.() ?? { local: 0, max: 0, unregistered: 1 };
  // The welcome's LUSERS runs just before this connection counts as registered: count it as it is about to be.
  const me = c.state.registered ? 0 : 1;
  const local = counted.local + me, census = { local, max: Math.max(counted.max, local) };
  const invisible = (counted.invisible ?? 0) + (me && c.state.userModes.has("i") ? 1 : 0);
  const unregistered = Math.max(0, (counted.unregistered ?? 0) - me);
  const servers = c.config.servers;
  c.numeric(ctx, N.RPL_LUSERCLIENT, `There are ${census.local - invisible} users and ${invisible} invisible on ${servers} servers`);
  c.numeric(ctx, N.RPL_LUSEROP, String(counted.opers ?? 0), "operator(s) online");
  if (unregistered > 0) c.numeric(ctx, N.RPL_LUSERUNKNOWN, String(unregistered), "unknown connection(s)");
  c.numeric(ctx, N.RPL_LUSERME, `I have ${census.local} clients and ${servers - 1} servers`);
  c.numeric(ctx, N.RPL_LOCALUSERS, String(census.local), String(census.max), `Current local users ${census.local}, max ${census.max}`);
  c.numeric(ctx, N.RPL_GLOBALUSERS, String(census.local), String(census.max), `Current global users ${census.local}, max ${census.max} (IRC users of this server only)`);
}

/** RPL_ISUPPORT lines, at most 12 tokens each. */
export function sendIsupport(c: Core, ctx: Ctx): void {
  const tokens = isupportTokens(c.config.network);
  for (let i = 0; i < tokens.length; i += 12) c.numeric(ctx, N.RPL_ISUPPORT, ...tokens.slice(i, i + 12), "are supported by this server");
}

function version(c: Core, _m: unknown, ctx: Ctx): void {
  c.numeric(ctx, "351", c.config.version, c.config.serverName, "DistChat IRC front end");
  sendIsupport(c, ctx);
}

/** TIME: the server's time (RPL_TIME). */
function time(c: Core, _m: unknown, ctx: Ctx): void {
  c.numeric(ctx, "391", c.config.serverName, new Date(c.now).toUTCString());
}

/**
 * WHOWAS nick [count]: who used the nick on this listener lately, newest first (IrcConfig.whowas: at most
 * `count` when it is positive), or ERR_WASNOSUCHNICK; then RPL_ENDOFWHOWAS.
 */
function whowas(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const nick = m.params[0];
  if (nick === undefined || nick === "") return c.numeric(ctx, N.ERR_NONICKNAMEGIVEN, "No nickname given");
  const count = Number.parseInt(m.params[1] ?? "0", 10);
  const found = c.config.whowas?.(nick, Number.isFinite(count) ? count : 0) ?? [];
  if (found.length === 0) c.numeric(ctx, "406", nick, "There was no such nickname");
  for (const e of found) {
    c.numeric(ctx, "314", e.nick, e.user, USER_HOST, "*", e.realname);
    c.numeric(ctx, N.RPL_WHOISSERVER, e.nick, e.server, new Date(e.at).toUTCString());
  }
  c.numeric(ctx, "369", nick, "End of WHOWAS");
}

export const QUERY_HANDLERS: Record<string, Handler> = {
  TIME: time,
  WHOWAS: whowas,
  WHO: who,
  WHOIS: whois,
  ISON: ison,
  USERHOST: userhost,
  MOTD: (c, _m, ctx) => sendMotd(c, ctx),
  LUSERS: (c, _m, ctx) => sendLusers(c, ctx),
  VERSION: version,
};
