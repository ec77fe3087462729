/**
 * HELP and HELPOP (private to lib/irc; Modern IRC "HELP message"): a few
 * lines on each command this front end answers, as DistChat does it —
 * RPL_HELPSTART (704), RPL_HELPTXT (705) lines, RPL_ENDOFHELP (706), or
 * ERR_HELPNOTFOUND (524) for a subject it has no help on. The texts are
 * this file's; the same for every connection.
 */
import type { Core, Ctx, Handler } from "./_core.ts";
import { N } from "./numerics.ts";

/** Help on each command (upper case), a line each. */
const TOPICS: Readonly<Record<string, readonly string[]>> = {
  AUTHENTICATE: ["AUTHENTICATE PLAIN|SCRAM-SHA-256", "SASL: logs in to a DistChat account (before or after registration; your nick becomes the account's name)."],
  AWAY: ["AWAY [:message]", "Marks you away (with a message) or back; said in all your channels, on every server."],
  CAP: ["CAP LS [302] | REQ :caps | END", "Negotiates IRCv3 capabilities (docs/IRC.md \"Capabilities\")."],
  CHATHISTORY: ["CHATHISTORY LATEST|BEFORE|AFTER|AROUND|BETWEEN|TARGETS …", "Reads a channel's or conversation's stored history."],
  HELP: ["HELP [subject]", "Help on a command; HELP alone lists the commands."],
  INFO: ["INFO", "What this server is."],
  INVITE: ["INVITE nick #channel", "Invites a user to a channel (needed to join an invite-only one)."],
  ISON: ["ISON nick [nick …]", "Which of the nicks are online."],
  JOIN: ["JOIN #channel[,#channel…]", "Joins channels (DistChat rooms); a channel that does not exist is created, and you own it."],
  KICK: ["KICK #channel nick [:reason]", "Removes a user from a channel (channel operators)."],
  KILL: ["KILL nick :reason", "Disconnects a user of this server's IRC listener (IRC operators)."],
  LINKS: ["LINKS", "The servers of this DistChat cluster."],
  LIST: ["LIST [#channel|mask|!mask|<n|>n|T<n|T>n,…]", "Channels, with their member counts and topics; conditions filter them (ELIST)."],
  LUSERS: ["LUSERS", "How many users this server has."],
  MODE: ["MODE #channel [+-oblis …] | MODE nick [+-iwB]", "Channel modes (operators, bans, limit, invite-only, secret) or your own user modes (+B: a bot)."],
  MOTD: ["MOTD", "The message of the day."],
  NAMES: ["NAMES #channel", "Who is in a channel."],
  NICK: ["NICK newnick", "Changes your nick (a new DistChat session that joins your channels)."],
  NOTICE: ["NOTICE target :text", "Sends a notice to a channel or a user (stored as a DistChat notice message)."],
  OPER: ["OPER name password", "Makes you an IRC operator of this server (its irc-opers.txt)."],
  PART: ["PART #channel [:reason]", "Leaves a channel."],
  PASS: ["PASS password", "Before NICK and USER: logs in to the account of your nick."],
  PING: ["PING token", "The server answers PONG token."],
  PRIVMSG: ["PRIVMSG target :text", "Sends a message to a channel (#name) or a user (nick), stored and replicated by DistChat."],
  QUIT: ["QUIT [:reason]", "Disconnects; your session logs out."],
  REDACT: ["REDACT #channel msgid [:reason]", "Deletes a message (yours, or as an operator)."],
  SETNAME: ["SETNAME :real name", "Changes your real name (cap setname); users of this server in your channels are told."],
  TAGMSG: ["TAGMSG target", "Sends only tags: typing (+typing) or a reaction (+draft/react)."],
  TIME: ["TIME", "The server's time."],
  TOPIC: ["TOPIC #channel [:topic]", "Shows or sets a channel's topic."],
  USERHOST: ["USERHOST nick [nick …]", "The hosts of up to five online nicks."],
  VERSION: ["VERSION", "This server's version and ISUPPORT tokens."],
  WALLOPS: ["WALLOPS :text", "A message to this server's users of mode +w (IRC operators)."],
  WHO: ["WHO #channel | WHO mask", "Users of a channel, or online users matching a mask."],
  WHOIS: ["WHOIS nick", "Who a user is: channels, account, idle time."],
  WHOWAS: ["WHOWAS nick [count]", "Who used a nick on this server lately, newest first."],
};

/** HELP [subject] / HELPOP [subject]: the index, a command's help, or 524. */
function help(c: Core, m: { params: string[] }, ctx: Ctx): void {
  const asked = m.params[0] ?? "";
  const subject = asked === "" ? "index" : asked;
  const lines = asked === "" ? indexLines() : TOPICS[asked.toUpperCase()];
  if (lines === undefined) return c.numeric(ctx, N.ERR_HELPNOTFOUND, subject, "No help available on this topic");
  const [first, ...rest] = lines;
  c.numeric(ctx, N.RPL_HELPSTART, subject, first);
  for (const l of rest) c.numeric(ctx, N.RPL_HELPTXT, subject, l);
  c.numeric(ctx, N.RPL_ENDOFHELP, subject, "End of /HELP");
}

/** The index: the commands with help, a few a line. */
function indexLines(): string[] {
  const names = Object.keys(TOPICS);
  const out = ["DistChat's IRC front end (docs/IRC.md). HELP <command> for one of:"];
  for (let i = 0; i < names.length; i += 8) out.push(names.slice(i, i + 8).join(" "));
  return out;
}

/** HELP, and HELPOP (its other name on many servers). */
export const HELP_HANDLERS: Record<string, Handler> = { HELP: help, HELPOP: help };
