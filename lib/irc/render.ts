/**
 * DistChat entries as IRC lines (docs/IRC.md "Messages" and "Events"). A
 * poll or history entry is a message or, when its text starts with U+0001,
 * a notice (docs/PROTOCOL.md "Notices"): `join`, `leave`, `op`, `kick`, … —
 * which become JOIN, PART, MODE, KICK and TOPIC lines. Message text becomes
 * one PRIVMSG per line of text, each cut to fit IRC's 512 bytes with its
 * source (as IRC servers split long input); `\u0001me …` is a CTCP ACTION;
 * a sealed message (docs/SEALED_FORMAT.md, docs/SEALED_DM_FORMAT.md) is a
 * one-line placeholder, never ciphertext. Pure.
 *
 * @example
 * ```ts
 * entryEvent({ msgId, userName: "bob", sentAt, msg: "\u0001kick eve spam" });
 * // { kind: "kick", from: "bob", target: "eve", reason: "spam" }
 * splitText("#lobby", "bob!bob@distchat", "x".repeat(2000)); // 5 pieces, each line ≤ 512 bytes
 * ```
 */
import type { MsgId, PollEntry } from "../wire/messages.ts";
import { utf8Length } from "../wire/utf8.ts";
import { isSealed } from "../client/seal.ts";
import { parseMode } from "../rules/moderation.ts";
import { isClientText, NOTICE_MESSAGE } from "../wire/message_text.ts";
import { DM_PREFIX } from "../client/dm_seal.ts";
import { type IrcMessage, lineBytes, MAX_LINE_BYTES } from "./message.ts";

/** What an entry means to an IRC client. */
export type ChatEvent =
  | { kind: "message"; from: string; text: string }
  | { kind: "join"; from: string }
  | { kind: "leave" | "quit"; from: string; reason: string }
  | { kind: "invite"; from: string; target: string }
  | { kind: "mode"; from: string; change: string; arg: string | null }
  | { kind: "kick" | "ban"; from: string; target: string; reason: string }
  | { kind: "topic"; from: string; text: string }
  | { kind: "unknown"; from: string; text: string };

/** U+0001 starts notices (and actions, "\u0001me "). */
const SOH = "\u0001";

/** The event an entry stands for. */
export function entryEvent(e: PollEntry): ChatEvent {
  const from = e.userName;
  if (isClientText(e.msg)) return { kind: "message", from, text: e.msg };
  const body = e.msg.slice(1);
  const [word, rest = ""] = splitOnce(body);
  const [target, reason = ""] = splitOnce(rest);
  switch (word) {
    case "join":
      return { kind: word, from };
    case "leave":
    case "quit":
      return { kind: word, from, reason: rest };
    case "op":
    case "deop":
      return { kind: "mode", from, change: word === "op" ? "+o" : "-o", arg: target };
    case "unban":
      return { kind: "mode", from, change: "-b", arg: target };
    case "invite":
      return { kind: "invite", from, target };
    case "kick":
    case "ban":
      return { kind: word, from, target, reason };
    case "topic":
      return { kind: "topic", from, text: reason }; // "topic - TEXT"
    case "mode": {
      const m = modeEvent(rest);
      return m === null ? { kind: "unknown", from, text: body } : { kind: "mode", from, ...m };
    }
    default:
      return { kind: "unknown", from, text: body };
  }
}

/** A `mode` notice's target as an IRC mode change and its argument ("+l" "5", "+k" "KEY", "-k" "*", "+v" "NICK", "-t"), or null. */
function modeEvent(target: string): { change: string; arg: string | null } | null {
  const m = parseMode(target);
  if (m === null) return null;
  const change = target.slice(0, 2);
  if ("voice" in m) return { change, arg: m.voice };
  if ("limit" in m && m.limit !== null) return { change, arg: String(m.limit) };
  if ("key" in m) return { change, arg: m.key ?? "*" };
  return { change, arg: null };
}

function splitOnce(s: string): [string, string?] {
  const i = s.indexOf(" ");
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}

/** What a room's sealed message shows as on IRC. */
export const SEALED_ROOM_PLACEHOLDER = "[sealed message: this room is end-to-end encrypted; read it in a DistChat client that has its passphrase]";
/** What a sealed direct message shows as on IRC. */
export const SEALED_DM_PLACEHOLDER = "[sealed direct message: end-to-end encrypted between DistChat accounts; read it in a DistChat client]";

/**
 * The lines of text a message shows as on IRC: sealed → a placeholder (in a
 * room, the `dc` format; in a direct conversation, `direct`, the `dm1.`
 * format: lib/client/seal.ts and dm_seal.ts tell them, as the terminal
 * client does); `\u0001me X` → a CTCP ACTION; `\u0001notice X` → X (sent as
 * a NOTICE: `messageLines`); line breaks split it; NUL, CR
 * and U+0001 are dropped (IRC's formatting codes stay).
 */
export function ircTexts(text: string, direct = false): string[] {
  if (direct ? text.startsWith(DM_PREFIX) : isSealed(text)) return [direct ? SEALED_DM_PLACEHOLDER : SEALED_ROOM_PLACEHOLDER];
  const action = text.startsWith(SOH + "me ");
  const body = action ? text.slice(4) : text.startsWith(NOTICE_MESSAGE) ? text.slice(NOTICE_MESSAGE.length) : text;
  const lines = body.split("\n").map((l) => l.replace(/[\0\r\x01]/g, "")).filter((l) => l !== "");
  if (lines.length === 0) lines.push("");
  return action ? lines.map((l) => `\x01ACTION ${l}\x01`) : lines;
}

/**
 * DistChat text of an IRC message text: a CTCP ACTION becomes
 * `\u0001me X`; another CTCP (VERSION, PING, …) has no DistChat form (null);
 * other text of a NOTICE (`notice`) is a notice message, `\u0001notice X`.
 */
export function distchatText(text: string, notice = false): string | null {
  if (!text.startsWith("\x01")) return notice ? NOTICE_MESSAGE + text : text;
  const m = /^\x01ACTION(?: (.*?))?\x01?$/s.exec(text);
  return m ? `${SOH}me ${m[1] ?? ""}` : null;
}

/**
 * Cuts `text` into pieces whose `PRIVMSG`/`NOTICE` line from `source` to
 * `target` fits MAX_LINE_BYTES, at character boundaries (at a space when
 * one is in the last quarter of the piece). A CTCP ACTION keeps its
 * wrapping on every piece.
 */
export function splitText(target: string, source: string, text: string, command = "PRIVMSG"): string[] {
  const room = MAX_LINE_BYTES - lineBytes({ tags: {}, source, command, params: [target, ""] }, true);
  const action = /^\x01ACTION (.*)\x01$/s.exec(text);
  const body = action ? action[1] : text;
  const budget = Math.max(16, action ? room - 9 : room);
  if (utf8Length(body) <= budget) return [text];
  const pieces: string[] = [];
  let rest = body;
  while (utf8Length(rest) > budget) {
    let cut = 0, bytes = 0;
    for (const ch of rest) {
      const b = utf8Length(ch);
      if (bytes + b > budget) break;
      bytes += b;
      cut += ch.length;
    }
    const space = rest.lastIndexOf(" ", cut - 1);
    if (space > (cut * 3) / 4) cut = space + 1;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest !== "") pieces.push(rest);
  return action ? pieces.map((p) => `\x01ACTION ${p}\x01`) : pieces;
}

/** `msgid` tag value of a DistChat message: its msgID, "origin.n". */
export function msgidTag(id: MsgId): string {
  return `${id.origin}.${id.n}`;
}

/** The msgID a `msgid` tag names, or null. */
export function parseMsgid(text: string): MsgId | null {
  const m = /^([a-z0-9][a-z0-9_-]{0,15}(?:~[0-9a-z]{1,12})?)\.([0-9]{1,16})$/.exec(text);
  if (!m) return null;
  const n = Number(m[2]);
  return Number.isSafeInteger(n) && n > 0 ? { origin: m[1], n } : null;
}

/** `time` tag value (server-time): ISO 8601 UTC with milliseconds. */
export function timeTag(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The message lines of one entry to `target` (a channel, or for a direct
 * message — `direct` — the recipient's nick), with `time` and `msgid` (on the first
 * piece only: a msgid names one message, as does `+draft/reply` for a reply), `account` when
 * given, and `prefix` before the first line (not before an ACTION); a notice message
 * (`\u0001notice X`) is a NOTICE unless `command` says otherwise.
 */
export function messageLines(
  target: string,
  source: string,
  e: PollEntry,
  o: { command?: string; account?: string | null; direct?: boolean; prefix?: string } = {},
): IrcMessage[] {
  const out: IrcMessage[] = [];
  const command = o.command ?? (e.msg.startsWith(NOTICE_MESSAGE) ? "NOTICE" : "PRIVMSG");
  const texts = ircTexts(e.msg, o.direct);
  if (o.prefix !== undefined && !texts[0].startsWith("\x01")) texts[0] = o.prefix + texts[0];
  for (const line of texts) {
    for (const piece of splitText(target, source, line, command)) {
      const tags: Record<string, string> = { time: timeTag(e.sentAt) };
      if (out.length === 0) tags.msgid = msgidTag(e.msgId);
      if (out.length === 0 && e.re) tags["+draft/reply"] = msgidTag(e.re);
      if (o.account) tags.account = o.account;
      out.push({ tags, source, command, params: [target, piece] });
    }
  }
  return out;
}
