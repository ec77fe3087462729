/**
 * What the terminal client prints: message lines, notices, and the
 * neutralizing of every character that could take over a terminal. Pure:
 * time zone, colors and mode come in as options. The words themselves are
 * lib/client/wording.ts's, shared with the web page.
 *
 * @example
 * ```ts
 * formatMessage("lobby", { msgId: { origin: "a", n: 1 }, userName: "bob", sentAt: 0, msg: "hi\x1b[2J" },
 *   { tty: false, color: false });
 * // "01:00:00 [lobby] bob: hi\x1b[2J" (time in the local zone, ESC shown as the four characters \x1b)
 * ```
 */
import { escapeText } from "../wire/codec.ts";
import { sanitize } from "../wire/safe_text.ts";
import type { PollEntry } from "../wire/messages.ts";
import { factsText, type MessageView, nameShade, noticeText, short } from "./wording.ts";

export type { MessageView };

export { sanitize };

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

/** A stable color for a user name (case-insensitive, as names compare; the page's hues come from the same shade). */
export function nameColor(name: string): string {
  return NAME_COLORS[nameShade(name, NAME_COLORS.length)];
}

export type DisplayOptions = {
  /** Terminal mode: multi-line messages are shown on indented lines. */
  tty: boolean;
  /** ANSI colors (only in terminal mode and without NO_COLOR). */
  color: boolean;
};

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
  const facts = sanitize(factsText(e));
  const quote = v.quote ? `(re ${sanitize(v.quote.user)}: "${oneLine(short(v.quote.text, 50))}") ` : e.re ? `(re ${e.re.origin}.${e.re.n}) ` : "";
  const lead = (mark === "" ? "" : `${mark} `) + quote;
  if (!o.tty) return `${time} [${r}] ${u}: ${lead}${oneLine(v.text)}${facts}`;
  const plain = `${time} [${r}] ${u}: `;
  const head = o.color ? `${dim(time)} ${dim(`[${r}]`)} ${SGR(nameColor(e.userName))(u)}: ` : plain;
  const [first, ...rest] = sanitize(v.text, true).split("\n");
  // The lock is two columns wide; the other marks are ASCII.
  const indent = " ".repeat(plain.length + (v.kind === "sealed" ? 3 : lead.length));
  let shown = lead + first;
  if (o.color && v.kind === "plain" && v.marked) shown = `${dim(PLAIN_MARK)} ${first}`;
  if (o.color && v.kind === "locked") shown = yellow(first);
  if (o.color && v.kind === "tampered") shown = red(first);
  const tail = o.color && facts !== "" ? dim(facts) : facts;
  const out = [head + shown, ...rest.map((l) => indent + l)];
  out[out.length - 1] += tail;
  return out.join("\n");
}

/** A status line (`* text`), dimmed or red in color mode. */
export function formatNotice(text: string, o: DisplayOptions, isError = false): string {
  const line = `* ${text}`;
  if (!o.color) return line;
  return isError ? red(line) : yellow(line);
}
