/**
 * IRC lines as one client receives them (private to lib/irc): the tags its
 * capabilities allow, and a command's answer labeled (labeled-response). A
 * line shared by many connections (a channel message of a shared stream,
 * lib/irc/_deliver.ts) is formatted once per set of capabilities.
 */
import { formatLine, type IrcMessage } from "./message.ts";
import type { Ctx } from "./_core.ts";

/** Tags a line may carry, by the capability that allows them; other tags need message-tags. */
const TAG_CAPS: Record<string, string> = { time: "server-time", account: "account-tag", batch: "batch", label: "labeled-response" };
/** The capabilities that decide which tags a client gets. */
const TAG_CAP_NAMES = ["server-time", "account-tag", "batch", "labeled-response", "message-tags"];
/** Commands whose last parameter is always sent as a trailing one (`:text`). */
const TRAILING = /^[0-9]{3}$|^(PRIVMSG|NOTICE|ERROR|FAIL|PONG|TOPIC|KICK|QUIT|AWAY|CAP)$/;

/** Formatted lines by message (shared messages only live as long as their entry) and by tag capabilities held. */
const formatted = new WeakMap<IrcMessage, Map<string, string>>();

/** Which of the tag capabilities `caps` holds, as a short key. */
export function tagCapsKey(caps: ReadonlySet<string>): string {
  return TAG_CAP_NAMES.map((c) => (caps.has(c) ? "1" : "0")).join("");
}

/** `msg` as a line for a client with `caps` (key `capsKey`), without CR LF; formatted once per message and key. */
export function clientLine(msg: IrcMessage, caps: ReadonlySet<string>, capsKey: string): string {
  const known = formatted.get(msg)?.get(capsKey);
  if (known !== undefined) return known;
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.tags)) {
    if (caps.has(TAG_CAPS[k] ?? "message-tags")) tags[k] = v;
  }
  const line = formatLine({ ...msg, tags }, msg.params.length > 0 && TRAILING.test(msg.command));
  const byCaps = formatted.get(msg) ?? new Map<string, string>();
  byCaps.set(capsKey, line);
  formatted.set(msg, byCaps);
  return line;
}

/**
 * A finished command's answer: its lines as they are, or labeled (one line: the label on it; several: a
 * `labeled-response` batch of id `batchId()`; none: ACK). `server` makes a line from the server.
 */
export function answerLines(ctx: Ctx, batchId: () => string, server: (command: string, params: string[]) => IrcMessage): IrcMessage[] {
  if (ctx.label === null) return ctx.lines;
  const label = ctx.label;
  if (ctx.lines.length === 0) return [{ ...server("ACK", []), tags: { label } }];
  if (ctx.lines.length === 1) return [{ ...ctx.lines[0], tags: { ...ctx.lines[0].tags, label } }];
  const id = batchId();
  return [
    { ...server("BATCH", [`+${id}`, "labeled-response"]), tags: { label } },
    ...ctx.lines.map((l) => (l.tags.batch ? l : { ...l, tags: { ...l.tags, batch: id } })),
    server("BATCH", [`-${id}`]),
  ];
}
