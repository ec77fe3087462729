/**
 * MODE (private to lib/irc; RFC 2811 §4, Modern IRC "Channel modes") over
 * DistChat moderation (docs/PROTOCOL.md "Moderation"):
 *
 * | IRC | DistChat |
 * |---|---|
 * | `+o`/`-o nick` | `mod … op`/`deop nick` |
 * | `+b`/`-b mask` | `mod … ban`/`unban name` (a mask must name one nick: lib/irc/names.ts `banName`) |
 * | `+i`/`-i`, `+s`/`-s` | `mod … mode +i`/`-i`, `+s`/`-s` (secret: LIST shows it to members only, NAMES with `@`) |
 * | `+l N`/`-l` | `mod … mode +lN`/`-l` (a member limit; 696 for N not in 1..10000) |
 * | `+t`, `+n` | always set: only operators set topics, only members send |
 * | `b` alone | the ban list (`room` roles `!name`) |
 *
 * Other modes (k, m, …) have no DistChat meaning: ERR_UNKNOWNMODE.
 * User modes `i` and `w` are connection-local.
 */
import type { ModAction } from "../wire/messages.ts";
import type { Core, Ctx, Follow, Handler } from "./_core.ts";
import { N } from "./numerics.ts";
import { MAX_MODES } from "./isupport.ts";
import { banMask, banName, channelOfRoom, isChannel, nameKey } from "./names.ts";
import { expect, unexpect } from "./_deliver.ts";
import { notOnChannel, refuse, roomOrRefuse } from "./_channels.ts";
import { MAX_ROOM_LIMIT, parseMode } from "../rules/moderation.ts";
import { userModeSettable } from "./_oper.ts";

type Change = { sign: "+" | "-"; mode: string; arg: string | null };

/** Splits "+ob-i" with its arguments into changes; modes `o`, `b` and `+l` take one. */
function parseChanges(modes: string, args: string[]): Change[] {
  const out: Change[] = [];
  let sign: "+" | "-" = "+";
  let next = 0;
  for (const ch of modes) {
    if (ch === "+" || ch === "-") {
      sign = ch;
      continue;
    }
    const takesArg = ch === "o" || ch === "b" || (ch === "l" && sign === "+");
    out.push({ sign, mode: ch, arg: takesArg && next < args.length ? args[next++] : null });
  }
  return out;
}

function userMode(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const target = m.params[0];
  if (nameKey(target) !== nameKey(c.state.nick ?? "")) return c.numeric(ctx, N.ERR_USERSDONTMATCH, "Can't change mode for other users");
  if (m.params.length < 2) return c.numeric(ctx, N.RPL_UMODEIS, "+" + [...c.state.userModes].sort().join(""));
  const applied: string[] = [];
  let unknown = false;
  for (const ch of parseChanges(m.params[1], [])) {
    if (ch.mode === "o" && ch.sign === "+") continue; // +o comes from OPER only (RFC 2812 §3.1.5)
    if (!userModeSettable(ch.sign, ch.mode)) {
      unknown = true;
      continue;
    }
    const has = c.state.userModes.has(ch.mode);
    if (ch.sign === "+" && !has) c.state.userModes.add(ch.mode);
    else if (ch.sign === "-" && has) c.state.userModes.delete(ch.mode);
    else continue;
    applied.push(ch.sign + ch.mode);
  }
  if (unknown) c.numeric(ctx, N.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag");
  if (applied.length > 0) c.send(ctx, { tags: {}, source: c.me(), command: "MODE", params: [c.state.nick ?? "*", applied.join("")] });
}

function channelMode(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const channel = m.params[0];
  const room = roomOrRefuse(c, ctx, channel);
  if (room === null) return;
  if (m.params.length < 2) return showModes(c, ctx, room, channel);
  const changes = parseChanges(m.params[1], m.params.slice(2));
  const f = c.state.channels.get(nameKey(room));
  const queue: Change[] = [];
  for (const ch of changes) {
    if (ch.mode === "b" && ch.arg === null) {
      showBans(c, ctx, room, channel);
      continue;
    }
    if ((ch.mode === "t" || ch.mode === "n") && ch.sign === "+") continue; // always set
    if (!["o", "b", "i", "s", "l"].includes(ch.mode)) {
      c.numeric(ctx, N.ERR_UNKNOWNMODE, ch.mode, ch.mode === "t" || ch.mode === "n" ? "is always set on DistChat" : "is unknown mode char to me");
      continue;
    }
    if ((ch.mode === "o" || (ch.mode === "l" && ch.sign === "+")) && ch.arg === null) continue; // RFC: ignored without its argument
    if (f === undefined) return notOnChannel(c, ctx, channel, room);
    if (queue.length < MAX_MODES) queue.push(ch);
  }
  if (f !== undefined) applyChanges(c, ctx, f, channel, queue);
}

/** Applies changes one after another (a MODE line for each DistChat accepted). */
function applyChanges(c: Core, ctx: Ctx, f: Follow, channel: string, queue: Change[]): void {
  const ch = queue.shift();
  if (ch === undefined) return;
  const next = () => applyChanges(c, ctx, f, channel, queue);
  let action: ModAction, target: string, shown: string | null;
  if (ch.mode === "i" || ch.mode === "s" || (ch.mode === "l" && ch.sign === "-")) {
    action = "mode";
    target = `${ch.sign}${ch.mode}`;
    shown = null;
  } else if (ch.mode === "l") {
    const limit = parseMode(`+l${ch.arg}`);
    if (limit === null || !("limit" in limit) || limit.limit === null) {
      c.numeric(ctx, N.ERR_INVALIDMODEPARAM, channel, "l", ch.arg || "*", `the limit is a number of members from 1 to ${MAX_ROOM_LIMIT}`);
      return next();
    }
    action = "mode";
    target = `+l${limit.limit}`;
    shown = String(limit.limit);
  } else if (ch.mode === "o") {
    if (!f.members.has(nameKey(ch.arg!))) {
      // IRC gives operator status to members only: 441, or 401 for a nick no one holds (whois tells).
      const nick = ch.arg!;
      c.call(ctx, (tag, token) => ({ verb: "whois", tag, token, userName: nick }), (r) => {
        if (r.verb === "ok" && r.kind === "whois" && r.idle !== null) c.numeric(ctx, N.ERR_USERNOTINCHANNEL, nick, channel, "They aren't on that channel");
        else c.numeric(ctx, N.ERR_NOSUCHNICK, nick, "No such nick/channel");
        next();
      });
      return;
    }
    action = ch.sign === "+" ? "op" : "deop";
    target = ch.arg!;
    shown = target;
  } else {
    const name = banName(ch.arg!);
    if (name === null) {
      c.numeric(ctx, N.ERR_INVALIDMODEPARAM, channel, "b", ch.arg || "*", "DistChat bans user names: give a nick, or nick!*@*");
      return next();
    }
    action = ch.sign === "+" ? "ban" : "unban";
    target = name;
    shown = banMask(name);
  }
  const me = c.state.nick ?? "*";
  const notice = action === "mode" ? `\u0001mode ${target}` : `\u0001${action} ${target}`;
  expect(f, me, notice);
  c.call(ctx, (tag, token) => ({ verb: "mod", tag, token, groupName: f.room, action, target, text: "" }), (r) => {
    if (r.verb === "ok") {
      const params = [channelOfRoom(f.room), `${ch.sign}${ch.mode}`];
      if (shown !== null) params.push(shown);
      c.send(ctx, { tags: {}, source: c.me(), command: "MODE", params });
      if (action === "ban") f.members.delete(nameKey(target));
    } else {
      unexpect(f, me, notice);
      if (r.verb === "error") refuse(c, ctx, "MODE", channel, r);
    }
    next();
  });
}

function showModes(c: Core, ctx: Ctx, room: string, channel: string): void {
  c.call(ctx, (tag, token) => ({ verb: "room", tag, token, groupName: room }), (r) => {
    if (r.verb === "error") return refuse(c, ctx, "MODE", channel, r);
    if (r.verb !== "ok" || r.kind !== "room") return;
    const limit = /l([0-9]+)/.exec(r.mode);
    const flags = `+${r.mode.includes("i") ? "i" : ""}n${r.mode.includes("s") ? "s" : ""}t${limit === null ? "" : "l"}`;
    c.numeric(ctx, N.RPL_CHANNELMODEIS, channelOfRoom(r.groupName), ...(limit === null ? [flags] : [flags, limit[1]]));
  });
}

function showBans(c: Core, ctx: Ctx, room: string, channel: string): void {
  c.call(ctx, (tag, token) => ({ verb: "room", tag, token, groupName: room }), (r) => {
    if (r.verb === "error") return refuse(c, ctx, "MODE", channel, r);
    if (r.verb !== "ok" || r.kind !== "room") return;
    for (const role of r.roles) if (role.startsWith("!")) c.numeric(ctx, N.RPL_BANLIST, channelOfRoom(r.groupName), banMask(role.slice(1)));
    c.numeric(ctx, N.RPL_ENDOFBANLIST, channelOfRoom(r.groupName), "End of channel ban list");
  });
}

function mode(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (m.params.length < 1) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "MODE", "Not enough parameters");
  if (isChannel(m.params[0])) return channelMode(c, m, ctx);
  userMode(c, m, ctx);
}

export const MODE_HANDLERS: Record<string, Handler> = { MODE: mode };
