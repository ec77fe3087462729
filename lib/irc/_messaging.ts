/**
 * PRIVMSG, NOTICE and TAGMSG (private to lib/irc; RFC 2812 §3.3, IRCv3
 * echo-message and message-tags). A message to `#room` is an `add` to the
 * room; to a nick, an `add` to the direct conversation `@nick`. The echo
 * (echo-message) carries the DistChat msgID as `msgid`. A NOTICE is a
 * notice message, `\u0001notice TEXT` (docs/PROTOCOL.md "Notices"): other IRC
 * users receive it as a NOTICE, terminal and web users as "-nick- TEXT"; of client-only tags `+draft/reply` makes the
 * message a DistChat reply, the others reach only the sender's echo; of CTCP
 * only ACTION (`/me`) has a DistChat form. TAGMSG is lib/irc/_acts.ts.
 */
import type { MsgId, Reply } from "../wire/messages.ts";
import type { Core, Ctx, Follow, Handler, PendingEcho } from "./_core.ts";
import { N } from "./numerics.ts";
import { MAX_MSG_TARGETS } from "./isupport.ts";
import { channelOfRoom, isChannel, isNick, nameKey } from "./names.ts";
import { expect, sendEcho, unexpect } from "./_deliver.ts";
import { distchatText, msgidTag, parseMsgid } from "./render.ts";
import { refuse, roomOrRefuse } from "./_channels.ts";
import { followDm } from "./_dms.ts";
import { type IrcMessage, MAX_LINE_BYTES } from "./message.ts";
import { utf8Length } from "../wire/utf8.ts";

function privmsg(c: Core, m: IrcMessage, ctx: Ctx): void {
  const notice = m.command === "NOTICE";
  if (m.params.length < 1 || m.params[0] === "") {
    if (!notice) c.numeric(ctx, N.ERR_NORECIPIENT, `No recipient given (${m.command})`);
    return;
  }
  if (m.params.length < 2 || m.params[1] === "") {
    if (!notice) c.numeric(ctx, N.ERR_NOTEXTTOSEND, "No text to send");
    return;
  }
  const targets = m.params[0].split(",").filter((t) => t !== "");
  if (targets.length > MAX_MSG_TARGETS) {
    if (!notice) c.numeric(ctx, N.ERR_TOOMANYTARGETS, m.params[0], `Too many targets: at most ${MAX_MSG_TARGETS}`);
    return;
  }
  const text = distchatText(m.params[1], notice);
  if (text === null) {
    // CTCP other than ACTION (VERSION, PING, …): DistChat refuses texts starting with U+0001 but "\u0001me ".
    if (!notice) c.numeric(ctx, N.ERR_CANNOTSENDTOCHAN, targets[0], "CTCP other than ACTION cannot be sent on DistChat");
    return;
  }
  const clientTags = Object.fromEntries(Object.entries(m.tags).filter(([k]) => k.startsWith("+")));
  for (const target of targets) {
    // A PRIVMSG that would not fit its recipients' 512-byte line is refused (417) rather than split in two.
    if (!notice && utf8Length(`:${c.me()} PRIVMSG ${target} :${m.params[1]}\r\n`) > MAX_LINE_BYTES) {
      c.numeric(ctx, N.ERR_INPUTTOOLONG, `Input line was too long: as relayed (with your source) it would pass ${MAX_LINE_BYTES} bytes`);
      continue;
    }
    if (isChannel(target)) toChannel(c, ctx, m, target, text, clientTags);
    else toNick(c, ctx, m, target, text, clientTags);
  }
}

/**
 * The echo (echo-message) of a message DistChat accepted as `msgId`: from
 * the stream of `f` (which has the stored time), at once when the stream
 * already brought it back or the target is not followed.
 */
function echo(c: Core, ctx: Ctx, m: IrcMessage, f: Follow | undefined, target: string, text: string, msgId: MsgId, clientTags: Record<string, string>): void {
  if (!c.state.caps.has("echo-message")) return;
  const id = msgidTag(msgId);
  const pending: PendingEcho = { ctx, command: m.command, target, direct: !isChannel(target), text, clientTags, since: c.now, release: () => {} };
  const seen = f?.ownSeen.get(id);
  if (f === undefined || seen !== undefined) return sendEcho(c, pending, seen ?? { msgId, userName: c.state.nick ?? "*", sentAt: c.now, msg: text });
  pending.release = c.hold(ctx);
  f.echoes.set(id, pending);
}

/**
 * `add`s `text` to `room`, replying to the message `+draft/reply` names if any; a reply to a message
 * DistChat does not list there (`no-message`) is sent again as a plain message.
 */
function add(c: Core, ctx: Ctx, room: string, text: string, clientTags: Record<string, string>, then: (r: Reply) => void): void {
  const re = parseMsgid(clientTags["+draft/reply"] ?? "") ?? undefined;
  c.call(ctx, (tag, token) => ({ verb: "add", tag, token, msg: text, groupName: room, ...(re ? { re } : {}) }), (r) => {
    if (re === undefined || r.verb !== "error" || r.code !== "no-message") return then(r);
    c.call(ctx, (tag, token) => ({ verb: "add", tag, token, msg: text, groupName: room }), then);
  });
}

function toChannel(c: Core, ctx: Ctx, m: IrcMessage, channel: string, text: string, clientTags: Record<string, string>): void {
  const room = roomOrRefuse(c, ctx, channel);
  if (room === null) return;
  const f = c.state.channels.get(nameKey(room));
  const me = c.state.nick ?? "*";
  if (f) expect(f, me, text);
  add(c, ctx, f?.room ?? room, text, clientTags, (r) => {
    if (r.verb === "ok" && r.kind === "add") return echo(c, ctx, m, f, channelOfRoom(r.groupName), text, r.msgId, clientTags);
    if (f) unexpect(f, me, text);
    if (r.verb === "error" && m.command !== "NOTICE") refuse(c, ctx, m.command, channel, r);
  });
}

function toNick(c: Core, ctx: Ctx, m: IrcMessage, nick: string, text: string, clientTags: Record<string, string>): void {
  const notice = m.command === "NOTICE";
  if (!isNick(nick)) {
    if (!notice) c.numeric(ctx, N.ERR_NOSUCHNICK, nick, "No such nick/channel");
    return;
  }
  const me = c.state.nick ?? "*";
  // To oneself: the conversation with oneself (stored, in CHATHISTORY), whose stream delivers it back as IRC does.
  const self = nameKey(nick) === nameKey(me);
  const address = "@" + nick;
  const f = c.state.dms.get(nameKey(address));
  if (f && !self) expect(f, me, text);
  add(c, ctx, address, text, clientTags, (r) => {
    if (r.verb === "ok" && r.kind === "add") {
      // Follow the conversation (answers come in its stream) from the message before this one, so this one
      // comes back in it: the echo gets the stored time, and without echo-message it is skipped as expected.
      const key = nameKey(address);
      const before = c.state.dmLast.get(key);
      c.state.dmLast.set(key, msgidTag(r.msgId));
      const follow = followDm(c, null, address, before === undefined ? null : before);
      if (follow.created && !self) expect(follow.f, me, text);
      echo(c, ctx, m, follow.f, nick, text, r.msgId, clientTags);
      const away = notice ? null : c.config.localUser?.(nick)?.away ?? null;
      if (away !== null) c.numeric(ctx, N.RPL_AWAY, nick, away);
      return c.sentDm(nick); // the listener may nudge the recipient's connections here (checkDms)
    }
    if (f && !self) unexpect(f, me, text);
    if (r.verb !== "error" || notice) return;
    if (r.code === "no-user" || r.code === "bad-request") return c.numeric(ctx, N.ERR_NOSUCHNICK, nick, "No such nick/channel");
    c.numeric(ctx, N.ERR_UNKNOWNERROR, m.command, `${nick}: ${r.message}`);
  });
}

export const MESSAGE_HANDLERS: Record<string, Handler> = { PRIVMSG: privmsg, NOTICE: privmsg };
