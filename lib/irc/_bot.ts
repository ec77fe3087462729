/**
 * IRCv3 bot mode (private to lib/irc; docs/IRC.md "Bots"): a client marks
 * itself a bot with user mode +B (ISUPPORT `BOT=B`); WHOIS says so (335),
 * WHO shows `B`, and its PRIVMSG, NOTICE and TAGMSG lines carry the `bot`
 * tag. Like user names and real names, the mode is the listener's: it is
 * known for users of the same IRC listener (`IrcConfig.botOf`) and for a
 * connection itself, not across servers.
 */
import type { Core } from "./_core.ts";
import type { IrcMessage } from "./message.ts";
import { nameKey } from "./names.ts";

/** The user mode that marks a bot (ISUPPORT BOT). */
export const BOT_MODE = "B";

/** Commands whose lines from a bot carry the `bot` tag. */
const TAGGED = new Set(["PRIVMSG", "NOTICE", "TAGMSG"]);

/** Whether `nick` is a bot as far as this connection knows: itself, or a user of the same listener. */
export function isBot(c: Core, nick: string): boolean {
  if (nameKey(nick) === nameKey(c.state.nick ?? "")) return c.state.userModes.has(BOT_MODE);
  return c.config.botOf?.(nick) === true;
}

/** `msg` with the `bot` tag when it is a message from a bot (else `msg` itself, so shared lines stay shared). */
export function withBotTag(c: Core, msg: IrcMessage): IrcMessage {
  if (!TAGGED.has(msg.command) || msg.source === null || "bot" in msg.tags) return msg;
  const bang = msg.source.indexOf("!");
  if (bang <= 0 || !isBot(c, msg.source.slice(0, bang))) return msg;
  return { ...msg, tags: { ...msg.tags, bot: "" } };
}
