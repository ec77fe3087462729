/**
 * The client's pure parts: display and sanitizing, command parsing, tags,
 * and the per-room feed (cursor echo, each message shown once).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { clock, formatMessage, nameColor, oneLine, sanitize } from "../lib/client/display.ts";
import { describeError, helpLines, nameShade, surfaceWords, unsealedDmWords } from "../lib/client/wording.ts";
import { HELP } from "../lib/client/commands.ts";
import { readFileSync } from "node:fs";
import { parseLine } from "../lib/client/commands.ts";
import { roomNameProblem, userNameProblem } from "../lib/wire/names.ts";
import { makeTagger } from "../lib/client/tags.ts";
import { RoomFeed } from "../lib/client/feed.ts";
import type { PollEntry } from "../lib/wire/messages.ts";
import { formatVector, fromEntries } from "../lib/wire/vector.ts";

const entry = (msg: string, userName = "bob", origin = "a", n = 1): PollEntry => ({
  msgId: { origin, n },
  userName,
  sentAt: new Date(2024, 0, 2, 12, 3, 4).getTime(),
  msg,
});
const pipe = { tty: false, color: false };
const tty = { tty: true, color: false };

// --- Display -------------------------------------------------------------------

test("a message line: local HH:MM:SS, room, sender, text", () => {
  assert.is(formatMessage("lobby", entry("hi"), pipe), "12:03:04 [lobby] bob: hi");
  assert.is(formatMessage("lobby", entry("hi"), tty), "12:03:04 [lobby] bob: hi");
  assert.is(clock(new Date(2024, 5, 6, 7, 8, 9).getTime()), "07:08:09");
});

test("pipe mode: exactly one line, text escaped as on the wire", () => {
  const line = formatMessage("lobby", entry("one\ntwo\\three\r"), pipe);
  assert.is(line, "12:03:04 [lobby] bob: one\\ntwo\\\\three\\r");
  assert.not.match(line, /[\n\r]/);
});

test("tty mode: further lines of a multi-line message are indented under the text", () => {
  const out = formatMessage("lobby", entry("one\ntwo\nthree"), tty);
  const pad = " ".repeat("12:03:04 [lobby] bob: ".length);
  assert.is(out, `12:03:04 [lobby] bob: one\n${pad}two\n${pad}three`);
});

const HOSTILE: [string, string][] = [
  ["\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"], // clear screen, home
  ["\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"], // OSC window title, BEL
  ["a\x00b\x08c\td", "a\\x00b\\x08c\\x09d"], // NUL, backspace, tab
  ["x\x7fy", "x\\x7fy"], // DEL
  ["\x9b31m\x85", "\\x9b31m\\x85"], // C1 CSI, NEL
  ["abc\u202edcba\u2066\u2069\u200f", "abc\\u202edcba\\u2066\\u2069\\u200f"], // bidi
  ["l1\u2028l2", "l1\\u2028l2"], // line separator
  ["héllo 世界 🎉", "héllo 世界 🎉"], // ordinary text is left alone
];

test("control characters, ANSI escapes and bidi overrides are made visible", () => {
  for (const [raw, shown] of HOSTILE) {
    assert.is(sanitize(raw), shown, JSON.stringify(raw));
    for (const mode of [pipe, tty, { tty: true, color: true }]) {
      const out = formatMessage("lobby", entry(raw), mode).replace(/\x1b\[[0-9;]*m/g, ""); // our own colors only
      assert.not.match(out, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, JSON.stringify([raw, mode]));
    }
  }
});

test("tty mode keeps line feeds but not carriage returns", () => {
  assert.is(sanitize("a\nb\rc", true), "a\nb\\x0dc");
  assert.is(oneLine("a\nb\rc\x1b"), "a\\nb\\rc\\x1b");
});

test("room and user names are sanitized too", () => {
  const out = formatMessage("lo\x1bby", entry("hi", "b\u202eob"), pipe);
  assert.is(out, "12:03:04 [lo\\x1bby] b\\u202eob: hi");
});

test("colors: a stable color per name, case-insensitive; only sender, time and room styled", () => {
  assert.is(nameColor("Bob"), nameColor("bob"));
  const out = formatMessage("lobby", entry("hi"), { tty: true, color: true });
  assert.match(out, /\x1b\[\d+mbob\x1b\[0m: hi$/);
});

test("sealed rooms: a mark right before the text; placeholders in its place", () => {
  const e = entry("dc1:xyz", "alice");
  const sealed = { kind: "sealed", text: "hi\nthere" } as const;
  assert.is(formatMessage("lobby", e, pipe, sealed), "12:03:04 [lobby] alice: [sealed] hi\\nthere");
  const pad = " ".repeat("12:03:04 [lobby] alice: ".length + 3); // the lock is two columns wide
  assert.is(formatMessage("lobby", e, tty, sealed), `12:03:04 [lobby] alice: 🔒 hi\n${pad}there`);
  assert.is(formatMessage("lobby", e, pipe, { kind: "plain", text: "hi", marked: true }), "12:03:04 [lobby] alice: [plain] hi");
  assert.is(formatMessage("lobby", e, pipe, { kind: "plain", text: "hi" }), "12:03:04 [lobby] alice: hi");
  const locked = { kind: "locked", text: "[sealed message: wrong passphrase]" } as const;
  assert.is(formatMessage("lobby", e, pipe, locked), "12:03:04 [lobby] alice: [sealed message: wrong passphrase]");
  const colored = formatMessage("lobby", e, { tty: true, color: true }, { kind: "tampered", text: "[tampered sealed message]" });
  assert.match(colored, /: \x1b\[31m\[tampered sealed message\]\x1b\[0m$/);
  // Opened text is sanitized like any other.
  assert.is(formatMessage("lobby", e, pipe, { kind: "sealed", text: "a\x1b[2Jb" }), "12:03:04 [lobby] alice: [sealed] a\\x1b[2Jb");
});

test("errors in plain words: the client's, or the server's where they say more; never a code or protocol talk", () => {
  assert.is(describeError("no-room", "no room named x"), "no such room");
  assert.is(describeError("not-member", ""), "you are not in that room");
  assert.is(describeError("not-member", "you are banned from annex (by carol: spam)"), "you are banned from annex (by carol: spam)");
  assert.is(describeError("not-member", "not a member"), "you are not in that room");
  assert.is(describeError("bad-password", "wrong user name or password (or the challenge expired: send auth again)"), "wrong user name or password");
  assert.is(describeError("rate-limited", "too many wrong passwords; try again in 4 s"), "too many wrong passwords; try again in 4 s");
  assert.is(describeError("bad-request", "msg: message text must be 1 to 2000 bytes"), "the server did not understand the request");
  assert.is(describeError("weird-new-code", "\x1b[31m"), "\\x1b[31m", "an unknown code: the server's words, sanitized");
  assert.is(describeError("weird-new-code", ""), "the server refused the request");
});

// --- Commands ------------------------------------------------------------------

test("slash commands parse with their arguments", () => {
  assert.equal(parseLine("/create general"), { kind: "create", room: "general" });
  assert.equal(parseLine("/join lobby"), { kind: "join", room: "lobby" });
  assert.equal(parseLine("/JOIN lobby\r"), { kind: "join", room: "lobby" });
  assert.equal(parseLine("/leave"), { kind: "leave", room: null });
  assert.equal(parseLine("/leave lobby"), { kind: "leave", room: "lobby" });
  assert.equal(parseLine("/who"), { kind: "who", room: null });
  assert.equal(parseLine("/who  x.y-z_1 "), { kind: "who", room: "x.y-z_1" });
  assert.equal(parseLine("/switch b"), { kind: "switch", room: "b" });
  assert.equal(parseLine("/rooms"), { kind: "rooms" });
  assert.equal(parseLine("/quit"), { kind: "quit" });
  assert.equal(parseLine("/help"), { kind: "help" });
  assert.equal(parseLine("/key"), { kind: "key", room: null });
  assert.equal(parseLine("/key Lobby"), { kind: "key", room: "Lobby" });
  assert.equal(parseLine("/unkey"), { kind: "unkey", room: null });
  assert.equal(parseLine("/UNKEY lobby"), { kind: "unkey", room: "lobby" });
});

test("plain lines are messages; // escapes a leading slash; blank lines are nothing", () => {
  assert.equal(parseLine("hello there"), { kind: "say", text: "hello there" });
  assert.equal(parseLine("  spaced  "), { kind: "say", text: "  spaced  " });
  assert.equal(parseLine("//shrug"), { kind: "say", text: "/shrug" });
  assert.equal(parseLine("   "), { kind: "none" });
  assert.equal(parseLine(""), { kind: "none" });
});

test("bad commands say what is wrong", () => {
  const invalid = (line: string) => {
    const c = parseLine(line);
    assert.is(c.kind, "invalid", line);
    return (c as { message: string }).message;
  };
  assert.match(invalid("/frobnicate"), "unknown command /frobnicate");
  assert.match(invalid("/join"), "usage: /join ROOM");
  assert.match(invalid("/join a b c"), "usage: /join ROOM"); // "/join a b": b is the room's key
  assert.match(invalid("/rooms x"), "usage: /rooms");
  assert.match(invalid("/key my secret"), "usage: /key [ROOM]"); // never a passphrase on the command line
  assert.match(invalid("/key -x"), "not a valid room name");
  assert.match(invalid("/join -bad"), "not a valid room name");
  assert.match(invalid("/create " + "x".repeat(65)), "not a valid room name");
  assert.is(roomNameProblem("x".repeat(64)), null);
  assert.is(userNameProblem("bob.smith_2"), null);
  assert.ok(userNameProblem("x".repeat(33)));
  assert.ok(userNameProblem("_bob"));
});

// --- Tags ----------------------------------------------------------------------

test("tags are fresh, alphanumeric, at most 16 characters", () => {
  const next = makeTagger();
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const t = next();
    assert.match(t, /^[A-Za-z0-9]{1,16}$/);
    assert.not.ok(seen.has(t), t);
    seen.add(t);
  }
  const a = makeTagger(() => 0.1)(), b = makeTagger(() => 0.9)();
  assert.is.not(a, b, "the random prefix tells runs apart");
});

// --- Feed ----------------------------------------------------------------------

const poll = (cursor: [string, number][], entries: PollEntry[]) => ({ cursor: fromEntries(cursor), entries });

test("feed: echoes the server's cursor and shows each message once", () => {
  const feed = new RoomFeed();
  assert.is(formatVector(feed.cursor), "0");
  const first = feed.accept(poll([["a", 2]], [entry("1", "bob", "a", 1), entry("2", "bob", "a", 2)]));
  assert.equal(first.map((e) => e.msg), ["1", "2"]);
  assert.is(formatVector(feed.cursor), "a=2");
  // The same reply again (e.g. a retransmitted poll answered twice): nothing new.
  assert.equal(feed.accept(poll([["a", 2]], [entry("1", "bob", "a", 1), entry("2", "bob", "a", 2)])), []);
  // Another server after failover lists an old one again plus new ones from two origins.
  const next = feed.accept(poll([["a", 3], ["b", 1]], [
    entry("2", "bob", "a", 2),
    entry("b1", "amy", "b", 1),
    entry("3", "bob", "a", 3),
  ]));
  assert.equal(next.map((e) => e.msg), ["b1", "3"]);
  assert.is(formatVector(feed.cursor), "a=3,b=1");
});

test("feed: the cursor is whatever the server sent, unknown origins included", () => {
  const feed = new RoomFeed();
  feed.accept(poll([["a", 5], ["zz", 9]], []));
  assert.is(formatVector(feed.cursor), "a=5,zz=9");
});

// --- Words per surface, names' colours -----------------------------------------------

test("the page's words leave out what only a terminal has; the terminal's keep it", () => {
  const page = helpLines(HELP, "page").join("\n"), term = helpLines(HELP, "terminal").join("\n");
  assert.not.match(page, /--password-file|exit/);
  assert.match(page, /^\/quit +log out/m);
  assert.match(term, /--password-file/);
  assert.match(term, /^\/quit +log out and exit$/m);
  assert.is(helpLines(HELP, "page").length, HELP.length);
  assert.is(surfaceWords.page.olderHint("lobby"), null, "the page has its Load older messages button");
  assert.is(surfaceWords.terminal.olderHint("lobby"), "older messages of lobby: /history [N]");
  assert.not.match(surfaceWords.page.dmFrom("bob"), /\/query/);
  assert.match(surfaceWords.terminal.dmFrom("bob"), /\/query bob to answer/);
  assert.match(HELP.join("\n"), /^\/join ROOM \[KEY\] +join a room, made when there is none/m);
});

test("an unsealed conversation says which party lacks a key, in a whole sentence", () => {
  assert.is(unsealedDmWords("bob", "peer-has-no-key"), "direct messages to bob are NOT sealed: bob has published no key (bob is not registered)");
  assert.is(unsealedDmWords("bob", "you-unregistered"), "direct messages to bob are NOT sealed: you are not registered (/register)");
});

test("names' colours: 8 common names get at least 6 distinct colours, in the page (10) and the terminal (12)", () => {
  for (const names of [["alice", "bob", "carol", "dave", "eve", "frank", "mallory", "trent"], ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hana"]]) {
    for (const n of [10, 12]) {
      const shades = new Set(names.map((x) => nameShade(x, n)));
      assert.ok(shades.size >= 6, `${names.join(",")} in ${n}: ${shades.size}`);
    }
  }
  assert.is(nameShade("Bob", 10), nameShade("bob", 10), "case-insensitive, as names compare");
});

/** WCAG contrast of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const lum = (h: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

test("the page's name colours (web/style.css) reach 4.5:1 on every background they meet, light and dark, and differ from each other", () => {
  const css = readFileSync(new URL("../web/style.css", import.meta.url), "utf8");
  const dark = css.indexOf("@media (prefers-color-scheme: dark)");
  for (const [scheme, block] of [["light", css.slice(0, dark)], ["dark", css.slice(dark, css.indexOf("\n}\n", dark))]] as const) {
    const v = (name: string) => new RegExp(`--${name}: (#[0-9a-f]{6})`).exec(block)?.[1] ?? "";
    const nicks = Array.from({ length: 10 }, (_, i) => v(`nick-${i}`));
    assert.ok(nicks.every((c) => c !== ""), `${scheme}: ten colours`);
    assert.is(new Set(nicks).size, 10);
    for (const bg of ["bg", "surface", "raised", "mention-bg"]) {
      for (const [i, c] of nicks.entries()) assert.ok(contrast(c, v(bg)) >= 4.5, `${scheme} nick-${i} ${c} on --${bg} ${v(bg)}: ${contrast(c, v(bg)).toFixed(2)}`);
    }
  }
});

test.run();
