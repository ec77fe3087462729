/**
 * Issue 26's message actions over IRC (private to lib/irc; docs/IRC.md
 * "Message actions"). From the stream: a deletion is an IRCv3
 * `draft/message-redaction` REDACT; an edit, a NOTICE from its author with
 * the new text (`[edited] …`) replying (`+draft/reply`) to the message; a
 * reaction, a TAGMSG with `+draft/react` (`+draft/unreact` when a count
 * fell) and `+draft/reply`. From the client: REDACT → `act del`, TAGMSG
 * with `+draft/react` → `act react`, TAGMSG with `+typing` → `typing`
 * (PRIVMSG's `+draft/reply` is lib/irc/_messaging.ts).
 */
import type { MsgId, PollEntry, Reply } from "../wire/messages.ts";
import { changeOf, type MessageChange } from "../client/message_acts.ts";
import type { Core, Ctx, Follow, Handler } from "./_core.ts";
import { hostmask, isChannel, isNick, nameKey } from "./names.ts";
import { messageLines, msgidTag, parseMsgid, timeTag } from "./render.ts";
import { N } from "./numerics.ts";
import type { IrcMessage } from "./message.ts";
import { roomOrRefuse } from "./_channels.ts";

/** Messages whose reactions a follow remembers, to tell which one a `react` notice changed. */
const MAX_REACTIONS = 256;

/** Notes the reactions an entry of `f` lists (a later `react` notice is told as the difference). */
export function rememberReactions(f: Follow, e: PollEntry): void {
  if (e.reactions === undefined) return;
  f.reactions.delete(msgidTag(e.msgId));
  f.reactions.set(msgidTag(e.msgId), new Map(e.reactions));
  if (f.reactions.size > MAX_REACTIONS) f.reactions.delete(f.reactions.keys().next().value as string);
}

/** The IRC lines of an act notice of `f` to `target` (a channel, or this user's nick in a conversation), or null when `e` is none. */
export function actLines(c: Core, f: Follow, e: PollEntry, target: string, direct: boolean): IrcMessage[] | null {
  const change = changeOf(e);
  if (change === null) return null;
  const id = msgidTag(change.target);
  const source = hostmask(change.by);
  const tags = { time: timeTag(e.sentAt), msgid: msgidTag(e.msgId) };
  switch (change.kind) {
    case "deleted":
      f.reactions.delete(id);
      return c.state.caps.has("draft/message-redaction") ? [{ tags, source, command: "REDACT", params: [target, id] }] : [];
    case "edited":
      return messageLines(target, source, { ...e, msg: change.text, re: change.target }, { command: "NOTICE", direct, prefix: "[edited] " });
    case "reactions":
      return reactionLines(f, change, target, source, tags);
  }
}

function reactionLines(f: Follow, change: MessageChange & { kind: "reactions" }, target: string, source: string, tags: Record<string, string>): IrcMessage[] {
  const id = msgidTag(change.target);
  const before = f.reactions.get(id) ?? new Map<string, number>();
  const after = new Map(change.reactions);
  f.reactions.delete(id);
  f.reactions.set(id, after);
  if (f.reactions.size > MAX_REACTIONS) f.reactions.delete(f.reactions.keys().next().value as string);
  const out: IrcMessage[] = [];
  for (const r of new Set([...before.keys(), ...after.keys()])) {
    const [was, now] = [before.get(r) ?? 0, after.get(r) ?? 0];
    if (now === was) continue;
    out.push({ tags: { ...tags, [now > was ? "+draft/react" : "+draft/unreact"]: r, "+draft/reply": id }, source, command: "TAGMSG", params: [target] });
  }
  return out;
}

/** The DistChat room (or "@nick") of a REDACT or TAGMSG target, or null (refused into `ctx`). */
function roomOf(c: Core, ctx: Ctx, target: string): string | null {
  if (isChannel(target)) return roomOrRefuse(c, ctx, target);
  if (isNick(target)) return "@" + target;
  c.numeric(ctx, N.ERR_NOSUCHNICK, target, "No such nick/channel");
  return null;
}

/** REDACT target msgid [:reason] (draft/message-redaction): `act del` (the reason is not kept). */
function redact(c: Core, m: IrcMessage, ctx: Ctx): void {
  if (m.params.length < 2) return c.numeric(ctx, N.ERR_NEEDMOREPARAMS, "REDACT", "Not enough parameters");
  const [target, idText] = m.params;
  const room = isChannel(target) ? c.state.channels.get(nameKey(target.slice(1)))?.room ?? null : isNick(target) ? "@" + target : null;
  if (room === null) return c.fail(ctx, "REDACT", "INVALID_TARGET", target, "Not a channel you are in, nor a nick");
  const id = parseMsgid(idText);
  if (id === null) return c.fail(ctx, "REDACT", "UNKNOWN_MSGID", target, idText, "No such message");
  c.call(ctx, (tag, token) => ({ verb: "act", tag, token, groupName: room, action: "del", target: id, text: "" }), (r) => {
    if (r.verb === "ok") return;
    actRefused(c, ctx, "REDACT", target, idText, r);
  });
}

function actRefused(c: Core, ctx: Ctx, command: string, target: string, idText: string, r: Reply): void {
  if (r.verb !== "error") return;
  if (r.code === "not-allowed") return c.fail(ctx, command, "REDACT_FORBIDDEN", target, idText, r.message);
  if (r.code === "no-message") return c.fail(ctx, command, "UNKNOWN_MSGID", target, idText, r.message);
  c.fail(ctx, command, "INVALID_TARGET", target, r.message);
}

/** `+typing` values (IRCv3 typing): active is typing; paused and done are idle. */
const TYPING: Record<string, "typing" | "idle"> = { active: "typing", paused: "idle", done: "idle" };

/**
 * TAGMSG target: `+typing` says the session's typing state in the room; `+draft/react` with
 * `+draft/reply` toggles a reaction (`act react`). Other client-only tags go nowhere. The sender's
 * echo (echo-message) is sent at once.
 */
function tagmsg(c: Core, m: IrcMessage, ctx: Ctx): void {
  if (m.params.length < 1 || m.params[0] === "") return c.numeric(ctx, N.ERR_NORECIPIENT, "No recipient given (TAGMSG)");
  const target = m.params[0];
  const room = roomOf(c, ctx, target);
  if (room === null) return;
  const typing = TYPING[m.tags["+typing"] ?? ""];
  if (typing !== undefined) c.call(null, (tag, token) => ({ verb: "typing", tag, token, groupName: room, state: typing, text: "" }), () => {});
  const reaction = m.tags["+draft/react"];
  const to: MsgId | null = parseMsgid(m.tags["+draft/reply"] ?? "");
  if (reaction !== undefined && to !== null) {
    c.call(ctx, (tag, token) => ({ verb: "act", tag, token, groupName: room, action: "react", target: to, text: reaction }), (r) => {
      if (r.verb === "error") actRefused(c, ctx, "TAGMSG", target, msgidTag(to), r);
    });
  }
  if (c.state.caps.has("echo-message")) {
    const clientTags = Object.fromEntries(Object.entries(m.tags).filter(([k]) => k.startsWith("+")));
    c.send(ctx, { tags: { ...clientTags, time: timeTag(c.now) }, source: c.me(), command: "TAGMSG", params: [target] });
  }
}

export const ACT_HANDLERS: Record<string, Handler> = { REDACT: redact, TAGMSG: tagmsg };
