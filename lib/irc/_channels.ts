/**
 * Channels (private to lib/irc): JOIN, PART, TOPIC, NAMES, KICK and INVITE
 * over DistChat rooms (`connect`/`open`, `leave`, `room`, `who`, `mod`;
 * docs/PROTOCOL.md "Moderation"; LIST is lib/irc/_list.ts). A channel's events reach
 * the client from the room's stream of notices (lib/irc/_deliver.ts); the
 * lines of this connection's own actions are sent when DistChat accepts
 * them, and skipped when they come back in the stream.
 */
import type { ErrorReply } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { MAX_TOPIC_BYTES } from "../wire/messages.ts";
import { utf8Clip } from "../wire/utf8.ts";
import { type Core, type Ctx, type Follow, fromServer, type Handler, newFollow } from "./_core.ts";
import { N } from "./numerics.ts";
import { MAX_CHANNELS } from "./isupport.ts";
import { channelOfRoom, channelProblem, hostmask, nameKey, roomOfChannel } from "./names.ts";
import { expect, followFromHistory, followReplaying, unexpect } from "./_deliver.ts";
import { pageNames } from "./_queries.ts";
import { markreadOnJoin } from "./_markread.ts";
import { memberPrefixes, namesPrefix } from "./channel_modes.ts";

/** Entries read when joining, to find this session's own join notice in the stream. */
const JOIN_PAGE = 20;
/** Entries read when a reconnected account joins, to replay what it missed (docs/IRC.md "Failover"). */
const REPLAY_PAGE = 200;

/** The numeric for a DistChat refusal of `command` on `channel`. */
export function refuse(c: Core, ctx: Ctx, command: string, channel: string, e: ErrorReply): void {
  if ((e.code === "not-member" || e.code === "not-allowed") && (command === "PRIVMSG" || command === "NOTICE")) {
    return c.numeric(ctx, N.ERR_CANNOTSENDTOCHAN, channel, `Cannot send to channel: ${e.message}`);
  }
  if (e.code === "not-member" && /key \(\+k\)/.test(e.message)) return c.numeric(ctx, N.ERR_BADCHANNELKEY, channel, `Cannot join channel (+k): ${e.message}`);
  if (e.code === "not-member" && /banned/.test(e.message)) return c.numeric(ctx, N.ERR_BANNEDFROMCHAN, channel, `Cannot join channel (+b): ${e.message}`);
  if (e.code === "not-member" && / is full /.test(e.message)) return c.numeric(ctx, N.ERR_CHANNELISFULL, channel, `Cannot join channel (+l): ${e.message}`);
  if (e.code === "not-member" && /invite-only/.test(e.message)) return c.numeric(ctx, N.ERR_INVITEONLYCHAN, channel, `Cannot join channel (+i): ${e.message}`);
  if (e.code === "not-member") return c.numeric(ctx, N.ERR_NOTONCHANNEL, channel, "You're not on that channel");
  if (e.code === "not-allowed") return c.numeric(ctx, N.ERR_CHANOPRIVSNEEDED, channel, `You're not channel operator: ${e.message}`);
  if (e.code === "no-room") return c.numeric(ctx, N.ERR_NOSUCHCHANNEL, channel, "No such channel");
  if (e.code === "bad-name") return c.numeric(ctx, N.ERR_BADCHANNAME, channel, e.message);
  if (e.code === "no-user") return c.numeric(ctx, N.ERR_NOSUCHNICK, channel, "No such nick/channel");
  c.numeric(ctx, N.ERR_UNKNOWNERROR, command, `${channel}: ${e.message}`);
}

/** The follow of a channel this connection is in, or null after answering why not (479, 403 or 442). */
export function joinedOrRefuse(c: Core, ctx: Ctx, channel: string): Follow | null {
  const room = roomOrRefuse(c, ctx, channel);
  if (room === null) return null;
  const f = c.state.channels.get(nameKey(room));
  if (f === undefined) notOnChannel(c, ctx, channel, room);
  return f ?? null;
}

/** 442 for a channel this connection is not in, or 403 when its room does not exist (`room` tells). */
export function notOnChannel(c: Core, ctx: Ctx, channel: string, room: string): void {
  c.call(ctx, (tag, token) => ({ verb: "room", tag, token, groupName: room }), (r) => {
    if (r.verb === "error" && r.code === "no-room") return c.numeric(ctx, N.ERR_NOSUCHCHANNEL, channel, "No such channel");
    c.numeric(ctx, N.ERR_NOTONCHANNEL, channel, "You're not on that channel");
  });
}

/** The room of `channel`, or null after answering why there is none. */
export function roomOrRefuse(c: Core, ctx: Ctx, channel: string): string | null {
  const room = roomOfChannel(channel);
  if (room === null) {
    const problem = channelProblem(channel) ?? "no such channel";
    c.numeric(ctx, channel.startsWith("#") ? N.ERR_BADCHANNAME : N.ERR_NOSUCHCHANNEL, channel, problem);
  }
  return room;
}

function join(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (m.params.length < 1) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "JOIN", "Not enough parameters");
  if (m.params[0] === "0") {
    for (const f of [...c.state.channels.values()]) part(c, { params: [channelOfRoom(f.room)] }, ctx);
    return;
  }
  const keys = (m.params[1] ?? "").split(",");
  m.params[0].split(",").forEach((channel, i) => {
    const room = channel === "" ? null : roomOrRefuse(c, ctx, channel);
    if (room === null || c.state.channels.has(nameKey(room))) return;
    if (c.state.channels.size >= MAX_CHANNELS) return c.numeric(ctx, "405", channel, `You have joined too many channels (${MAX_CHANNELS})`);
    enter(c, ctx, channel, room, keys[i] || undefined, 0);
  });
}

/** `connect` (with the key given, if any), or `open` when the room does not exist (and `connect` again if someone made it meanwhile). */
function enter(c: Core, ctx: Ctx, channel: string, room: string, key: string | undefined, attempt: number): void {
  c.call(ctx, (tag, token) => (key === undefined ? { verb: "connect", tag, token, groupName: room } : { verb: "connect", tag, token, groupName: room, key }), (r) => {
    if (r.verb === "ok" && r.kind === "connect") return joined(c, ctx, r.groupName);
    if (r.verb !== "error") return;
    if (r.code !== "no-room" || attempt > 1) return refuse(c, ctx, "JOIN", channel, r);
    c.call(ctx, (tag, token) => ({ verb: "open", tag, token, groupName: room }), (o) => {
      if (o.verb === "ok" && o.kind === "open") return joined(c, ctx, o.groupName);
      if (o.verb === "error" && o.code === "room-exists") return enter(c, ctx, channel, room, key, attempt + 1);
      if (o.verb === "error") refuse(c, ctx, "JOIN", channel, o);
    });
  });
}

/** A member now: the JOIN line, the topic, the names, then the room's stream from this session's join on. */
function joined(c: Core, ctx: Ctx, room: string): void {
  const key = nameKey(room);
  if (c.state.channels.has(key)) return;
  const f = newFollow(room, new Map());
  c.state.channels.set(key, f);
  const channel = channelOfRoom(room);
  const me = c.state.nick ?? "*";
  const params = c.state.caps.has("extended-join") ? [channel, c.state.account ?? "*", c.state.realname] : [channel];
  c.send(ctx, { tags: {}, source: c.me(), command: "JOIN", params });
  const replayFrom = readPosition(c, key);
  sendTopic(c, ctx, room, false, () => markreadOnJoin(c, ctx, channel, room, () => {
    sendNames(c, ctx, room, () => {
      if (replayFrom !== null) return followReplaying(c, ctx, f, REPLAY_PAGE, replayFrom);
      // Show what came after this session's own join notice (nothing, usually), then follow the stream.
      followFromHistory(c, ctx, f, JOIN_PAGE, (entries) => {
        for (let i = entries.length - 1; i >= 0; i--) {
          if (nameKey(entries[i].userName) === nameKey(me) && entries[i].msg === "\u0001join") return i;
        }
        return entries.length;
      });
    });
  }));
}

/**
 * Where replaying channel `key` starts, or null: only for a connection logged in to an account, once per
 * channel, and only when the listener knows where the account's previous connection left off.
 */
function readPosition(c: Core, key: string): Vector | null {
  const s = c.state;
  if (s.account === null || s.token === null || s.userName === null || s.replayed.has(key)) return null;
  s.replayed.add(key);
  if (s.readPosition === undefined) s.readPosition = c.config.readPosition?.(s.userName, s.token) ?? null;
  return s.readPosition;
}

function part(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (m.params.length < 1) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "PART", "Not enough parameters");
  const reason = utf8Clip(m.params[1] ?? "", MAX_TOPIC_BYTES); // as KICK's reason
  for (const channel of m.params[0].split(",").filter((x) => x !== "")) {
    const room = roomOrRefuse(c, ctx, channel);
    if (room === null) continue;
    const f = c.state.channels.get(nameKey(room));
    if (f === undefined) {
      c.numeric(ctx, N.ERR_NOTONCHANNEL, channel, "You're not on that channel");
      continue;
    }
    c.state.channels.delete(nameKey(room)); // its poll's answer is dropped from now on
    c.call(ctx, (tag, token) => (reason === "" ? { verb: "leave", tag, token, groupName: f.room } : { verb: "leave", tag, token, groupName: f.room, reason }), () => {
      c.send(ctx, { tags: {}, source: c.me(), command: "PART", params: reason ? [channelOfRoom(f.room), reason] : [channelOfRoom(f.room)] });
    });
  }
}

/** RPL_TOPIC and RPL_TOPICTIME, or RPL_NOTOPIC when `always` (a TOPIC query); then `then`. */
function sendTopic(c: Core, ctx: Ctx, room: string, always: boolean, then: () => void = () => {}): void {
  c.call(ctx, (tag, token) => ({ verb: "room", tag, token, groupName: room }), (r) => {
    const channel = channelOfRoom(room);
    if (r.verb === "ok" && r.kind === "room") {
      if (r.topic !== "") {
        c.numeric(ctx, N.RPL_TOPIC, channel, r.topic);
        c.numeric(ctx, N.RPL_TOPICTIME, channel, r.topicBy, String(Math.floor(r.topicAt / 1000)));
      } else if (always) c.numeric(ctx, N.RPL_NOTOPIC, channel, "No topic is set");
    } else if (r.verb === "error" && always) refuse(c, ctx, "TOPIC", channel, r);
    then();
  });
}

function topic(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (m.params.length < 1) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "TOPIC", "Not enough parameters");
  const channel = m.params[0];
  if (m.params.length < 2) {
    const room = roomOrRefuse(c, ctx, channel);
    return room === null ? undefined : sendTopic(c, ctx, room, true);
  }
  const f = joinedOrRefuse(c, ctx, channel);
  if (f === null) return;
  const text = utf8Clip(m.params[1], MAX_TOPIC_BYTES); // TOPICLEN, as IRC servers cut
  const notice = `\u0001topic - ${text}`;
  expect(f, c.state.nick ?? "*", notice);
  c.call(ctx, (tag, token) => ({ verb: "mod", tag, token, groupName: f.room, action: "topic", target: "-", text }), (r) => {
    if (r.verb === "ok") return c.send(ctx, { tags: {}, source: c.me(), command: "TOPIC", params: [channelOfRoom(f.room), text] });
    unexpect(f, c.state.nick ?? "*", notice);
    if (r.verb === "error") refuse(c, ctx, "TOPIC", channel, r);
  });
}

/** RPL_NAMREPLY lines (as many names as fit each) and RPL_ENDOFNAMES; remembers the members of a joined channel. */
function sendNames(c: Core, ctx: Ctx, room: string, then: () => void = () => {}): void {
  const channel = channelOfRoom(room);
  c.call(ctx, (tag, token) => ({ verb: "room", tag, token, groupName: room }), (info) => {
    const prefixes = info.verb === "ok" && info.kind === "room" ? memberPrefixes(info.roles) : new Map<string, string>();
    const multi = c.state.caps.has("multi-prefix");
    const symbol = info.verb === "ok" && info.kind === "room" && info.mode.includes("s") ? "@" : "="; // RFC 2812 §3.2.5: "@" for a secret channel
    pageNames(c, ctx, room, (r) => {
      if ("names" in r) {
        const f = c.state.channels.get(nameKey(room));
        if (f) f.members = new Map(r.names.map((n) => [nameKey(n), n]));
        const full = c.state.caps.has("userhost-in-names");
        const shown = r.names.map((n) => namesPrefix(prefixes.get(nameKey(n)) ?? "", multi) + (full ? hostmask(n) : n));
        for (let i = 0; i < shown.length; i += 20) c.numeric(ctx, N.RPL_NAMREPLY, symbol, channel, shown.slice(i, i + 20).join(" "));
      }
      c.numeric(ctx, N.RPL_ENDOFNAMES, channel, "End of /NAMES list");
      then();
    });
  });
}

function names(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const channel = (m.params[0] ?? "").split(",")[0];
  const room = roomOfChannel(channel);
  if (room === null) return c.numeric(ctx, N.RPL_ENDOFNAMES, channel || "*", "End of /NAMES list");
  sendNames(c, ctx, room);
}

function kick(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (m.params.length < 2) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "KICK", "Not enough parameters");
  const [channel, targets] = m.params;
  const f = joinedOrRefuse(c, ctx, channel);
  if (f === null) return;
  const reason = utf8Clip(m.params[2] ?? "", MAX_TOPIC_BYTES);
  for (const target of targets.split(",").filter((t) => t !== "")) {
    if (!f.members.has(nameKey(target))) {
      c.numeric(ctx, N.ERR_USERNOTINCHANNEL, target, channelOfRoom(f.room), "They aren't on that channel");
      continue;
    }
    const notice = `\u0001kick ${target}${reason ? " " + reason : ""}`;
    expect(f, c.state.nick ?? "*", notice);
    c.call(ctx, (tag, token) => ({ verb: "mod", tag, token, groupName: f.room, action: "kick", target, text: reason }), (r) => {
      if (r.verb === "ok") {
        f.members.delete(nameKey(target));
        return c.send(ctx, { tags: {}, source: c.me(), command: "KICK", params: [channelOfRoom(f.room), target, reason || (c.state.nick ?? "")] });
      }
      unexpect(f, c.state.nick ?? "*", notice);
      if (r.verb === "error") refuse(c, ctx, "KICK", channel, r);
    });
  }
}

function invite(c: Core, m: { params: string[] }, ctx: Ctx): void {
  if (m.params.length < 2) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "INVITE", "Not enough parameters");
  const [nick, channel] = m.params;
  const f = joinedOrRefuse(c, ctx, channel);
  if (f === null) return;
  if (f.members.has(nameKey(nick))) return c.numeric(ctx, N.ERR_USERONCHANNEL, nick, channel, "is already on channel");
  c.call(ctx, (tag, token) => ({ verb: "whois", tag, token, userName: nick }), (w) => {
    if (w.verb !== "ok" || w.kind !== "whois") return c.numeric(ctx, N.ERR_NOSUCHNICK, nick, "No such nick/channel");
    c.call(ctx, (tag, token) => ({ verb: "mod", tag, token, groupName: f.room, action: "invite", target: w.userName, text: "" }), (r) => {
      if (r.verb === "error") return refuse(c, ctx, "INVITE", channel, r);
      c.numeric(ctx, N.RPL_INVITING, w.userName, channelOfRoom(f.room));
      // invite-notify: the inviter's own line here (the room's other members read the invite notice in its stream).
      if (c.state.caps.has("invite-notify")) c.send(ctx, { tags: {}, source: c.me(), command: "INVITE", params: [w.userName, channelOfRoom(f.room)] });
    });
  });
}

export const CHANNEL_HANDLERS: Record<string, Handler> = {
  JOIN: join,
  PART: part,
  TOPIC: topic,
  NAMES: names,
  KICK: kick,
  INVITE: invite,
};
