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
 * | `+k key`/`-k *` | `mod … mode +kKEY`/`-k` (696 for a key DistChat refuses: lib/rules/moderation.ts `ROOM_KEY`) |
 * | `+m`/`-m`, `+v`/`-v nick` | `mod … mode +m`/`-m`, `+vNICK`/`-vNICK` (moderated; voice) |
 * | `+t`/`-t`, `+n`/`-n` | `mod … mode +t`/`-t`, `+n`/`-n` (both on by default) |
 * | `b` alone | the ban list (`room` roles `!name`) |
 *
 * Other modes have no DistChat meaning: ERR_UNKNOWNMODE.
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
import { channelModes, createdAt } from "./channel_modes.ts";

type Change = { sign: "+" | "-"; mode: string; arg: string | null };

/** Splits "+ob-i" with its arguments into changes; modes `o`, `v`, `b`, `k` and `+l` take one. */
function parseChanges(modes: string, args: string[]): Change[] {
  const out: Change[] = [];
  let sign: "+" | "-" = "+";
  let next = 0;
  for (const ch of modes) {
    if (ch === "+" || ch === "-") {
      sign = ch;
      continue;
    }
    const takesArg = "ovbk".includes(ch) || (ch === "l" && sign === "+");
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
    if (!CHANNEL_MODES.includes(ch.mode)) {
      c.numeric(ctx, N.ERR_UNKNOWNMODE, ch.mode, "is unknown mode char to me");
      continue;
    }
    if ((ch.mode === "o" || ch.mode === "v" || (ch.mode === "l" && ch.sign === "+")) && ch.arg === null) continue; // RFC: ignored without its argument
    if (ch.mode === "k" && ch.sign === "+" && ch.arg === null) {
      c.numeric(ctx, N.ERR_INVALIDMODEPARAM, channel, "k", "*", "give the key");
      continue;
    }
    if (f === undefined) return notOnChannel(c, ctx, channel, room);
    if (queue.length < MAX_MODES) queue.push(ch);
  }
  if (f !== undefined) applyChanges(c, ctx, f, channel, queue);
}

/** Applies changes one after another, then sends one MODE line of those DistChat accepted (`done`). */
function applyChanges(c: Core, ctx: Ctx, f: Follow, channel: string, queue: Change[], done: Change[] = []): void {
  const ch = queue.shift();
  if (ch === undefined) return sendApplied(c, ctx, f, done);
  const next = () => applyChanges(c, ctx, f, channel, queue, done);
  let action: ModAction, target: string, shown: string | null;
  if (ch.mode === "o" || ch.mode === "v") {
    if (!f.members.has(nameKey(ch.arg!))) return notMember(c, ctx, ch.arg!, channel, next);
    action = ch.mode === "v" ? "mode" : ch.sign === "+" ? "op" : "deop";
    target = ch.mode === "v" ? `${ch.sign}v${ch.arg!}` : ch.arg!;
    shown = ch.arg!;
  } else if (ch.mode === "b") {
    const name = banName(ch.arg!);
    if (name === null) {
      c.numeric(ctx, N.ERR_INVALIDMODEPARAM, channel, "b", ch.arg || "*", "DistChat bans user names: give a nick, or nick!*@*");
      return next();
    }
    action = ch.sign === "+" ? "ban" : "unban";
    target = name;
    shown = banMask(name);
  } else {
    const m = modeTarget(ch);
    if ("invalid" in m) {
      c.numeric(ctx, N.ERR_INVALIDMODEPARAM, channel, ch.mode, ch.mode === "k" ? "*" : ch.arg || "*", m.invalid);
      return next();
    }
    action = "mode";
    ({ target, shown } = m);
  }
  const me = c.state.nick ?? "*";
  const notice = action === "mode" ? `\u0001mode ${target}` : `\u0001${action} ${target}`;
  expect(f, me, notice);
  c.call(ctx, (tag, token) => ({ verb: "mod", tag, token, groupName: f.room, action, target, text: "" }), (r) => {
    if (r.verb === "ok") {
      done.push({ sign: ch.sign, mode: ch.mode, arg: shown });
      if (action === "ban") f.members.delete(nameKey(target));
    } else {
      unexpect(f, me, notice);
      if (r.verb === "error") refuse(c, ctx, "MODE", channel, r);
    }
    next();
  });
}

/** One MODE line of the changes applied ("+i-nt", then their arguments), if any. */
function sendApplied(c: Core, ctx: Ctx, f: Follow, done: Change[]): void {
  if (done.length === 0) return;
  let modes = "";
  let sign = "";
  for (const d of done) {
    if (d.sign !== sign) modes += sign = d.sign;
    modes += d.mode;
  }
  const args = done.flatMap((d) => (d.arg === null ? [] : [d.arg]));
  c.send(ctx, { tags: {}, source: c.me(), command: "MODE", params: [channelOfRoom(f.room), modes, ...args] });
}

/** The channel modes MODE sets (and `b` lists). */
const CHANNEL_MODES = ["o", "v", "b", "i", "s", "l", "k", "m", "t", "n"];

/** The `mod … mode` target of a change of i, s, l, k, m, t or n, and the argument its MODE line shows; or why it is invalid. */
function modeTarget(ch: Change): { target: string; shown: string | null } | { invalid: string } {
  if (ch.sign === "-") return { target: `-${ch.mode}`, shown: ch.mode === "k" ? "*" : null };
  if (ch.mode !== "l" && ch.mode !== "k") return { target: `+${ch.mode}`, shown: null };
  const target = `+${ch.mode}${ch.arg}`;
  if (parseMode(target) === null) {
    return { invalid: ch.mode === "l" ? `the limit is a number of members from 1 to ${MAX_ROOM_LIMIT}` : "a key is 1 to 23 printable ASCII characters, no space or comma" };
  }
  return { target, shown: ch.mode === "l" ? String(Number(ch.arg)) : ch.arg };
}

/** o or v for a nick not in the channel: 441, or 401 for a nick no one holds (whois tells); then `next`. */
function notMember(c: Core, ctx: Ctx, nick: string, channel: string, next: () => void): void {
  c.call(ctx, (tag, token) => ({ verb: "whois", tag, token, userName: nick }), (r) => {
    if (r.verb === "ok" && r.kind === "whois" && r.idle !== null) c.numeric(ctx, N.ERR_USERNOTINCHANNEL, nick, channel, "They aren't on that channel");
    else c.numeric(ctx, N.ERR_NOSUCHNICK, nick, "No such nick/channel");
    next();
  });
}

function showModes(c: Core, ctx: Ctx, room: string, channel: string): void {
  c.call(ctx, (tag, token) => ({ verb: "room", tag, token, groupName: room }), (r) => {
    if (r.verb === "error") return refuse(c, ctx, "MODE", channel, r);
    if (r.verb !== "ok" || r.kind !== "room") return;
    const { flags, args } = channelModes(r.mode, r.roles);
    c.numeric(ctx, N.RPL_CHANNELMODEIS, channelOfRoom(r.groupName), flags, ...args);
    const created = createdAt(r.roles);
    if (created !== null) c.numeric(ctx, N.RPL_CREATIONTIME, channelOfRoom(r.groupName), String(Math.floor(created / 1000)));
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
