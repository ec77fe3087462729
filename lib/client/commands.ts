/**
 * Input lines: slash commands and plain messages. Pure.
 *
 * @example
 * ```ts
 * parseLine("/join lobby"); // { kind: "join", room: "lobby" }
 * parseLine("hello");       // { kind: "say", text: "hello" }
 * parseLine("//not a cmd"); // { kind: "say", text: "/not a cmd" }
 * parseLine("/key");        // { kind: "key", room: null } (the current room)
 * ```
 */

import { roomNameProblem, userNameProblem } from "../wire/names.ts";
import { MAX_HISTORY, type MsgId } from "../wire/messages.ts";
import { parseMsgId } from "./message_acts.ts";

export type Command =
  | { kind: "say"; text: string }
  | { kind: "create" | "join" | "switch"; room: string; key?: string }
  | { kind: "leave" | "who" | "key" | "unkey"; room: string | null }
  | { kind: "rooms" | "quit" | "help" }
  | { kind: "history"; count: number }
  | { kind: "msg"; user: string; text: string }
  | { kind: "query" | "whois"; user: string }
  | { kind: "me"; text: string }
  | { kind: "register" | "password" | "unregister" }
  | { kind: "topic"; text: string | null }
  | { kind: "mod"; action: "op" | "deop" | "kick" | "ban" | "unban" | "invite"; user: string; text: string }
  | { kind: "mode"; mode: string | null }
  | { kind: "edit" | "react" | "reply"; id: MsgId | null; text: string }
  | { kind: "delete"; id: MsgId | null }
  | { kind: "search"; text: string; everywhere: boolean }
  | { kind: "mentions" | "unread" | "back" }
  | { kind: "away"; text: string }
  | { kind: "none" }
  | { kind: "invalid"; message: string };

export const HELP = [
  "/join ROOM [KEY]  join a room, made when there is none (it becomes the one you type into); KEY: the room's key (+k)",
  "/create ROOM    make a new room and join it (refused when it exists)",
  "/leave [ROOM]   leave a room (default: the current one)",
  "/switch ROOM    type into another room you have joined",
  "/rooms          list every room",
  "/who [ROOM]     list who is in a room (default: the current one)",
  "/history [N]    show N (default 20) older messages of the current room, before the oldest shown",
  "/key [ROOM]     set or change a room's passphrase (typed hidden); messages sent there are sealed",
  "/unkey [ROOM]   forget a room's passphrase; messages sent there are no longer sealed",
  "/msg NAME TEXT  a direct message to NAME (sealed end to end when you both are registered)",
  "/query NAME     type into the direct conversation with NAME",
  "/me TEXT        an action: * you TEXT",
  "/whois NAME     registered or not, idle time, key fingerprint, rooms in common",
  "/register       register your name with a password (typed hidden, or --password-file)",
  "/password       change your password",
  "/unregister     drop your account (your name becomes anyone's again)",
  "/topic [TEXT]   show or set the current room's topic",
  "/op NAME, /deop NAME            grant or revoke operator in the current room",
  "/kick NAME [REASON], /ban NAME [REASON], /unban NAME, /invite NAME   moderate the current room",
  "/mode [+i|-i|+s|-s|+m|-m|+t|-t|+n|-n|+l N|-l|+k KEY|-k|+v NAME|-v NAME]   show the room's mode, or set one: invite-only (+i), secret (+s), moderated (+m, with voice +v NAME), member limit (+l N), key (+k KEY); -t: any member sets the topic, -n: non-members may send",
  "/edit [ID] TEXT     give your message new text (default: your last here); ID as /search shows it (a.17)",
  "/delete [ID]        delete your message (default: your last here), or any if you moderate the room",
  "/react [ID] EMOJI   toggle a reaction (default: on the newest message here)",
  "/reply [ID] TEXT    answer a message (default: the newest of someone else here), quoting it",
  "/search [*] WORDS   find messages in this room (* : in all your rooms), best first",
  "/mentions       the newest messages that name you (@you) in your rooms",
  "/unread         unread messages per room (the same on all your devices when registered)",
  "/away [TEXT], /back   tell your rooms you are away, or back",
  "/quit           log out and exit",
  "/help           this list",
  "Any other line is a message to the current room; start it with // to send a leading /.",
];

type Arity = "room" | "optional-room" | "none";
const COMMANDS: Record<string, { kind: Command["kind"]; arity: Arity }> = {
  create: { kind: "create", arity: "room" },
  open: { kind: "create", arity: "room" },
  join: { kind: "join", arity: "room" },
  leave: { kind: "leave", arity: "optional-room" },
  part: { kind: "leave", arity: "optional-room" },
  switch: { kind: "switch", arity: "room" },
  rooms: { kind: "rooms", arity: "none" },
  list: { kind: "rooms", arity: "none" },
  who: { kind: "who", arity: "optional-room" },
  key: { kind: "key", arity: "optional-room" },
  unkey: { kind: "unkey", arity: "optional-room" },
  quit: { kind: "quit", arity: "none" },
  exit: { kind: "quit", arity: "none" },
  help: { kind: "help", arity: "none" },
};

function history(args: string[]): Command {
  if (args.length === 0) return { kind: "history", count: 20 };
  const n = Number(args[0]);
  if (args.length > 1 || !/^\d+$/.test(args[0]) || n < 1 || n > MAX_HISTORY) {
    return { kind: "invalid", message: `usage: /history [N], N from 1 to ${MAX_HISTORY}` };
  }
  return { kind: "history", count: n };
}

/** Commands of accounts, direct messages and moderation: a NAME and free text. */
function social(word: string, rest: string): Command | null {
  const m = /^(\S+)?\s*(.*)$/s.exec(rest.trim())!;
  const first = m[1] ?? "", text = m[2] ?? "";
  const user = (usage: string, f: (u: string) => Command): Command => {
    if (first === "") return { kind: "invalid", message: `usage: ${usage}` };
    const problem = userNameProblem(first);
    return problem ? { kind: "invalid", message: problem } : f(first);
  };
  switch (word) {
    case "msg":
      return user("/msg NAME TEXT", (u) => (text === "" ? { kind: "invalid", message: "usage: /msg NAME TEXT" } : { kind: "msg", user: u, text }));
    case "query":
    case "whois":
      return user(`/${word} NAME`, (u) => ({ kind: word, user: u }));
    case "me":
      return rest.trim() === "" ? { kind: "invalid", message: "usage: /me TEXT" } : { kind: "me", text: rest.trim() };
    case "register":
    case "password":
    case "unregister":
      return rest.trim() === "" ? { kind: word } : { kind: "invalid", message: `usage: /${word} (the password is asked for, hidden)` };
    case "topic":
      return { kind: "topic", text: rest.trim() === "" ? null : rest.trim() };
    case "op":
    case "deop":
    case "kick":
    case "ban":
    case "unban":
    case "invite":
      return user(`/${word} NAME${word === "kick" || word === "ban" ? " [REASON]" : ""}`, (u) => ({ kind: "mod", action: word, user: u, text }));
    case "mode":
      if (rest.trim() === "") return { kind: "mode", mode: null };
      return modeCommand(rest.trim());
  }
  return null;
}

/** Commands on messages (docs/PROTOCOL.md "Message actions"): an optional message id first. */
function acts(word: string, rest: string): Command | null {
  const words = rest.trim().split(/\s+/).filter((w) => w !== "");
  const id = words.length > 0 ? parseMsgId(words[0]) : null;
  const text = (id === null ? rest.trim() : rest.trim().slice(words[0].length).trim());
  switch (word) {
    case "edit":
    case "reply":
      return text === "" ? { kind: "invalid", message: `usage: /${word} [ID] TEXT` } : { kind: word, id, text };
    case "react":
      return text === "" || /\s/.test(text) ? { kind: "invalid", message: "usage: /react [ID] EMOJI" } : { kind: "react", id, text };
    case "delete":
    case "del":
      return text !== "" ? { kind: "invalid", message: "usage: /delete [ID]" } : { kind: "delete", id };
    case "search": {
      const everywhere = words[0] === "*";
      const q = everywhere ? rest.trim().slice(1).trim() : rest.trim();
      return q === "" ? { kind: "invalid", message: "usage: /search [*] WORDS" } : { kind: "search", text: q, everywhere };
    }
    case "mentions":
    case "unread":
    case "back":
      return rest.trim() === "" ? { kind: word } : { kind: "invalid", message: `usage: /${word}` };
    case "away":
      return { kind: "away", text: rest.trim() };
  }
  return null;
}

/** Parses one input line (without its line end). */
export function parseLine(raw: string): Command {
  const line = raw.replace(/\r$/, "");
  if (line.trim() === "") return { kind: "none" };
  if (line.startsWith("//")) return { kind: "say", text: line.slice(1) };
  if (!line.startsWith("/")) return { kind: "say", text: line };
  const [word, ...args] = line.slice(1).trim().split(/\s+/);
  if (word.toLowerCase() === "history") return history(args);
  if (word.toLowerCase() === "join" && args.length === 2) {
    const problem = roomNameProblem(args[0]);
    return problem ? { kind: "invalid", message: problem } : { kind: "join", room: args[0], key: args[1] }; // a room's key (+k)
  }
  const s = social(word.toLowerCase(), line.slice(1).trim().slice(word.length)) ?? acts(word.toLowerCase(), line.slice(1).trim().slice(word.length));
  if (s !== null) return s;
  const spec = COMMANDS[word.toLowerCase()];
  if (!spec) return { kind: "invalid", message: `unknown command /${word}; type /help for the list` };
  const name = `/${word.toLowerCase()}`;
  const max = spec.arity === "none" ? 0 : 1;
  const min = spec.arity === "room" ? 1 : 0;
  if (args.length > max || args.length < min) {
    const usage = spec.arity === "none" ? name : spec.arity === "room" ? `${name} ROOM` : `${name} [ROOM]`;
    return { kind: "invalid", message: `usage: ${usage}` };
  }
  const room = args[0] ?? null;
  if (room !== null) {
    const dm = room.startsWith("@") && (spec.kind === "leave" || spec.kind === "switch");
    const problem = dm ? userNameProblem(room.slice(1)) : roomNameProblem(room);
    if (problem) return { kind: "invalid", message: problem };
  }
  switch (spec.kind) {
    case "create":
    case "join":
    case "switch":
      return { kind: spec.kind, room: room as string };
    case "leave":
    case "who":
    case "key":
    case "unkey":
      return { kind: spec.kind, room };
    default:
      return { kind: spec.kind } as Command;
  }
}

/** `/mode ARG`: a flag ("+i", "-m", …), "+l N", "+k KEY" or "+v NAME" (as the mode targets "+lN", "+kKEY", "+vNAME"); the server checks them. */
function modeCommand(arg: string): Command {
  const withArg = /^(\+l)\s*([0-9]+)$|^(\+k|[+-]v)\s*(\S+)$/.exec(arg);
  if (withArg !== null) return { kind: "mode", mode: withArg[1] === undefined ? withArg[3] + withArg[4] : withArg[1] + withArg[2] };
  return /^[+-][ismtn]$|^-[lk]$/.test(arg) ? { kind: "mode", mode: arg } : { kind: "invalid", message: `usage: ${MODE_USAGE}` };
}

const MODE_USAGE = "/mode [+i|-i|+s|-s|+m|-m|+t|-t|+n|-n|+l N|-l|+k KEY|-k|+v NAME|-v NAME]";
