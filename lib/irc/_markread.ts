/**
 * IRCv3 `draft/read-marker` over DistChat's read markers (private to
 * lib/irc; docs/IRC.md "Read markers", docs/PROTOCOL.md "Read state").
 * DistChat keeps one marker per account (or unregistered session) per room
 * and direct conversation, at a *message*, replicated to every server and
 * only ever moving forward; IRC speaks of a *time*. The mapping:
 *
 * - `MARKREAD target timestamp=T` moves the marker (`act … read`) to the
 *   newest message of the target sent at or before T (none: the marker
 *   stays), then answers with the marker as it stands;
 * - a marker is told as its message's time (`timestamp=…`, the `time` tag
 *   that message carries), or `*` when there is none;
 * - `MARKREAD target` asks (`unread`), and so does every JOIN of a client
 *   with the capability (before RPL_ENDOFNAMES).
 *
 * A marker set moves this account's other connections on this listener at
 * once (they are told); connections on other servers read the replicated
 * marker at their next JOIN or MARKREAD (DistChat has no notice of a
 * marker that moved).
 */
import type { MsgId, PollEntry } from "../wire/messages.ts";
import { type Core, type Ctx, fromServer, type Handler } from "./_core.ts";
import type { IrcMessage } from "./message.ts";
import { isChannel, isNick, nameKey, roomOfChannel } from "./names.ts";
import { type HistoryQuery, parseRef, select } from "./history_select.ts";
import { msgidTag, timeTag } from "./render.ts";
import { scan } from "./_chathistory.ts";

const CAP = "draft/read-marker";

/** The DistChat room (or "@nick") of a MARKREAD target, or null. */
function roomOf(target: string): string | null {
  if (isChannel(target)) return roomOfChannel(target);
  return isNick(target) ? "@" + target : null;
}

/** MARKREAD target [timestamp=…]: asks for the marker, or moves it. */
function markread(c: Core, m: IrcMessage, ctx: Ctx): void {
  const fail = (code: string, ...rest: string[]) => c.fail(ctx, "MARKREAD", code, ...rest);
  if (m.params.length < 1 || m.params[0] === "") return fail("NEED_MORE_PARAMS", "Usage: MARKREAD <target> [timestamp=YYYY-MM-DDThh:mm:ss.sssZ]");
  const target = m.params[0];
  const room = roomOf(target);
  if (room === null) return fail("INVALID_TARGET", target, "Not a channel or a nick");
  if (m.params.length < 2) return tell(c, ctx, target, room, null, (line) => c.send(ctx, line));
  const ref = parseRef(m.params[1], false);
  if (ref === undefined || ref === null || !("time" in ref)) return fail("INVALID_PARAMS", target, m.params[1], "Give timestamp=YYYY-MM-DDThh:mm:ss.sssZ (UTC)");
  // The newest message sent at or before the time: the one a reader who read up to then has read.
  const q: HistoryQuery = { kind: "BEFORE", refs: [{ time: ref.time + 1 }], limit: 1 };
  scan(c, ctx, room, null, q, (entries) => {
    if (entries === null) return fail("INVALID_TARGET", target, "You cannot read that target");
    const at = select(q, entries)[0];
    if (at === undefined) return tell(c, ctx, target, room, null, (line) => c.send(ctx, line));
    c.call(ctx, (tag, token) => ({ verb: "act", tag, token, groupName: room, action: "read", target: at.msgId, text: "" }), (r) => {
      if (r.verb === "error" && r.code !== "no-message") return fail("INVALID_TARGET", target, r.message);
      tell(c, ctx, target, room, at, (line) => (c.send(ctx, line), c.markedRead(line.params[0], line.params[1])));
    });
  });
}

/**
 * Sends `MARKREAD target timestamp=…` (or `*`) with the marker as DistChat has it now; `known` is a message
 * whose time is at hand (the one just marked), saving a search for it.
 */
function tell(c: Core, ctx: Ctx, target: string, room: string, known: PollEntry | null, send: (line: IrcMessage) => void): void {
  c.call(ctx, (tag, token) => ({ verb: "unread", tag, token }), (r) => {
    const entry = r.verb === "ok" && r.kind === "unread" ? r.entries.find((e) => nameKey(e.groupName) === nameKey(room)) : undefined;
    const mark = entry?.mark ?? null;
    const line = (value: string) => send(fromServer(c, "MARKREAD", [target, value]));
    if (mark === null) return line("*");
    if (known !== null && msgidTag(known.msgId) === msgidTag(mark)) return line(`timestamp=${timeTag(known.sentAt)}`);
    timeOf(c, ctx, room, mark, (t) => line(t === null ? "*" : `timestamp=${timeTag(t)}`));
  });
}

/** When message `id` of `room` was sent, or null when it is not found (deleted, or further back than a scan reads). */
function timeOf(c: Core, ctx: Ctx, room: string, id: MsgId, done: (t: number | null) => void): void {
  const q: HistoryQuery = { kind: "AROUND", refs: [{ msgid: msgidTag(id) }], limit: 1 };
  scan(c, ctx, room, null, q, (entries) => done(entries === null ? null : select(q, entries)[0]?.sentAt ?? null));
}

/** On JOIN with the capability: the channel's marker, before RPL_ENDOFNAMES; then `then`. */
export function markreadOnJoin(c: Core, ctx: Ctx, channel: string, room: string, then: () => void): void {
  if (!c.state.caps.has(CAP)) return then();
  tell(c, ctx, channel, room, null, (line) => (c.send(ctx, line), then()));
}

/** Another connection of this account on the listener moved a marker (IrcStep.readMarks): told with the capability. */
export function readMarkMoved(c: Core, target: string, value: string): void {
  if (c.state.registered && c.state.caps.has(CAP)) c.push(fromServer(c, "MARKREAD", [target, value]));
}

export const MARKREAD_HANDLERS: Record<string, Handler> = { MARKREAD: markread };
