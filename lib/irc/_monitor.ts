/**
 * MONITOR (IRCv3 monitor, private to lib/irc; docs/IRC.md "Monitor"): a
 * connection keeps a list of nicks and is told when each comes online or
 * goes offline. A nick is online while a live DistChat session holds that
 * name anywhere in the cluster (`IrcConfig.onlineOf`, the same fact as
 * `whois`'s idle time), so a user of another server or transport counts.
 * Which nicks a connection monitors is this listener's own state: the
 * listener (lib/ircd/monitors.ts) watches the union of its connections'
 * lists and hands each change to the connections that monitor the nick
 * (`monitorNote`). With extended-monitor, a monitored user's AWAY reaches
 * the connection as if it shared a channel with it (lib/irc/_presence.ts).
 *
 * @example
 * ```
 * MONITOR + bob,carol   → 730 me :bob!bob@distchat   731 me :carol
 * MONITOR L             → 732 me :bob,carol          733 me :End of MONITOR list
 * ```
 */
import type { Core, Ctx, Handler } from "./_core.ts";
import { N } from "./numerics.ts";
import { hostmask, nameKey, nickProblem } from "./names.ts";
import { MAX_MONITOR } from "./isupport.ts";

/** RPL_MONONLINE … ERR_MONLISTFULL (IRCv3 monitor "Numerics"). */
const RPL_MONONLINE = "730", RPL_MONOFFLINE = "731", RPL_MONLIST = "732", RPL_ENDOFMONLIST = "733", ERR_MONLISTFULL = "734";

/** Most bytes of targets in one numeric (a line stays well under 512 bytes with its prefix). */
const LIST_BYTES = 400;

/** `items` joined by commas, in as few pieces as keep each under LIST_BYTES. */
export function commaChunks(items: readonly string[]): string[] {
  const out: string[] = [];
  let cur = "";
  for (const it of items) {
    if (cur !== "" && cur.length + 1 + it.length > LIST_BYTES) {
      out.push(cur);
      cur = "";
    }
    cur = cur === "" ? it : `${cur},${it}`;
  }
  if (cur !== "") out.push(cur);
  return out;
}

/** The targets of a MONITOR parameter: comma-separated, empty ones dropped. */
function targets(param: string | undefined): string[] {
  return (param ?? "").split(",").filter((t) => t !== "");
}

/** 730 for the online ones (`nick!user@host`, as DistChat writes the name), 731 for the others, each in as few lines as fit. */
function status(c: Core, ctx: Ctx, nicks: readonly string[]): void {
  const on: string[] = [], off: string[] = [];
  for (const n of nicks) {
    const held = c.config.onlineOf?.(n) ?? null;
    if (held === null) off.push(n);
    else on.push(hostmask(held));
  }
  for (const l of commaChunks(on)) c.numeric(ctx, RPL_MONONLINE, l);
  for (const l of commaChunks(off)) c.numeric(ctx, RPL_MONOFFLINE, l);
}

/** MONITOR + targets: adds what is a nick (432 for what is not), up to the limit (734 for the rest); then their status. */
function add(c: Core, ctx: Ctx, list: string[]): void {
  const mine = new Map(c.state.monitor), added: string[] = [];
  for (const [i, t] of list.entries()) {
    if (nickProblem(t) !== null) {
      c.numeric(ctx, N.ERR_ERRONEUSNICKNAME, t, "Erroneous nickname: MONITOR takes nicks, not masks");
      continue;
    }
    if (mine.has(nameKey(t))) continue;
    if (mine.size >= MAX_MONITOR) {
      c.numeric(ctx, ERR_MONLISTFULL, String(MAX_MONITOR), list.slice(i).join(","), "Monitor list is full.");
      break;
    }
    mine.set(nameKey(t), t);
    added.push(t);
  }
  if (added.length > 0) c.state.monitor = mine;
  status(c, ctx, added);
}

function monitor(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const sub = (m.params[0] ?? "").toUpperCase();
  const needsTargets = sub === "+" || sub === "-";
  if (sub === "" || (needsTargets && targets(m.params[1]).length === 0)) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "MONITOR", "Not enough parameters");
  switch (sub) {
    case "+":
      return add(c, ctx, targets(m.params[1]));
    case "-": {
      const mine = new Map(c.state.monitor);
      for (const t of targets(m.params[1])) mine.delete(nameKey(t));
      if (mine.size < c.state.monitor.size) c.state.monitor = mine;
      return;
    }
    case "C":
      if (c.state.monitor.size > 0) c.state.monitor = new Map();
      return;
    case "L":
      for (const l of commaChunks([...c.state.monitor.values()])) c.numeric(ctx, RPL_MONLIST, l);
      return c.numeric(ctx, RPL_ENDOFMONLIST, "End of MONITOR list");
    case "S":
      return status(c, ctx, [...c.state.monitor.values()]);
    default:
      c.numeric(ctx, N.ERR_UNKNOWNCOMMAND, "MONITOR", `Unknown MONITOR subcommand ${sub}: use + - C L or S`);
  }
}

/**
 * The listener saw monitored nick `key` come online (as `held`, the name as DistChat writes it) or go
 * offline (`held` null; `was` the name it had): a 730 or 731 to this connection if it monitors it.
 */
export function monitorNote(c: Core, key: string, held: string | null, was: string): void {
  if (!c.state.monitor.has(key)) return;
  const me = c.state.nick ?? "*";
  c.push({ tags: {}, source: c.config.serverName, command: held === null ? RPL_MONOFFLINE : RPL_MONONLINE, params: [me, held === null ? was : hostmask(held)] });
}

/** True when this connection asked to hear `nick`'s away, account and real name changes (extended-monitor) and monitors it. */
export function extendedMonitors(c: Core, nick: string): boolean {
  return c.state.caps.has("extended-monitor") && c.state.monitor.has(nameKey(nick));
}

export const MONITOR_HANDLERS: Record<string, Handler> = { MONITOR: monitor };
