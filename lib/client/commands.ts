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

import { roomNameProblem } from "../wire/names.ts";
import { MAX_HISTORY } from "../wire/messages.ts";

export type Command =
  | { kind: "say"; text: string }
  | { kind: "create" | "join" | "switch"; room: string }
  | { kind: "leave" | "who" | "key" | "unkey"; room: string | null }
  | { kind: "rooms" | "quit" | "help" }
  | { kind: "history"; count: number }
  | { kind: "none" }
  | { kind: "invalid"; message: string };

export const HELP = [
  "/create ROOM    create a room and join it",
  "/join ROOM      join a room (it becomes the one you type into)",
  "/leave [ROOM]   leave a room (default: the current one)",
  "/switch ROOM    type into another room you have joined",
  "/rooms          list every room",
  "/who [ROOM]     list who is in a room (default: the current one)",
  "/history [N]    show N (default 20) older messages of the current room, before the oldest shown",
  "/key [ROOM]     set or change a room's passphrase (typed hidden); messages sent there are sealed",
  "/unkey [ROOM]   forget a room's passphrase; messages sent there are no longer sealed",
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

/** Parses one input line (without its line end). */
export function parseLine(raw: string): Command {
  const line = raw.replace(/\r$/, "");
  if (line.trim() === "") return { kind: "none" };
  if (line.startsWith("//")) return { kind: "say", text: line.slice(1) };
  if (!line.startsWith("/")) return { kind: "say", text: line };
  const [word, ...args] = line.slice(1).trim().split(/\s+/);
  if (word.toLowerCase() === "history") return history(args);
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
    const problem = roomNameProblem(room);
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
