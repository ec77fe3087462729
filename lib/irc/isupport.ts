/**
 * What the IRC front end advertises: its capabilities (CAP LS) and its
 * ISUPPORT (005) tokens, with DistChat's real limits (docs/PROTOCOL.md
 * "Limits"), so that a client never meets a limit it was not told of.
 *
 * @example
 * ```ts
 * capList(302);        // ["account-notify", …, "sasl=PLAIN,SCRAM-SHA-256", "server-time"]
 * isupportTokens("DistChat")[0]; // "AWAYLEN=300"
 * ```
 */
import { MAX_TOPIC_BYTES } from "../wire/messages.ts";

/** Capabilities, each with its value for CAP LS 302 ("" for none). */
export const CAPS: Readonly<Record<string, string>> = {
  "account-notify": "",
  "account-tag": "",
  "away-notify": "",
  "batch": "",
  "draft/account-registration": "",
  "draft/chathistory": "",
  "draft/message-redaction": "",
  "draft/read-marker": "",
  "echo-message": "",
  "extended-join": "",
  "extended-monitor": "",
  "invite-notify": "",
  "labeled-response": "",
  "message-tags": "",
  "multi-prefix": "",
  "sasl": "PLAIN,SCRAM-SHA-256",
  "server-time": "",
  "setname": "",
  "userhost-in-names": "",
};

/** SASL mechanisms (RPL_SASLMECHS). */
export const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256"] as const;

/**
 * Channels one connection may be in. A server holds at most 64 long polls
 * per session by default (`--quota held-polls-per-session`): one per
 * channel and per direct conversation followed, so 48 channels leave 16 for
 * direct conversations (`MAX_DM_FOLLOWS`).
 */
export const MAX_CHANNELS = 48;
/** Direct conversations one connection follows at once (the oldest is dropped, and read again when it moves). */
export const MAX_DM_FOLLOWS = 16;
/** Most messages one CHATHISTORY answers. */
export const MAX_CHATHISTORY = 100;
/** Longest AWAY message (connection-local: DistChat has no away status yet). */
export const AWAYLEN = 300;
/** Targets of one PRIVMSG or NOTICE. */
export const MAX_MSG_TARGETS = 4;
/** Nicks one connection may MONITOR (ISUPPORT MONITOR; lib/irc/_monitor.ts). */
export const MAX_MONITOR = 100;
/** Mode changes with a parameter in one MODE command. */
export const MAX_MODES = 4;

/** The caps for CAP LS: with version 302 and up, with their values. */
export function capList(version: number): string[] {
  return Object.entries(CAPS).map(([k, v]) => (version >= 302 && v !== "" ? `${k}=${v}` : k));
}

/** The ISUPPORT tokens, in order. */
export function isupportTokens(network: string): string[] {
  return [
    `AWAYLEN=${AWAYLEN}`,
    "BOT=B",
    "CASEMAPPING=ascii",
    `CHANLIMIT=#:${MAX_CHANNELS}`,
    "CHANMODES=b,k,l,imnst",
    "CHANNELLEN=65",
    "CHANTYPES=#",
    "ELIST=MNTU",
    `CHATHISTORY=${MAX_CHATHISTORY}`,
    `KICKLEN=${MAX_TOPIC_BYTES}`,
    `MODES=${MAX_MODES}`,
    `MONITOR=${MAX_MONITOR}`,
    "MSGREFTYPES=msgid,timestamp",
    `NETWORK=${network}`,
    "NICKLEN=32",
    "PREFIX=(ov)@+",
    `TARGMAX=JOIN:${MAX_CHANNELS},KICK:1,NAMES:1,NOTICE:${MAX_MSG_TARGETS},PART:${MAX_CHANNELS},PRIVMSG:${MAX_MSG_TARGETS},WHOIS:1`,
    `TOPICLEN=${MAX_TOPIC_BYTES}`,
    "UTF8ONLY",
    "WHOX",
  ];
}
