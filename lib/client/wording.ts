/**
 * What the client says, in one place for the terminal and the web page:
 * errors in plain words (never a protocol code, never "send auth again"),
 * notices ("* bob joined"), the link's state ("reconnecting…", "connected
 * to b"), a login's puzzle, lists, and the colour of a name. Pure.
 *
 * @example
 * ```ts
 * describeError("not-member", "you are banned from annex"); // "you are banned from annex"
 * describeError("bad-password", "… send auth again");      // "wrong user name or password"
 * noticeText("bob", "\u0001kick eve spam");                 // "* bob kicked eve (spam)"
 * ```
 */
import type { ErrorCode, MsgId } from "../wire/messages.ts";
import { isClientText, NOTICE_MESSAGE } from "../wire/message_text.ts";
import { nameKey } from "../wire/names.ts";
import { sanitize } from "../wire/safe_text.ts";

/** The client's own words for each code (docs/PROTOCOL.md "Error codes"). */
const HUMAN: Record<ErrorCode, string> = {
  "bad-request": "the server did not understand the request",
  "too-large": "the request is too large",
  "bad-name": "that name is not allowed (a letter or digit, then letters, digits, . _ -)",
  "name-taken": "that user name is in use",
  "bad-token": "your session has ended",
  "no-room": "no such room",
  "room-exists": "that room already exists",
  "not-member": "you are not in that room",
  "no-message": "that message is not on this server (yet)",
  "rate-limited": "too many requests; wait a moment and try again",
  "unavailable": "the server cannot serve this right now",
  "internal": "the server failed",
  "bad-password": "wrong user name or password",
  "not-allowed": "you may not do that here",
  "no-user": "no such user is registered or logged in",
};

/**
 * Codes whose server message is written for people and says more than the
 * client could: who banned you and why, which quota, how long to wait.
 * For the others the client's words stand (the server's may speak protocol).
 */
const SERVER_WORDS = new Set(["name-taken", "not-allowed", "rate-limited", "no-user"]);
/** A `not-member` that explains itself (docs/PROTOCOL.md "Moderation"). */
const MODERATED = /banned|kicked|invite-only/;

/**
 * An error reply in plain words.
 *
 * @example
 * ```ts
 * describeError("no-room", "no room x");     // "no such room"
 * describeError("weird-new-code", "");       // "the server refused the request"
 * ```
 */
export function describeError(code: string, message: string): string {
  const m = sanitize(message.trim().replace(/\s+/g, " "));
  if (m !== "" && (SERVER_WORDS.has(code) || (code === "not-member" && MODERATED.test(m)))) return m;
  const human = (HUMAN as Record<string, string>)[code];
  if (human !== undefined) return human;
  return m === "" ? "the server refused the request" : m;
}

/**
 * How a message's text is shown: as sent (`plain`; `marked` puts `[plain]`
 * before it), opened from a sealed message (`sealed`: a lock mark before it),
 * or replaced by a placeholder (`locked`, `tampered`: a sealed message this
 * client cannot or must not show). lib/client/keyring.ts and lib/client/social.ts make these.
 */
export type MessageView = (
  | { kind: "plain"; text: string; marked?: boolean }
  | { kind: "sealed"; text: string }
  | { kind: "locked" | "tampered"; text: string }
) & {
  /** The message it replies to, as shown earlier (docs/PROTOCOL.md "Replies to a message"). */
  quote?: { user: string; text: string } | null;
};

/** A change to a message as a line of text, for a UI that cannot change what it showed (the terminal). */
export function changeLine(room: string, c: { kind: "deleted" | "edited" | "reactions"; target: MsgId; by: string; text?: string; reactions?: [string, number][] }, was: { user: string; text: string } | null): string {
  const which = was ? `${was.user}'s message "${short(was.text, 40)}"` : `message ${c.target.origin}.${c.target.n}`;
  if (c.kind === "deleted") return `[${room}] message deleted (${which}, by ${c.by})`;
  if (c.kind === "edited") return `[${room}] ${c.by} edited ${which}: ${c.text ?? ""}`;
  const r = (c.reactions ?? []).map(([t, n]) => `${t} ${n}`).join(", ");
  return `[${room}] reactions to ${which}: ${r || "none"}`;
}

/** `text` cut to `n` characters on one line, with "…" when cut. */
export function short(text: string, n: number): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length <= n ? one : one.slice(0, n - 1) + "…";
}

/** The facts of an entry as a suffix: " (edited)", "  [👍 2, ok 1]". */
export function factsText(e: { edited?: true; reactions?: [string, number][] }): string {
  const r = e.reactions && e.reactions.length > 0 ? `  [${e.reactions.map(([t, n]) => `${t} ${n}`).join(", ")}]` : "";
  return (e.edited ? " (edited)" : "") + r;
}

/**
 * Where the client speaks: a terminal (slash commands are the only
 * controls) or the web page (buttons for older messages, a list of
 * conversations). The words differ only where the surfaces do.
 */
export type Surface = "terminal" | "page";

/** The words that differ by surface (one home for both); the rest are the same everywhere. */
export const surfaceWords = {
  terminal: {
    /** After a room's newest messages, when older ones exist; null: the surface shows its own control. */
    olderHint: (room: string): string | null => `older messages of ${room}: /history [N]`,
    /** A direct conversation someone else opened. */
    dmFrom: (user: string) => `direct message from ${user}: /query ${user} to answer`,
    /** /help's lines that differ (by command word). */
    help: {
      register: "/register       register your name with a password (typed hidden, or --password-file)",
      quit: "/quit           log out and exit",
    } as Record<string, string>,
  },
  page: {
    olderHint: (_room: string): string | null => null,
    dmFrom: (user: string) => `direct message from ${user} (under Direct messages)`,
    /** Said after the page reloaded itself for servers added (lib/client/page_servers.ts). */
    reloadedFor: (added: readonly string[]) => `server list updated: added ${added.join(", ")}; the page reloaded itself to reach ${added.length === 1 ? "it" : "them"}`,
    /** Said when no server answers, the page's own one included (a reload would show the browser's error page). */
    openElsewhere: (urls: readonly string[]) => `no server this page knows is answering, its own included; servers added since it loaded: ${urls.join(", ")}`,
    /** Said instead when a reload would ask for the password: the user reloads when it suits. */
    reloadToReach: (added: readonly string[]) => `server list updated: added ${added.join(", ")}; reload the page to reach ${added.length === 1 ? "it" : "them"} (you will be asked for your password)`,
    help: {
      register: "/register       register your name with a password (a form asks for it)",
      quit: "/quit           log out (the login screen comes back)",
    } as Record<string, string>,
  },
} as const;

/** /help's lines for `surface`: `base` (lib/client/commands.ts HELP) with the surface's own lines in place. */
export function helpLines(base: readonly string[], surface: Surface = "terminal"): string[] {
  const own = surfaceWords[surface].help;
  return base.map((line) => own[/^\/(\w+)/.exec(line)?.[1] ?? ""] ?? line);
}

/**
 * Why direct messages to `peer` go unsealed (docs/SEALED_DM_FORMAT.md): they
 * are sealed only when both are registered and the peer's key is published.
 */
export function unsealedDmWords(peer: string, why: "you-unregistered" | "peer-has-no-key"): string {
  const reason = why === "you-unregistered" ? "you are not registered (/register)" : `${peer} has published no key (${peer} is not registered)`;
  return `direct messages to ${peer} are NOT sealed: ${reason}`;
}

/** The words of the link's state (lib/client/connection.ts). */
export const linkWords = {
  reconnecting: (from: string) => `server ${from} is not answering; reconnecting…`,
  connected: (to: string) => `connected to ${to}`,
  noServer: () => "no server is answering; still trying",
  movedOn: (from: string, why: string, to: string) => `server ${from} takes no changes now (${why}); going on with ${to}`,
  newList: (added: readonly string[], dropped: readonly string[], now: readonly string[]) =>
    `server list updated: ${[...added.map((id) => `added ${id}`), ...dropped.map((id) => `dropped ${id}`)].join(", ")} (servers ${now.join(", ")})`,
} as const;

/** What a client says while it solves the proof of work a login's challenge asks for (docs/PROTOCOL.md "Accounts"). */
export function puzzleWords(userName: string): string {
  return `${userName} is being guessed at: solving a puzzle before the proof (a second or two)…`;
}

/**
 * A notice or action as a line ("* bob joined"), or null for a plain
 * message (docs/PROTOCOL.md "Notices": U+0001, a word, its arguments).
 *
 * @example
 * ```ts
 * noticeText("bob", "\u0001kick eve spam"); // "* bob kicked eve (spam)"
 * noticeText("bob", "\u0001me waves");      // "* bob waves"
 * noticeText("bob", "\u0001notice hi");     // "-bob- hi" (a message sent as a notice)
 * ```
 */
export function noticeText(user: string, text: string): string | null {
  if (!text.startsWith("\u0001")) return null;
  if (text.startsWith(NOTICE_MESSAGE)) return `-${user}- ${text.slice(NOTICE_MESSAGE.length)}`;
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
    case "quit": {
      const reason = [target, rest].filter((x) => x !== "").join(" ");
      return `* ${user} ${word === "quit" ? "quit" : "left"}${reason === "" ? "" : ` (${reason})`}`;
    }
    case "kick":
      return `* ${user} kicked ${target}${why}`;
    case "ban":
      return `* ${user} banned ${target}${why}`;
    case "unban":
      return `* ${user} lifted the ban on ${target}`;
    case "invite":
      return `* ${user} invited ${target}`;
    case "invite-to": // in a direct conversation: an invitation (docs/PROTOCOL.md "Moderation")
      return `* ${user} sent an invitation to ${target}: /join ${target}`;
    case "op":
      return `* ${user} made ${target} an operator`;
    case "deop":
      return `* ${user} took operator from ${target}`;
    case "topic":
      return rest === "" ? `* ${user} cleared the topic` : `* ${user} set the topic: ${rest}`;
    case "mode":
      return modeNotice(user, target);
  }
  return `* ${user} ${word} ${target}${why}`;
}

/** A `mode` notice's line: invite-only or open, a member limit set or lifted. */
function modeNotice(user: string, target: string): string {
  if (target === "+i") return `* ${user} made the room invite-only`;
  if (target === "-i") return `* ${user} opened the room to all`;
  if (target === "-l") return `* ${user} lifted the room's member limit`;
  if (target === "+s") return `* ${user} made the room secret (listed to its members only)`;
  if (target === "-s") return `* ${user} listed the room for all`;
  const words = MODE_NOTICES[target.slice(0, 2)];
  if (words !== undefined) return `* ${user} ${words.replace("ARG", target.slice(2))}`;
  return `* ${user} limited the room to ${target.slice(2)} members`;
}

/** The notices of the modes of issue 25's fifth round, by their first two characters (ARG: the rest). */
const MODE_NOTICES: Record<string, string> = {
  "+k": "set a key on the room (ARG)",
  "-k": "removed the room's key",
  "+m": "made the room moderated (operators and voiced names speak)",
  "-m": "let everyone in the room speak",
  "+v": "gave voice to ARG",
  "-v": "took voice from ARG",
  "+t": "let only operators set the topic",
  "-t": "let any member set the topic",
  "+n": "let only members send to the room",
  "-n": "let non-members send to the room",
};

/**
 * A `room` reply's mode ("-", "+i", "+s", "+l5", "+isl5") and, when given, its setting roles
 * ("*m", "*k", "*-t", "*-n": docs/PROTOCOL.md "Moderation") in words: "invite-only, secret, at most 5 members", "open to all".
 */
export function modeWords(mode: string, roles: readonly string[] = []): string {
  const limit = /l([0-9]+)/.exec(mode);
  const words = [mode.includes("i") ? "invite-only" : "open to all", ...(mode.includes("s") ? ["secret"] : []), ...(limit === null ? [] : [`at most ${limit[1]} members`])];
  if (roles.includes("*m")) words.push("moderated");
  if (roles.some((r) => r === "*k" || r.startsWith("*k="))) words.push("needs a key");
  if (roles.includes("*-t")) words.push("any member sets the topic");
  if (roles.includes("*-n")) words.push("non-members may send");
  return words.join(", ");
}

/** True for a notice of the server (join, leave, moderation), false for a message or a /me action. */
export function isServerNotice(text: string): boolean {
  return !isClientText(text);
}

/**
 * A stable number in [0, n) for a user name, case-insensitive as names
 * compare: the terminal picks an ANSI colour with it, the page a hue.
 */
export function nameShade(name: string, n: number): number {
  // FNV-1a from a seed, then a final mix: short names that differ in one letter land far apart. The seed
  // (instead of FNV's own basis, which gave bob, dave, mallory and trent one colour) spreads the names
  // people try first: alice … trent get 8 shades of the page's 10 (tests/client_display_test.ts).
  let h = 0xb498bf95;
  for (const c of nameKey(name)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) % n;
}

/** `/who`'s answer as a line. */
export function membersLine(room: string, names: readonly string[]): string {
  return `in ${room} (${names.length}): ${names.join(", ") || "nobody"}`;
}

/** `/rooms`' answer as a line; the rooms one is in are starred. */
export function roomsLine(names: readonly string[], joined: (name: string) => boolean): string {
  const mark = (n: string) => (joined(n) ? `${n}*` : n);
  return `rooms (${names.length}): ${names.map(mark).join(", ") || "none yet; /join ROOM makes one"}`;
}

/**
 * Who is typing or away in a room, in words: "bob is typing…", "bob and
 * carl are typing…", "dave is away", both joined by " · "; "" for nobody.
 */
export function presenceWords(states: readonly { userName: string; state: string }[]): string {
  const typing = states.filter((p) => p.state === "typing").map((p) => p.userName);
  const away = states.filter((p) => p.state === "away").map((p) => p.userName);
  const list = (names: string[]) => (names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`);
  return [typing.length ? `${list(typing)} ${typing.length === 1 ? "is" : "are"} typing…` : "", away.length ? `${list(away)} ${away.length === 1 ? "is" : "are"} away` : ""]
    .filter(Boolean).join(" · ");
}
