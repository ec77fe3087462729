/**
 * IRC operators (private to lib/irc; docs/IRC.md "Operators"): OPER, KILL,
 * WALLOPS (RFC 2812 §3.1.4, §3.7.1, §4.7; Modern IRC). Operators are the
 * server operator's, configured per server (irc-opers.txt,
 * lib/config/irc_opers.ts) — listener-local by nature, as on any IRC
 * network whose O-lines are per server: user mode +o lives in the
 * connection, the password is checked by the listener off the event loop
 * (a proof job `{ oper, password }`), KILL disconnects a connection of this
 * listener, and WALLOPS goes to this listener's users of mode +w. INFO
 * and LINKS describe the server and the cluster.
 */
import type { Core, Ctx, Handler } from "./_core.ts";
import { N } from "./numerics.ts";
import { nameKey } from "./names.ts";
import { BOT_MODE } from "./_bot.ts";

/** User modes a client may set on itself with MODE (+i, +w, bot +B; -o): +o comes from OPER only (RFC 2812 §3.1.5). */
export function userModeSettable(sign: "+" | "-", mode: string): boolean {
  return mode === "i" || mode === "w" || mode === BOT_MODE || (mode === "o" && sign === "-");
}

/** Whether this connection is an IRC operator (OPER). */
export function isOper(c: Core): boolean {
  return c.state.userModes.has("o");
}

function noPrivileges(c: Core, ctx: Ctx): void {
  c.numeric(ctx, N.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator");
}

/**
 * OPER name password: 381 and MODE +o; 464 for a wrong name or password (which of them is not said), or
 * while the listener makes the client's address wait (its answer "rate-limited"); 491 with no operators.
 */
function oper(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const [name, password] = m.params;
  if (name === undefined || password === undefined || name === "") return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "OPER", "Not enough parameters");
  if (!c.config.operators) return c.numeric(ctx, N.ERR_NOOPERHOST, "No operators are configured on this server");
  c.prove(ctx, { oper: name, password }, (ok) => {
    if (ok === null) return c.numeric(ctx, N.ERR_PASSWDMISMATCH, "Password incorrect");
    if (ok !== "ok") return c.numeric(ctx, N.ERR_PASSWDMISMATCH, "Too many failed OPER attempts from your address: try again in a minute");
    c.numeric(ctx, N.RPL_YOUREOPER, "You are now an IRC operator");
    if (isOper(c)) return;
    c.state.userModes.add("o");
    c.send(ctx, { tags: {}, source: c.me(), command: "MODE", params: [c.state.nick ?? "*", "+o"] });
  });
}

/**
 * KILL nick [:reason]: closes this listener's connection of `nick` (its
 * session logs out, as after QUIT). A nick connected elsewhere (another
 * server, or a terminal or web session) is not this server's to cut off:
 * `FAIL KILL REMOTE_USER`.
 */
function kill(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (!isOper(c)) return noPrivileges(c, ctx);
  const nick = m.params[0];
  if (nick === undefined || nick === "") return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "KILL", "Not enough parameters");
  const text = `Killed (${c.state.nick} (${m.params[1] || "no reason given"}))`;
  if (nameKey(nick) === nameKey(c.state.nick ?? "")) return c.close(text);
  if (c.config.kill?.(nick, text)) return;
  c.call(ctx, (tag, token) => ({ verb: "whois", tag, token, userName: nick }), (r) => {
    if (r.verb === "ok" && r.kind === "whois" && r.idle !== null) {
      c.fail(ctx, "KILL", "REMOTE_USER", r.userName, "is not connected to this server's IRC listener: KILL disconnects its connections only");
    } else c.numeric(ctx, N.ERR_NOSUCHNICK, nick, "No such nick/channel");
  });
}

/** WALLOPS :text — operators only; to this listener's users of mode +w (the sender too, when it has +w). */
function wallops(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (!isOper(c)) return noPrivileges(c, ctx);
  const text = m.params[0];
  if (text === undefined || text === "") return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "WALLOPS", "Not enough parameters");
  const msg = { tags: {}, source: c.me(), command: "WALLOPS", params: [text] };
  if (c.state.userModes.has("w")) c.send(ctx, msg);
  c.config.wallops?.(msg, c.state.nick ?? "");
}

/** INFO: what this server is (371 lines, 374); another server's INFO is 402 (not relayed). */
function info(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const target = m.params[0];
  if (target !== undefined && target !== "" && nameKey(target) !== nameKey(c.config.serverName)) {
    return c.numeric(ctx, N.ERR_NOSUCHSERVER, target, "No such server (INFO answers for this server only)");
  }
  const lines = [
    `${c.config.serverName}: ${c.config.info ?? "a DistChat server"}`,
    `${c.config.version}: DistChat, a distributed chat system; this is its IRC front end (docs/IRC.md)`,
    `One of ${c.config.servers} server(s) of the cluster; rooms, names and accounts are the cluster's`,
    `Up since ${new Date(c.config.createdAt).toUTCString()}`,
  ];
  for (const l of lines) c.numeric(ctx, N.RPL_INFO, l);
  c.numeric(ctx, N.RPL_ENDOFINFO, "End of INFO list");
}

/** LINKS: this server (hop 0) and the cluster's other servers by DistChat id (hop 1: every server talks to every other). */
function links(c: Core, _m: unknown, ctx: Ctx): void {
  const me = c.config.serverName;
  c.numeric(ctx, N.RPL_LINKS, me, me, `0 ${c.config.info ?? "a DistChat server"}`);
  for (const id of c.config.peers ?? []) c.numeric(ctx, N.RPL_LINKS, id, me, `1 DistChat server ${id}`);
  c.numeric(ctx, N.RPL_ENDOFLINKS, "*", "End of /LINKS list");
}

/** The operator commands, and INFO and LINKS. */
export const OPER_HANDLERS: Record<string, Handler> = { OPER: oper, KILL: kill, WALLOPS: wallops, INFO: info, LINKS: links };
