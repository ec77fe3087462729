/**
 * What the client prints: message lines, notices, and the neutralizing of
 * every character that could take over a terminal. Pure: time zone, colors
 * and mode come in as options.
 *
 * @example
 * ```ts
 * formatMessage("lobby", { msgId: { origin: "a", n: 1 }, userName: "bob", sentAt: 0, msg: "hi\x1b[2J" },
 *   { tty: false, color: false });
 * // "01:00:00 [lobby] bob: hi\x1b[2J" (time in the local zone, ESC shown as the four characters \x1b)
 * ```
 */
import { nameKey } from "../wire/names.ts";
import { escapeText } from "../wire/codec.ts";
import { sanitize } from "../wire/safe_text.ts";

export { sanitize };
import type { ErrorCode, PollEntry } from "../wire/messages.ts";

/**
 * One-line form of message text: escaped as on the wire (`\\`, `\n`, `\r`),
 * then every other unsafe character made visible.
 */
export function oneLine(text: string): string {
  return sanitize(escapeText(text));
}

/** `HH:MM:SS` of `ms` in the local time zone. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

// --- Colors ------------------------------------------------------------------

const SGR = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
export const dim = SGR("2");
export const bold = SGR("1");
export const red = SGR("31");
export const yellow = SGR("33");
const NAME_COLORS = ["31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"];

/** A stable color for a user name (case-insensitive, as names compare). */
export function nameColor(name: string): string {
  let h = 0;
  for (const c of nameKey(name)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return NAME_COLORS[h % NAME_COLORS.length];
}

export type DisplayOptions = {
  /** Terminal mode: multi-line messages are shown on indented lines. */
  tty: boolean;
  /** ANSI colors (only in terminal mode and without NO_COLOR). */
  color: boolean;
};

/**
 * How a message's text is shown: as sent (`plain`; `marked` puts `[plain]`
 * before it), opened from a sealed message (`sealed`: a lock mark before it),
 * or replaced by a placeholder (`locked`, `tampered`: a sealed message this
 * client cannot or must not show). lib/client/keyring.ts makes these.
 */
export type MessageView =
  | { kind: "plain"; text: string; marked?: boolean }
  | { kind: "sealed"; text: string }
  | { kind: "locked" | "tampered"; text: string };

/** Mark before an opened sealed text: a lock in a terminal, stable ASCII for scripts. */
export const SEALED_MARK = { tty: "🔒", pipe: "[sealed]" } as const;
/** Mark before a plain text where it could be mistaken for a sealed one. */
export const PLAIN_MARK = "[plain]";

/**
 * The display form of one message: `HH:MM:SS [room] sender: text`.
 * Without `tty` it is exactly one line with the text escaped as on the
 * wire; with `tty`, each further line of a multi-line message is indented
 * under the text's first character. No trailing newline. `view` (default:
 * the text as sent) adds the marks of sealed rooms right before the text:
 * `[sealed] text` (`🔒 text` in a terminal), `[plain] text`, or a placeholder.
 */
export function formatMessage(room: string, e: PollEntry, o: DisplayOptions, view?: MessageView): string {
  const v: MessageView = view ?? { kind: "plain", text: e.msg };
  const time = clock(e.sentAt);
  const r = sanitize(room), u = sanitize(e.userName);
  const action = noticeText(e.userName, v.text);
  if (action !== null) {
    const line = `${time} [${r}] ${action}`;
    return o.tty && o.color ? dim(line) : o.tty ? sanitize(line) : oneLine(line);
  }
  const mark = v.kind === "sealed" ? (o.tty ? SEALED_MARK.tty : SEALED_MARK.pipe) : v.kind === "plain" && v.marked ? PLAIN_MARK : "";
  const lead = mark === "" ? "" : `${mark} `;
  if (!o.tty) return `${time} [${r}] ${u}: ${lead}${oneLine(v.text)}`;
  const plain = `${time} [${r}] ${u}: `;
  const head = o.color ? `${dim(time)} ${dim(`[${r}]`)} ${SGR(nameColor(e.userName))(u)}: ` : plain;
  const [first, ...rest] = sanitize(v.text, true).split("\n");
  // The lock is two columns wide; the other marks are ASCII.
  const indent = " ".repeat(plain.length + (v.kind === "sealed" ? 3 : lead.length));
  let shown = lead + first;
  if (o.color && v.kind === "plain" && v.marked) shown = `${dim(PLAIN_MARK)} ${first}`;
  if (o.color && v.kind === "locked") shown = yellow(first);
  if (o.color && v.kind === "tampered") shown = red(first);
  return [head + shown, ...rest.map((l) => indent + l)].join("\n");
}

/** A status line (`* text`), dimmed or red in color mode. */
export function formatNotice(text: string, o: DisplayOptions, isError = false): string {
  const line = `* ${text}`;
  if (!o.color) return line;
  return isError ? red(line) : yellow(line);
}

/**
 * A notice or action as a line ("* bob joined"), or null for a plain
 * message (docs/PROTOCOL.md "Notices": U+0001, a word, its arguments).
 *
 * @example
 * ```ts
 * noticeText("bob", "\u0001kick eve spam"); // "* bob kicked eve (spam)"
 * noticeText("bob", "\u0001me waves");      // "* bob waves"
 * ```
 */
export function noticeText(user: string, text: string): string | null {
  if (!text.startsWith("\u0001")) return null;
  const m = /^\u0001(\S+) ?(\S*) ?(.*)$/s.exec(text);
  if (!m) return null;
  const [, word, target, rest] = m;
  const why = rest === "" ? "" : ` (${rest})`;
  switch (word) {
    case "me":
      return `* ${user} ${[target, rest].filter((x) => x !== "").join(" ")}`;
    case "join":
      return `* ${user} joined`;
    case "leave":
      return `* ${user} left`;
    case "kick":
      return `* ${user} kicked ${target}${why}`;
    case "ban":
      return `* ${user} banned ${target}${why}`;
    case "unban":
      return `* ${user} lifted the ban on ${target}`;
    case "op":
      return `* ${user} made ${target} an operator`;
    case "deop":
      return `* ${user} took operator from ${target}`;
    case "topic":
      return rest === "" ? `* ${user} cleared the topic` : `* ${user} set the topic: ${rest}`;
    case "mode":
      return target === "+i" ? `* ${user} made the room invite-only` : `* ${user} opened the room to all`;
  }
  return `* ${user} ${word} ${target}${why}`;
}

// --- Error codes -------------------------------------------------------------

const HUMAN: Record<ErrorCode, string> = {
  "bad-request": "the server did not understand the request",
  "too-large": "the request is too large",
  "bad-name": "that name is not allowed (a letter or digit, then letters, digits, . _ -)",
  "name-taken": "that user name is in use",
  "bad-token": "the session is unknown or expired",
  "no-room": "no such room",
  "room-exists": "that room already exists",
  "not-member": "you are not in that room",
  "no-message": "that message is not on this server (yet)",
  "rate-limited": "too many requests; slow down",
  "unavailable": "the server cannot serve this right now",
  "internal": "the server failed",
  "bad-password": "wrong user name or password",
  "not-allowed": "you may not do that here",
  "no-user": "no such user is registered or logged in",
};

/**
 * Human wording of an error reply, with the server's own message.
 *
 * @example
 * ```ts
 * describeError("no-room", "no room named x"); // 'no such room (server: "no room named x")'
 * ```
 */
export function describeError(code: string, message: string): string {
  const human = (HUMAN as Record<string, string>)[code] ?? `error ${sanitize(code)}`;
  const m = sanitize(message.trim());
  return m === "" ? human : `${human} (server: "${m}")`;
}
