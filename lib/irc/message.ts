/**
 * The IRC line codec: one line (without its CR LF) to a typed message and
 * back. `irc.peggy` checks the structure; this module checks what a grammar
 * cannot — byte limits (IRCv3 message-tags: 8191 bytes of tags, 512 for the
 * rest with its CR LF), NUL, a bare CR, strict UTF-8 — and never throws on
 * input: it returns a result whose error says what to answer.
 *
 * @example
 * ```ts
 * const r = parseLine("@label=1 PRIVMSG #lobby :hi there");
 * if (r.ok) r.value; // { tags: { label: "1" }, source: null, command: "PRIVMSG", params: ["#lobby", "hi there"] }
 * formatLine({ tags: {}, source: "irc.example", command: "PONG", params: ["irc.example", "x y"] });
 * // "PONG irc.example :x y"
 * ```
 */
import { parse } from "./_irc_parser.js";
import { utf8Length } from "../wire/utf8.ts";

/** One IRC message. Command words are upper-cased; `tags` holds unescaped values ("" for none). */
export type IrcMessage = {
  tags: Record<string, string>;
  source: string | null;
  command: string;
  params: string[];
};

/** Bytes of a line without its tags, CR LF included (RFC 1459 §2.3). */
export const MAX_LINE_BYTES = 512;
/** Bytes of the tags section, "@" and the space after it included (IRCv3 message-tags). */
export const MAX_TAGS_BYTES = 8191;
/** Bytes of tag data a client may send (IRCv3 message-tags: "4094 bytes"). */
export const MAX_CLIENT_TAG_DATA = 4094;

/**
 * Why a line was refused: `too-long` (over 512 bytes without tags, or tags
 * over their limit: ERR_INPUTTOOLONG), `bad-utf8` (FAIL … INVALID_UTF8),
 * `nul` / `bare-cr` / `malformed` (ignored or answered ERROR), `empty`
 * (ignored, RFC 1459 §2.3.1). `partial`: as much of the message as could be
 * read, so an answer can name its command and echo its label.
 */
export type LineError = {
  code: "too-long" | "bad-utf8" | "nul" | "bare-cr" | "malformed" | "empty";
  message: string;
  partial: IrcMessage | null;
};

export type LineResult = { ok: true; value: IrcMessage } | { ok: false; error: LineError };

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** The message of a text line without checking limits; null when it does not parse. */
function parseText(text: string): IrcMessage | null {
  try {
    const ast = parse(text) as { tags: [string, string][]; source: string | null; command: string; params: string[] };
    const tags: Record<string, string> = {};
    for (const [k, v] of ast.tags) tags[k] = v; // a key given twice: the last one counts
    return { tags, source: ast.source, command: ast.command.toUpperCase(), params: ast.params };
  } catch {
    return null;
  }
}

/** Splits "@tags rest" into the tags section's length in bytes (0 without tags) and the rest. */
function tagSection(text: string): { tagBytes: number; dataBytes: number; rest: string } {
  if (!text.startsWith("@")) return { tagBytes: 0, dataBytes: 0, rest: text };
  const space = text.indexOf(" ");
  if (space < 0) return { tagBytes: utf8Length(text), dataBytes: utf8Length(text) - 1, rest: "" };
  let end = space;
  while (text[end] === " ") end++;
  return { tagBytes: utf8Length(text.slice(0, end)), dataBytes: utf8Length(text.slice(1, space)), rest: text.slice(end) };
}

/**
 * Parses one line a client sent (text or bytes, without CR LF). Bytes are
 * checked as strict UTF-8; a line with invalid UTF-8 is refused with
 * `bad-utf8` and its lenient reading as `partial`. Tag data over 4094 bytes
 * is `too-long`, as IRCv3 asks of servers.
 */
export function parseLine(line: Uint8Array | string): LineResult {
  let text: string;
  let badUtf8 = false;
  if (typeof line === "string") text = line;
  else {
    try {
      text = strict.decode(line);
    } catch {
      text = lenient.decode(line);
      badUtf8 = true;
    }
  }
  const fail = (code: LineError["code"], message: string, partial: IrcMessage | null = null): LineResult => ({
    ok: false,
    error: { code, message, partial },
  });
  if (text.trim() === "") return fail("empty", "empty line");
  const { tagBytes, dataBytes, rest } = tagSection(text);
  if (tagBytes > MAX_TAGS_BYTES || dataBytes > MAX_CLIENT_TAG_DATA) {
    return fail("too-long", `tags are over ${MAX_CLIENT_TAG_DATA} bytes`);
  }
  if (utf8Length(rest) + 2 > MAX_LINE_BYTES) {
    return fail("too-long", `line is over ${MAX_LINE_BYTES} bytes without its tags`, parseText(text));
  }
  if (text.includes("\0")) return fail("nul", "line contains NUL", parseText(text.replaceAll("\0", "")));
  if (text.includes("\r")) return fail("bare-cr", "line contains a CR that does not end it", null);
  const msg = parseText(text);
  if (badUtf8) return fail("bad-utf8", "line is not valid UTF-8", msg);
  if (msg === null) return fail("malformed", "line does not parse as an IRC message");
  return { ok: true, value: msg };
}

/** A tag value escaped for the wire (IRCv3 message-tags "Escaping values"). */
export function escapeTagValue(value: string): string {
  return value.replace(/[\\; \r\n]/g, (c) => (c === "\\" ? "\\\\" : c === ";" ? "\\:" : c === " " ? "\\s" : c === "\r" ? "\\r" : "\\n"));
}

const TAG_KEY = /^\+?([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\/)?[A-Za-z0-9-]+$/;
const MIDDLE = /^[^\0\r\n :][^\0\r\n ]*$/;

/**
 * The wire form of a message, without CR LF. The last parameter is sent as
 * trailing (":…") when it needs to be (empty, a space, or a leading ":") or
 * when `trailing` says so (servers send it so always: old clients expect
 * it); every other parameter must be a middle one. Throws TypeError for a message
 * no line can carry (a programming error: callers build messages from
 * checked values).
 */
export function formatLine(msg: IrcMessage, trailing = false): string {
  const parts: string[] = [];
  const tags = Object.entries(msg.tags);
  if (tags.length > 0) {
    for (const [k] of tags) if (!TAG_KEY.test(k)) throw new TypeError(`Cannot format tag key "${k}"`);
    parts.push("@" + tags.map(([k, v]) => (v === "" ? k : `${k}=${escapeTagValue(v)}`)).join(";"));
  }
  if (msg.source !== null) {
    if (!/^[^\0\r\n ]+$/.test(msg.source)) throw new TypeError(`Cannot format source "${msg.source}"`);
    parts.push(":" + msg.source);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(msg.command)) throw new TypeError(`Cannot format command "${msg.command}"`);
  parts.push(msg.command);
  msg.params.forEach((p, i) => {
    if (/[\0\r\n]/.test(p)) throw new TypeError(`Cannot format a parameter with NUL, CR or LF`);
    if (i === msg.params.length - 1 && (trailing || !MIDDLE.test(p))) parts.push(":" + p);
    else if (MIDDLE.test(p)) parts.push(p);
    else throw new TypeError(`Cannot format "${p}" as a middle parameter`);
  });
  return parts.join(" ");
}

/** Bytes of a formatted line without its tags, CR LF included: what MAX_LINE_BYTES bounds. */
export function lineBytes(msg: IrcMessage, trailing = false): number {
  return utf8Length(formatLine({ ...msg, tags: {} }, trailing)) + 2;
}
