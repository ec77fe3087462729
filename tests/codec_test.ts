/**
 * lib/wire/codec.ts against fixture tables (mqtt-packet style): ONE table of
 * valid datagrams drives the parse, format and round-trip tests, for every
 * request and reply of docs/PROTOCOL.md and every peer datagram of
 * docs/PEER_PROTOCOL.md; a second table lists malformed datagrams with the
 * error code and tag they must be answered with.
 */
import { Buffer } from "node:buffer";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { base64Bytes, fromBase64, fromBase64Url, toBase64, toBase64Url } from "../lib/wire/base64.ts";
import { readFileSync } from "node:fs";
import {
  decodePeer,
  decodeReply,
  decodeRequest,
  encodePeer,
  encodeReply,
  encodeRequest,
  escapeText,
  MAX_DATAGRAM,
  utf8Length,
} from "../lib/wire/codec.ts";
import type {
  ErrorCode,
  PeerDatagram,
  ProtocolError,
  Reply,
  Request,
  Result,
  SignedPeerDatagram,
} from "../lib/wire/messages.ts";
import { ERROR_CODES, MAX_MSG_BYTES } from "../lib/wire/messages.ts";
import { peerMac } from "../lib/replication/peer_auth.ts";
import { EMPTY, fromEntries, formatVector } from "../lib/wire/vector.ts";
import type { Vector } from "../lib/wire/vector.ts";

// --- Helpers -----------------------------------------------------------------

const utf8 = new TextEncoder();
const bytes = (s: string): Uint8Array => utf8.encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const crlf = (s: string): string => s.replace(/\n/g, "\r\n");
const vec = (...pairs: [string, number][]): Vector => fromEntries(pairs);
const cat = (...parts: (string | Uint8Array)[]): Uint8Array =>
  new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === "string" ? bytes(p) : p))));

const TOK = "Qm9iLXNlc3Npb24tdG9rZW4";
const SESSION = "0123456789abcdef".repeat(4);
const SESSION2 = "fedcba9876543210".repeat(4);
const NONCE = "1732400000000.0123456789abcdef";
const MAC = "a1b2".repeat(16);

/** Exactly MAX_MSG_BYTES of UTF-8 with multi-byte characters at the end. */
const MSG_2000 = "€".repeat(666) + "é"; // 1998 + 2
const MSG_2001 = "€".repeat(667); // 2001
const EMOJI_2000 = "😀".repeat(500);

// --- The fixture table ----------------------------------------------------------

type Kind = "request" | "reply" | "peer";
type Row = {
  name: string;
  kind: Kind;
  /** The datagram as sent, LF line endings. */
  wire: string;
  /** What it decodes to (peer: the datagram, with signed text and mac). */
  value: Request | Reply | SignedPeerDatagram;
  /** False when the codec formats the value differently (e.g. drops a zero waitMs). */
  canonical: boolean;
};

const rows: Row[] = [];
const req = (name: string, wire: string, value: Request, canonical = true) =>
  rows.push({ name, kind: "request", wire, value, canonical });
const rep = (name: string, wire: string, value: Reply, canonical = true) =>
  rows.push({ name, kind: "reply", wire, value, canonical });
/** Signed text and mac are read from the wire: the mac is its last line. */
const peer = (name: string, wire: string, datagram: PeerDatagram, canonical = true) => {
  const macStart = wire.lastIndexOf("\n", wire.length - 2) + 1;
  const value = { datagram, signed: wire.slice(0, macStart), mac: wire.slice(macStart, -1) };
  rows.push({ name, kind: "peer", wire, value, canonical });
};
const lines = (...fields: (string | number)[]) => fields.join("\n") + "\n";

// Requests: docs/PROTOCOL.md "Requests".
req("login", lines("login", "7", "bob"), { verb: "login", tag: "7", userName: "bob" });
req("login, longest name and tag", lines("login", "A".repeat(16), "Z" + "a_.-9".repeat(6) + "x"), {
  verb: "login",
  tag: "A".repeat(16),
  userName: "Z" + "a_.-9".repeat(6) + "x",
});
req("history, the newest 50 (docs/PROTOCOL.md example)", lines("history", "9", TOK, "lobby", 50), {
  verb: "history",
  tag: "9",
  token: TOK,
  groupName: "lobby",
  limit: 50,
  before: null,
});
req("history before a msgID of an incarnation", lines("history", "9", TOK, "lobby", 1000, "a~m3k2x1c.17"), {
  verb: "history",
  tag: "9",
  token: TOK,
  groupName: "lobby",
  limit: 1000,
  before: { origin: "a~m3k2x1c", n: 17 },
});
req("open", lines("open", "T1", TOK, "lobby"), { verb: "open", tag: "T1", token: TOK, groupName: "lobby" });
req("open, longest room and token", lines("open", "T1", "x".repeat(128), "R" + "o".repeat(63)), {
  verb: "open",
  tag: "T1",
  token: "x".repeat(128),
  groupName: "R" + "o".repeat(63),
});
req("connect", lines("connect", "T2", TOK, "Lobby.2"), {
  verb: "connect",
  tag: "T2",
  token: TOK,
  groupName: "Lobby.2",
});
req("add (docs/PROTOCOL.md example)", lines("add", "7", TOK, "hi\\nthere", "lobby"), {
  verb: "add",
  tag: "7",
  token: TOK,
  msg: "hi\nthere",
  groupName: "lobby",
});
req("add, every escape", lines("add", "8", TOK, "a\\\\b\\r\\nc\\\\n", "lobby"), {
  verb: "add",
  tag: "8",
  token: TOK,
  msg: "a\\b\r\nc\\n",
  groupName: "lobby",
});
req("add, unicode and control characters", lines("add", "9", TOK, "héllo 😀\t\u0000\u2028 x", "lobby"), {
  verb: "add",
  tag: "9",
  token: TOK,
  msg: "héllo 😀\t\u0000\u2028 x",
  groupName: "lobby",
});
req("add, exactly 2000 bytes ending in a 2-byte char", lines("add", "9", TOK, MSG_2000, "lobby"), {
  verb: "add",
  tag: "9",
  token: TOK,
  msg: MSG_2000,
  groupName: "lobby",
});
req("add, exactly 2000 bytes of 4-byte chars", lines("add", "9", TOK, EMOJI_2000, "lobby"), {
  verb: "add",
  tag: "9",
  token: TOK,
  msg: EMOJI_2000,
  groupName: "lobby",
});
req("add, 2000 escaped line feeds", lines("add", "9", TOK, "\\n".repeat(2000), "lobby"), {
  verb: "add",
  tag: "9",
  token: TOK,
  msg: "\n".repeat(2000),
  groupName: "lobby",
});
req("request, cursor 0, no waitMs", lines("request", "R1", TOK, "lobby", "0"), {
  verb: "request",
  tag: "R1",
  token: TOK,
  groupName: "lobby",
  cursor: EMPTY,
  waitMs: 0,
});
req("request, multi-origin cursor, waitMs", lines("request", "R2", TOK, "lobby", "a=3,b-2=12,c_x=1", "30000"), {
  verb: "request",
  tag: "R2",
  token: TOK,
  groupName: "lobby",
  cursor: vec(["a", 3], ["b-2", 12], ["c_x", 1]),
  waitMs: 30000,
});
req("request, cursor with incarnations (server a~… after a lost disk)", lines("request", "R4", TOK, "lobby", "a=3,a~m3k2x1c=5", "5"), {
  verb: "request",
  tag: "R4",
  token: TOK,
  groupName: "lobby",
  cursor: vec(["a", 3], ["a~m3k2x1c", 5]),
  waitMs: 5,
});
req("request, origins starting with 0", lines("request", "R3", TOK, "lobby", "0=4,00=2,0a=1", "5"), {
  verb: "request",
  tag: "R3",
  token: TOK,
  groupName: "lobby",
  cursor: vec(["0", 4], ["00", 2], ["0a", 1]),
  waitMs: 5,
});
req("request, waitMs above the cap is kept", lines("request", "R4", TOK, "lobby", "a=1", "99999"), {
  verb: "request",
  tag: "R4",
  token: TOK,
  groupName: "lobby",
  cursor: vec(["a", 1]),
  waitMs: 99999,
});
req("request, explicit waitMs 0", lines("request", "R5", TOK, "lobby", "0", "0"), {
  verb: "request",
  tag: "R5",
  token: TOK,
  groupName: "lobby",
  cursor: EMPTY,
  waitMs: 0,
}, false);
req("request, unsorted cursor with a zero entry", lines("request", "R6", TOK, "lobby", "b=2,z=0,a=1"), {
  verb: "request",
  tag: "R6",
  token: TOK,
  groupName: "lobby",
  cursor: vec(["a", 1], ["b", 2]),
  waitMs: 0,
}, false);
req("request, largest safe integer", lines("request", "R7", TOK, "lobby", "a=9007199254740991"), {
  verb: "request",
  tag: "R7",
  token: TOK,
  groupName: "lobby",
  cursor: vec(["a", Number.MAX_SAFE_INTEGER]),
  waitMs: 0,
});
req("leave", lines("leave", "L", TOK, "lobby"), { verb: "leave", tag: "L", token: TOK, groupName: "lobby" });
req("rooms", lines("rooms", "r1", TOK), { verb: "rooms", tag: "r1", token: TOK, after: null });
req("rooms after", lines("rooms", "r2", TOK, "lobby"), { verb: "rooms", tag: "r2", token: TOK, after: "lobby" });
req("who", lines("who", "w1", TOK, "lobby"), { verb: "who", tag: "w1", token: TOK, groupName: "lobby", after: null });
req("who after", lines("who", "w2", TOK, "lobby", "bob"), {
  verb: "who",
  tag: "w2",
  token: TOK,
  groupName: "lobby",
  after: "bob",
});
req("logout", lines("logout", "x", TOK), { verb: "logout", tag: "x", token: TOK });

// Replies: docs/PROTOCOL.md "Replies".
rep("ok login", lines("ok", "7", "login", "bob", TOK, 600), {
  verb: "ok",
  tag: "7",
  kind: "login",
  userName: "bob",
  token: TOK,
  ttl: 600,
});
for (const kind of ["open", "connect", "leave"] as const) {
  rep(`ok ${kind}`, lines("ok", "T1", kind, "lobby"), { verb: "ok", tag: "T1", kind, groupName: "lobby" });
}
rep("ok add", lines("ok", "7", "add", "hi\\nthere \\\\o/\\r", "lobby", "a.42"), {
  verb: "ok",
  tag: "7",
  kind: "add",
  msg: "hi\nthere \\o/\r",
  groupName: "lobby",
  msgId: { origin: "a", n: 42 },
});
rep("ok rooms, none", lines("ok", "r1", "rooms", 0, 0), {
  verb: "ok",
  tag: "r1",
  kind: "rooms",
  more: false,
  names: [],
});
rep("ok rooms, several and more", lines("ok", "r2", "rooms", 1, 3, "Alpha", "beta", "G.3"), {
  verb: "ok",
  tag: "r2",
  kind: "rooms",
  more: true,
  names: ["Alpha", "beta", "G.3"],
});
rep("ok who, none", lines("ok", "w1", "who", "lobby", 0, 0), {
  verb: "ok",
  tag: "w1",
  kind: "who",
  groupName: "lobby",
  more: false,
  names: [],
});
rep("ok who, several", lines("ok", "w2", "who", "lobby", 1, 2, "alice", "bob_2"), {
  verb: "ok",
  tag: "w2",
  kind: "who",
  groupName: "lobby",
  more: true,
  names: ["alice", "bob_2"],
});
rep("ok logout", lines("ok", "x", "logout"), { verb: "ok", tag: "x", kind: "logout" });
rep(
  "ok history (docs/PROTOCOL.md example)",
  lines("ok", "9", "history", "lobby", "a=812,b=40", 1, 2, "a.811", "alice", 1732400000000, "hi", "b.40", "bob", 1732400000500, "hello"),
  {
    verb: "ok",
    tag: "9",
    kind: "history",
    groupName: "lobby",
    cursor: vec(["a", 812], ["b", 40]),
    more: true,
    entries: [
      { msgId: { origin: "a", n: 811 }, userName: "alice", sentAt: 1732400000000, msg: "hi" },
      { msgId: { origin: "b", n: 40 }, userName: "bob", sentAt: 1732400000500, msg: "hello" },
    ],
  },
);
rep("ok history, empty room", lines("ok", "h", "history", "r", "0", 0, 0), {
  verb: "ok",
  tag: "h",
  kind: "history",
  groupName: "r",
  cursor: EMPTY,
  more: false,
  entries: [],
});
rep("poll, no entries", lines("poll", "P0", "lobby", "0", 0, 0), {
  verb: "poll",
  tag: "P0",
  groupName: "lobby",
  cursor: EMPTY,
  more: false,
  entries: [],
});
rep("poll, an entry from an incarnation", lines("poll", "P2", "lobby", "a=3,a~m3k2x1c=1", 0, 1, "a~m3k2x1c.1", "bob", 1732400000999, "back"), {
  verb: "poll",
  tag: "P2",
  groupName: "lobby",
  cursor: vec(["a", 3], ["a~m3k2x1c", 1]),
  more: false,
  entries: [{ msgId: { origin: "a~m3k2x1c", n: 1 }, userName: "bob", sentAt: 1732400000999, msg: "back" }],
});
rep(
  "poll, several entries",
  lines(
    "poll",
    "P1",
    "lobby",
    "a=3,b=2",
    1,
    3,
    ...["a.2", "alice", 1732400000123, "hello"],
    ...["b.2", "bob", 1732400000456, "line1\\nline2 \\\\o/"],
    ...["a.3", "alice", 1732400000789, MSG_2000],
  ),
  {
    verb: "poll",
    tag: "P1",
    groupName: "lobby",
    cursor: vec(["a", 3], ["b", 2]),
    more: true,
    entries: [
      { msgId: { origin: "a", n: 2 }, userName: "alice", sentAt: 1732400000123, msg: "hello" },
      { msgId: { origin: "b", n: 2 }, userName: "bob", sentAt: 1732400000456, msg: "line1\nline2 \\o/" },
      { msgId: { origin: "a", n: 3 }, userName: "alice", sentAt: 1732400000789, msg: MSG_2000 },
    ],
  },
);
for (const code of ERROR_CODES) {
  rep(`error ${code}`, lines("error", "E1", code, `it failed: ${code}`), {
    verb: "error",
    tag: "E1",
    code,
    message: `it failed: ${code}`,
  });
}
rep("error, tag -", lines("error", "-", "bad-request", "malformed datagram"), {
  verb: "error",
  tag: "-",
  code: "bad-request",
  message: "malformed datagram",
});
rep("error, empty message", lines("error", "E2", "internal", ""), {
  verb: "error",
  tag: "E2",
  code: "internal",
  message: "",
});

// Accounts, direct messages, moderation, notices: docs/PROTOCOL.md "Accounts" and after.
const K32 = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
const VER = { salt: "c2FsdHNhbHRzYWx0", iterations: 4096, storedKey: K32, serverKey: K32 };
const FINAL = "c=biws,r=abcdefghijklmnopqrstSRV,p=dHbmmUs5d3ubqvi8azIC1nkQi7a6o4h1fImu5b1BYB4=";
req("auth", lines("auth", "A1", "bob", "abcdefghijklmnopqrst"), { verb: "auth", tag: "A1", userName: "bob", nonce: "abcdefghijklmnopqrst" });
req("login with a SCRAM proof", lines("login", "A2", "bob", FINAL), { verb: "login", tag: "A2", userName: "bob", proof: FINAL });
req("register", lines("register", "A3", TOK, VER.salt, 4096, K32, K32, K32), { verb: "register", tag: "A3", token: TOK, verifier: VER, publicKey: K32 });
req("register with an 8-byte salt (the least)", lines("register", "A3", TOK, btoa("12345678"), 4096, K32, K32, "-"), { verb: "register", tag: "A3", token: TOK, verifier: { ...VER, salt: btoa("12345678") }, publicKey: "-" });
req("register without a key", lines("register", "A3", TOK, VER.salt, 4096, K32, K32, "-"), { verb: "register", tag: "A3", token: TOK, verifier: VER, publicKey: "-" });
req("password", lines("password", "A4", "bob", FINAL, VER.salt, 4096, K32, K32), { verb: "password", tag: "A4", userName: "bob", proof: FINAL, verifier: VER });
req("drop", lines("drop", "A5", "bob", FINAL), { verb: "drop", tag: "A5", userName: "bob", proof: FINAL, verifier: null });
req("pubkey", lines("pubkey", "A6", TOK, K32), { verb: "pubkey", tag: "A6", token: TOK, publicKey: K32 });
req("whois", lines("whois", "A7", TOK, "Carol"), { verb: "whois", tag: "A7", token: TOK, userName: "Carol" });
req("dms", lines("dms", "A8", TOK), { verb: "dms", tag: "A8", token: TOK });
req("room", lines("room", "A9", TOK, "lobby"), { verb: "room", tag: "A9", token: TOK, groupName: "lobby" });
req("mod kick with a reason", lines("mod", "B1", TOK, "lobby", "kick", "eve", "spam\\\\again"), { verb: "mod", tag: "B1", token: TOK, groupName: "lobby", action: "kick", target: "eve", text: "spam\\again" });
req("mod topic", lines("mod", "B2", TOK, "lobby", "topic", "-", "friday plans"), { verb: "mod", tag: "B2", token: TOK, groupName: "lobby", action: "topic", target: "-", text: "friday plans" });
req("mod mode, empty text", lines("mod", "B3", TOK, "lobby", "mode", "+i", ""), { verb: "mod", tag: "B3", token: TOK, groupName: "lobby", action: "mode", target: "+i", text: "" });
req("add to a direct conversation", lines("add", "B4", TOK, "hi", "@bob"), { verb: "add", tag: "B4", token: TOK, msg: "hi", groupName: "@bob" });
req("request with notices", lines("request", "B5", TOK, "lobby", "a=3", 25000, "notices"), { verb: "request", tag: "B5", token: TOK, groupName: "lobby", cursor: vec(["a", 3]), waitMs: 25000, notices: true });
req("history with notices", lines("history", "B6", TOK, "lobby", 20, "notices"), { verb: "history", tag: "B6", token: TOK, groupName: "lobby", limit: 20, before: null, notices: true });
rep("ok login with a server signature", lines("ok", "A2", "login", "bob", TOK, 300, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), { verb: "ok", tag: "A2", kind: "login", userName: "bob", token: TOK, ttl: 300, serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" });
rep("ok auth", lines("ok", "A1", "auth", "bob", "r=abcdefghijklmnopqrstSRV,s=c2FsdHNhbHRzYWx0,i=4096"), { verb: "ok", tag: "A1", kind: "auth", userName: "bob", serverFirst: "r=abcdefghijklmnopqrstSRV,s=c2FsdHNhbHRzYWx0,i=4096" });
rep("ok register", lines("ok", "A3", "register", "bob"), { verb: "ok", tag: "A3", kind: "register", userName: "bob" });
rep("ok pubkey", lines("ok", "A6", "pubkey", "bob"), { verb: "ok", tag: "A6", kind: "pubkey", userName: "bob" });
rep("ok password", lines("ok", "A4", "password", "bob", "v=xyz="), { verb: "ok", tag: "A4", kind: "password", userName: "bob", serverFinal: "v=xyz=" });
rep("ok drop", lines("ok", "A5", "drop", "bob", "v=xyz="), { verb: "ok", tag: "A5", kind: "drop", userName: "bob", serverFinal: "v=xyz=" });
rep("ok whois", lines("ok", "A7", "whois", "carol", 1, 12, K32, 2, "lobby", "dev"), { verb: "ok", tag: "A7", kind: "whois", userName: "carol", registered: true, idle: 12, publicKey: K32, rooms: ["lobby", "dev"] });
rep("ok whois, not logged in", lines("ok", "A7", "whois", "carol", 1, "-", "-", 0), { verb: "ok", tag: "A7", kind: "whois", userName: "carol", registered: true, idle: null, publicKey: "-", rooms: [] });
rep("ok dms", lines("ok", "A8", "dms", 2, "@bob", "a.7", "@carol", "-"), { verb: "ok", tag: "A8", kind: "dms", entries: [{ groupName: "@bob", last: { origin: "a", n: 7 } }, { groupName: "@carol", last: null }] });
rep("ok room", lines("ok", "A9", "room", "lobby", "+i", "bob", 1732400000000, "friday\\\\nplans", 3, "~alice", "@bob", "!eve"), { verb: "ok", tag: "A9", kind: "room", groupName: "lobby", mode: "+i", topicBy: "bob", topicAt: 1732400000000, topic: "friday\\nplans", roles: ["~alice", "@bob", "!eve"] });
rep("ok mod", lines("ok", "B1", "mod", "lobby", "kick", "eve"), { verb: "ok", tag: "B1", kind: "mod", groupName: "lobby", action: "kick", target: "eve" });
// Message actions, search, read state, typing (docs/PROTOCOL.md "Message actions" and after).
req("add a reply", lines("add", "C1", TOK, "sure", "lobby", "a.7"), { verb: "add", tag: "C1", token: TOK, msg: "sure", groupName: "lobby", re: { origin: "a", n: 7 } });
req("act edit", lines("act", "C2", TOK, "lobby", "edit", "a.7", "fixed\\ntext"), { verb: "act", tag: "C2", token: TOK, groupName: "lobby", action: "edit", target: { origin: "a", n: 7 }, text: "fixed\ntext" });
req("act del", lines("act", "C3", TOK, "@bob", "del", "b~k2.12", ""), { verb: "act", tag: "C3", token: TOK, groupName: "@bob", action: "del", target: { origin: "b~k2", n: 12 }, text: "" });
req("act react", lines("act", "C4", TOK, "lobby", "react", "a.7", "👍"), { verb: "act", tag: "C4", token: TOK, groupName: "lobby", action: "react", target: { origin: "a", n: 7 }, text: "👍" });
req("act read", lines("act", "C5", TOK, "lobby", "read", "a.7", ""), { verb: "act", tag: "C5", token: TOK, groupName: "lobby", action: "read", target: { origin: "a", n: 7 }, text: "" });
req("search a room", lines("search", "C6", TOK, "lobby", "deploy friday", 20), { verb: "search", tag: "C6", token: TOK, groupName: "lobby", query: "deploy friday", limit: 20, before: null });
req("search every room, next page", lines("search", "C7", TOK, "*", "@bob", 20, "a.9"), { verb: "search", tag: "C7", token: TOK, groupName: "*", query: "@bob", limit: 20, before: { origin: "a", n: 9 } });
req("search newest first", lines("search", "C8", TOK, "*", "@bob", 20, "newest"), { verb: "search", tag: "C8", token: TOK, groupName: "*", query: "@bob", limit: 20, before: null, order: "newest" });
req("search newest first, next page", lines("search", "C9", TOK, "lobby", "x", 5, "a.9", "newest"), { verb: "search", tag: "C9", token: TOK, groupName: "lobby", query: "x", limit: 5, before: { origin: "a", n: 9 }, order: "newest" });
req("unread", lines("unread", "C8", TOK), { verb: "unread", tag: "C8", token: TOK });
req("typing", lines("typing", "C9", TOK, "lobby", "typing", ""), { verb: "typing", tag: "C9", token: TOK, groupName: "lobby", state: "typing", text: "" });
rep("ok act", lines("ok", "C2", "act", "lobby", "edit", "a.7"), { verb: "ok", tag: "C2", kind: "act", groupName: "lobby", action: "edit", target: { origin: "a", n: 7 } });
rep("ok search", lines("ok", "C6", "search", 1, 1, "lobby", "a.3", "bob", 1732400000000, "deploy on friday", "*edited re=a.1 r=👍=2 r=ok=1"), {
  verb: "ok", tag: "C6", kind: "search", more: true,
  hits: [{ groupName: "lobby", msgId: { origin: "a", n: 3 }, userName: "bob", sentAt: 1732400000000, msg: "deploy on friday", edited: true, re: { origin: "a", n: 1 }, reactions: [["👍", 2], ["ok", 1]] }],
});
rep("ok unread", lines("ok", "C8", "unread", 2, "lobby", "a.7", 3, "dev", "-", 0), { verb: "ok", tag: "C8", kind: "unread", entries: [{ groupName: "lobby", mark: { origin: "a", n: 7 }, unread: 3 }, { groupName: "dev", mark: null, unread: 0 }] });
rep("ok typing", lines("ok", "C9", "typing", "lobby", 2, "carl", "typing", "dave", "away"), { verb: "ok", tag: "C9", kind: "typing", groupName: "lobby", states: [{ userName: "carl", state: "typing" }, { userName: "dave", state: "away" }] });
// The live membership (docs/PROTOCOL.md "servers").
req("servers", lines("servers", "S1"), { verb: "servers", tag: "S1" });
rep("ok servers", lines("ok", "S1", "servers", 2, "a", "127.0.0.1:7001", "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=", "d", "[::1]:7004", "-"), {
  verb: "ok", tag: "S1", kind: "servers", servers: [{ id: "a", client: "127.0.0.1:7001", publicKey: "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=" }, { id: "d", client: "[::1]:7004", publicKey: "-" }],
});
rep("poll with an edited reply", lines("poll", "C10", "lobby", "a=4", 0, 2, "a.3", "bob", 5, "x", "*edited", "a.4", "carl", 6, "\u0001del a.3"), {
  verb: "poll", tag: "C10", groupName: "lobby", cursor: new Map([["a", 4]]), more: false,
  entries: [{ msgId: { origin: "a", n: 3 }, userName: "bob", sentAt: 5, msg: "x", edited: true }, { msgId: { origin: "a", n: 4 }, userName: "carl", sentAt: 6, msg: "\u0001del a.3" }],
});
peer(
  "peer add: a reply and message acts",
  lines(
    "add", "b", "-", "0", 2,
    ...["b.1", "msg c >a.7", "0", 1732400000030, SESSION, "T9", "lobby", "bob", "yes"],
    ...["b.2", "act", "0", 1732400000031, SESSION, "edit", "lobby", "bob", "b.1", "yes!"],
    "-",
  ),
  {
    verb: "add", from: "b", nonce: "-", vector: EMPTY,
    ops: [
      { origin: "b", seq: 1, kind: "msg", conf: "c", re: "a.7", deps: EMPTY, at: 1732400000030, session: SESSION, tag: "T9", groupName: "lobby", userName: "bob", msg: "yes" },
      { origin: "b", seq: 2, kind: "act", deps: EMPTY, at: 1732400000031, session: SESSION, action: "edit", groupName: "lobby", userName: "bob", target: "b.1", text: "yes!" },
    ],
  },
);
peer(
  "peer pres: typing in one room, away in two",
  lines("pres", "b", "-", 2, "bob", "typing", 6000, "lobby", "carl", "away", 600000, "lobby @bob~0123456789ab@carl~0123456789ab", "-"),
  {
    verb: "pres", from: "b", nonce: "-",
    notes: [
      { userName: "bob", state: "typing", ttlMs: 6000, rooms: ["lobby"] },
      { userName: "carl", state: "away", ttlMs: 600000, rooms: ["lobby", "@bob~0123456789ab@carl~0123456789ab"] },
    ],
  },
);
rep("error of a code this version does not know", lines("error", "7", "new-code", "x"), { verb: "error", tag: "7", code: "new-code" as ErrorCode, message: "x" }, true);
peer(
  "peer add: a password login, account ops, a moderation op, a DM",
  lines(
    "add", "b", "-", "0", 5,
    ...["b.1", "login a.3", "0", 1732400000020, SESSION, "bob", 300],
    ...["b.2", "acct", "0", 1732400000021, SESSION, "reg", "bob", `${VER.salt} 4096 ${K32} ${K32} -`],
    ...["b.3", "acct", "0", 1732400000022, "0".repeat(64), "drop", "bob", "b.2"],
    ...["b.4", "mod", "0", 1732400000023, SESSION, "ban", "lobby", "bob", "eve", "spam"],
    ...["b.5", "msg", "0", 1732400000024, SESSION, "T8", "@bob@eve~0123456789ab", "bob", "dm1.x"],
    "-",
  ),
  {
    verb: "add",
    from: "b",
    nonce: "-",
    vector: EMPTY,
    ops: [
      { origin: "b", seq: 1, kind: "login", account: "a.3", deps: EMPTY, at: 1732400000020, session: SESSION, userName: "bob", ttl: 300 },
      { origin: "b", seq: 2, kind: "acct", deps: EMPTY, at: 1732400000021, session: SESSION, action: "reg", userName: "bob", data: `${VER.salt} 4096 ${K32} ${K32} -` },
      { origin: "b", seq: 3, kind: "acct", deps: EMPTY, at: 1732400000022, session: "0".repeat(64), action: "drop", userName: "bob", data: "b.2" },
      { origin: "b", seq: 4, kind: "mod", deps: EMPTY, at: 1732400000023, session: SESSION, action: "ban", groupName: "lobby", userName: "bob", target: "eve", text: "spam" },
      { origin: "b", seq: 5, kind: "msg", deps: EMPTY, at: 1732400000024, session: SESSION, tag: "T8", groupName: "@bob@eve~0123456789ab", userName: "bob", msg: "dm1.x" },
    ],
  },
);
// Peer datagrams: docs/PEER_PROTOCOL.md.
const opsWire = [
  ...["a.1", "login", "0", 1732400000000, SESSION, "bob", 600],
  ...["a.2", "open", "0", 1732400000001, SESSION, "lobby"],
  ...["a.3", "join", "b=1", 1732400000002, SESSION, "lobby"],
  ...["a.4", "msg", "b=1", 1732400000003, SESSION, "T7", "lobby", "bob", "hi\\nthere \\\\o/"],
  ...["a.5", "leave", "b=2,c=7", 1732400000004, SESSION, "lobby"],
  ...["a.6", "touch", "b=2,c=7", 1732400000005, SESSION2],
  ...["a.7", "logout", "b=2,c=7", 1732400000006, SESSION],
];
const opsValue = [
  { origin: "a", seq: 1, kind: "login", deps: EMPTY, at: 1732400000000, session: SESSION, userName: "bob", ttl: 600 },
  { origin: "a", seq: 2, kind: "open", deps: EMPTY, at: 1732400000001, session: SESSION, groupName: "lobby" },
  { origin: "a", seq: 3, kind: "join", deps: vec(["b", 1]), at: 1732400000002, session: SESSION, groupName: "lobby" },
  {
    origin: "a",
    seq: 4,
    kind: "msg",
    deps: vec(["b", 1]),
    at: 1732400000003,
    session: SESSION,
    tag: "T7",
    groupName: "lobby",
    userName: "bob",
    msg: "hi\nthere \\o/",
  },
  {
    origin: "a",
    seq: 5,
    kind: "leave",
    deps: vec(["b", 2], ["c", 7]),
    at: 1732400000004,
    session: SESSION,
    groupName: "lobby",
  },
  { origin: "a", seq: 6, kind: "touch", deps: vec(["b", 2], ["c", 7]), at: 1732400000005, session: SESSION2 },
  { origin: "a", seq: 7, kind: "logout", deps: vec(["b", 2], ["c", 7]), at: 1732400000006, session: SESSION },
] as const;
peer("peer ask, no key", lines("ask", "b", "-", "0", "-"), { verb: "ask", from: "b", nonce: "-", vector: EMPTY });
peer("peer got", lines("got", "b", "-", "a=3,b=9", 1732400000000, "-"), {
  verb: "got",
  from: "b",
  nonce: "-",
  vector: vec(["a", 3], ["b", 9]),
  at: 1732400000000,
});
peer("peer got with the peers its sender finds silent (version 4)", lines("got", "b", "-", "a=3,b=9", 1732400000000, "silent c=1834,d=2210", "-"), {
  verb: "got",
  from: "b",
  nonce: "-",
  vector: vec(["a", 3], ["b", 9]),
  at: 1732400000000,
  silent: vec(["c", 1834], ["d", 2210]),
});
peer("peer add: a fan-out carrying the got, its silent peers and a silent peer's last got (version 4)", lines("add", "b", "-", "a=3,b=9", 0, "got 1732400000000", "silent c=1834", "gotof c a=3,c=12", "gotof d 0", "-"), {
  verb: "add",
  from: "b",
  nonce: "-",
  vector: vec(["a", 3], ["b", 9]),
  ops: [],
  got: 1732400000000,
  silent: vec(["c", 1834]),
  gotsOf: new Map([["c", vec(["a", 3], ["c", 12])], ["d", EMPTY]]),
});
peer("peer got with a peer's last got and no silent line (version 4)", lines("got", "b", "-", "a=3,b=9", 1732400000000, "gotof c a=3", "-"), {
  verb: "got",
  from: "b",
  nonce: "-",
  vector: vec(["a", 3], ["b", 9]),
  at: 1732400000000,
  gotsOf: new Map([["c", vec(["a", 3])]]),
});
peer(
  "peer add: a msg naming its confirmer, and a hide op",
  lines(
    "add", "b", "-", "a=4,b=2", 2,
    ...["b.1", "msg c", "a=4", 1732400000010, SESSION, "T7", "lobby", "bob", "again"],
    ...["b.2", "hide", "a=4", 1732400000011, SESSION, "a~k2.4"],
    "-",
  ),
  {
    verb: "add",
    from: "b",
    nonce: "-",
    vector: vec(["a", 4], ["b", 2]),
    ops: [
      { origin: "b", seq: 1, kind: "msg", conf: "c", deps: vec(["a", 4]), at: 1732400000010, session: SESSION, tag: "T7", groupName: "lobby", userName: "bob", msg: "again" },
      { origin: "b", seq: 2, kind: "hide", deps: vec(["a", 4]), at: 1732400000011, session: SESSION, target: "a~k2.4" },
    ],
  },
);
peer("peer hello, version 1 (no version line)", lines("hello", "b", NONCE, "0123456789abcdef".repeat(2), MAC), {
  verb: "hello",
  from: "b",
  nonce: NONCE,
  challenge: "0123456789abcdef".repeat(2),
});
peer("peer proof stating protocol version 2", lines("proof", "b", NONCE, "0123456789abcdef".repeat(2), "v2", MAC), {
  verb: "proof",
  from: "b",
  nonce: NONCE,
  challenge: "0123456789abcdef".repeat(2),
  version: 2,
});
peer("peer ask, signed", lines("ask", "b", NONCE, "a=7,b=2,c=7", MAC), {
  verb: "ask",
  from: "b",
  nonce: NONCE,
  vector: vec(["a", 7], ["b", 2], ["c", 7]),
});
peer("peer add, every op kind", lines("add", "a", NONCE, "a=7,b=2,c=7", 7, ...opsWire, MAC), {
  verb: "add",
  from: "a",
  nonce: NONCE,
  vector: vec(["a", 7], ["b", 2], ["c", 7]),
  ops: [...opsValue],
});
peer("peer add, no ops", lines("add", "a", "-", "a=7", 0, "-"), {
  verb: "add",
  from: "a",
  nonce: "-",
  vector: vec(["a", 7]),
  ops: [],
});
peer("peer ok, every op kind, more", lines("ok", "a", NONCE, "a=7,b=2,c=7", 1, 7, ...opsWire, MAC), {
  verb: "ok",
  from: "a",
  nonce: NONCE,
  vector: vec(["a", 7], ["b", 2], ["c", 7]),
  more: true,
  ops: [...opsValue],
});
peer("peer stat, signed", lines("stat", "b", NONCE, MAC), { verb: "stat", from: "b", nonce: NONCE });
peer("peer state", lines("state", "a", "-", '{"id":"a","vector":"a=3"}', "-"), {
  verb: "state",
  from: "a",
  nonce: "-",
  json: '{"id":"a","vector":"a=3"}',
});
peer("peer ok, nothing lacking", lines("ok", "0a", "-", "0a=3", 0, 0, "-"), {
  verb: "ok",
  from: "0a",
  nonce: "-",
  vector: vec(["0a", 3]),
  more: false,
  ops: [],
});

// --- Parse, format, round trip -------------------------------------------------

function decode(kind: Kind, b: Uint8Array): Result<unknown> {
  return kind === "request" ? decodeRequest(b) : kind === "reply" ? decodeReply(b) : decodePeer(b);
}

function encode(kind: Kind, value: Row["value"]): Uint8Array {
  if (kind === "request") return encodeRequest(value as Request);
  if (kind === "reply") return encodeReply(value as Reply);
  const p = value as SignedPeerDatagram;
  return encodePeer(p.datagram, () => p.mac);
}

function decoded(kind: Kind, b: Uint8Array): unknown {
  const r = decode(kind, b);
  if (!r.ok) assert.unreachable(`${r.error.code}: ${r.error.message}`);
  return (r as { value: unknown }).value;
}

/** The value a CRLF copy of the row decodes to (peer: the signed text keeps its CRs). */
function crlfValue(row: Row): unknown {
  if (row.kind !== "peer") return row.value;
  const p = row.value as SignedPeerDatagram;
  return { ...p, signed: crlf(p.signed) };
}

test("the table covers every request verb, reply kind, error code and op kind", () => {
  const seen = new Set<string>();
  for (const r of rows) {
    const v = r.value as Record<string, unknown>;
    if (r.kind === "request") seen.add(`request ${v.verb}`);
    else if (r.kind === "reply") seen.add(`reply ${v.verb} ${v.kind ?? v.code ?? ""}`.trim());
    else {
      const d = (v as SignedPeerDatagram).datagram;
      seen.add(`peer ${d.verb}`);
      for (const op of "ops" in d ? d.ops : []) seen.add(`op ${op.kind}`);
    }
  }
  const want = [
    ..."login open connect add request leave rooms who logout history auth register password drop pubkey whois dms room mod act search unread typing servers".split(" ").map((v) => `request ${v}`),
    ..."login open connect add leave rooms who logout history auth register password drop pubkey whois dms room mod act search unread typing servers".split(" ").map((k) => `reply ok ${k}`),
    "reply poll",
    ...ERROR_CODES.map((c) => `reply error ${c}`),
    "peer add",
    "peer ask",
    "peer ok",
    "peer stat",
    "peer state",
    "peer pres",
    ..."login logout touch open join leave msg hide acct mod act".split(" ").map((k) => `op ${k}`),
  ];
  for (const w of want) assert.ok(seen.has(w), `no fixture for ${w}`);
});

for (const row of rows) {
  test(`parse: ${row.name}`, () => {
    assert.equal(decoded(row.kind, bytes(row.wire)), row.value);
  });

  test(`parse with CRLF line endings: ${row.name}`, () => {
    assert.equal(decoded(row.kind, bytes(crlf(row.wire))), crlfValue(row));
  });

  if (row.canonical) {
    test(`format: ${row.name}`, () => {
      assert.is(text(encode(row.kind, row.value)), row.wire);
    });
  }

  test(`round trip: ${row.name}`, () => {
    assert.equal(decoded(row.kind, encode(row.kind, row.value)), row.value);
  });
}

test("base64: canonical forms only, both alphabets; byte counts", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let n = 0; n <= 40; n++) {
    const b = all.subarray(0, n);
    assert.equal(fromBase64(toBase64(b)), b);
    assert.equal(fromBase64Url(toBase64Url(b)), b);
    assert.ok(base64Bytes(toBase64(b), n));
    assert.not.ok(base64Bytes(toBase64(b), n + 1));
  }
  for (const bad of ["A", "AB", "AB=", "AQJ=", "AQ==AQ==", "A=AA", "AQ+/_-==", " AQID"]) assert.is(fromBase64(bad), null, bad);
  for (const bad of ["A", "AQJ", "AQ==", "AQ+/", "AQ I"]) assert.is(fromBase64Url(bad), null, bad);
  assert.ok(base64Bytes(btoa("12345678"), 8, true));
  assert.not.ok(base64Bytes(btoa("1234567"), 8, true));
});

test("parse accepts mixed LF and CRLF line endings", () => {
  const r = decodeRequest(bytes("add\r\n7\n" + TOK + "\r\nhi\nlobby\r\n"));
  assert.equal(r, { ok: true, value: { verb: "add", tag: "7", token: TOK, msg: "hi", groupName: "lobby" } });
});

test("escapeText: backslash, LF and CR both ways; nothing else changes", () => {
  assert.is(escapeText("a\\b\nc\rd\r\n\\n"), "a\\\\b\\nc\\rd\\r\\n\\\\n");
  assert.is(escapeText("tab\t nul\u0000 é 😀 \u2028"), "tab\t nul\u0000 é 😀 \u2028");
  const msg = "\\\\\n\r\\r\\n\\";
  const r = decodeRequest(encodeRequest({ verb: "add", tag: "1", token: TOK, msg, groupName: "g" }));
  assert.ok(r.ok && r.value.verb === "add" && r.value.msg === msg);
});

test("error replies put a multi-line message on one line", () => {
  const wire = text(encodeReply({ verb: "error", tag: "1", code: "internal", message: "a\r\nb\nc" }));
  assert.is(wire, "error\n1\ninternal\na b c\n");
});

test("utf8Length counts UTF-8 bytes; the boundary messages are what they claim", () => {
  assert.is(utf8Length("aé€😀"), 1 + 2 + 3 + 4);
  assert.is(utf8Length(MSG_2000), MAX_MSG_BYTES);
  assert.is(utf8Length(EMOJI_2000), MAX_MSG_BYTES);
  assert.is(utf8Length(MSG_2001), MAX_MSG_BYTES + 1);
  assert.is(utf8Length("\ud800x"), bytes("\ud800x").length); // lone surrogate: U+FFFD on the wire
});

// --- Malformed datagrams ---------------------------------------------------------

type Bad = {
  name: string;
  kind: Kind;
  input: string | Uint8Array;
  code: ProtocolError["code"];
  tag: string;
  silent?: boolean;
};

const bad: Bad[] = [];
const badReq = (name: string, input: string | Uint8Array, code: ProtocolError["code"], tag: string, silent = false) =>
  bad.push({ name, kind: "request", input, code, tag, silent });
const badRep = (name: string, input: string | Uint8Array, code: ProtocolError["code"], tag: string) =>
  bad.push({ name, kind: "reply", input, code, tag, silent: /^(ok|poll|error)\r?\n/.test(String(input)) });
/** A peer datagram has no tag: the head reads its from line where a client's tag would be. */
const badPeer = (name: string, input: string, code: ProtocolError["code"]) => {
  const second = input.split("\n")[1];
  const tag = /^[A-Za-z0-9]{1,16}$/.test(second) ? second : "-";
  bad.push({ name, kind: "peer", input, code, tag, silent: input.startsWith("ok\n") });
};

const BIG = MAX_DATAGRAM + 1;

// Structure: docs/PROTOCOL.md "Datagrams and lines".
badReq("history, limit 0", lines("history", "h1", TOK, "lobby", 0), "bad-request", "h1");
badReq("history, limit over 1000", lines("history", "h2", TOK, "lobby", 1001), "bad-request", "h2");
badReq("history, before not a msgID", lines("history", "h3", TOK, "lobby", 5, "yesterday"), "bad-request", "h3");
badReq("history, bad room name", lines("history", "h4", TOK, "no room", 5), "bad-name", "h4");
badReq("empty datagram", "", "bad-request", "-");
badRep("ok servers, client not host:port", lines("ok", "S2", "servers", 1, "a", "nowhere", "-"), "bad-request", "S2");
badRep("ok servers, key not 32 bytes", lines("ok", "S3", "servers", 1, "a", "127.0.0.1:7001", "AAAA"), "bad-request", "S3");
badRep("ok servers, count wrong", lines("ok", "S4", "servers", 2, "a", "127.0.0.1:7001", "-"), "bad-request", "S4");
badReq("cursor: empty incarnation", lines("request", "7", TOK, "lobby", "a~=3"), "bad-request", "7");
badReq("cursor: incarnation in upper case", lines("request", "7", TOK, "lobby", "a~M3=3"), "bad-request", "7");
badReq("cursor: incarnation of 13 characters", lines("request", "7", TOK, "lobby", "a~1234567890123=3"), "bad-request", "7");
badReq("missing final newline", "login\n7\nbob", "bad-request", "7");
badReq("missing final newline (CRLF)", "login\r\n7\r\nbob\r", "bad-request", "7");
badReq("unknown verb", lines("ping", "7", TOK), "bad-request", "7");
badReq("verb in upper case", lines("LOGIN", "7", "bob"), "bad-request", "7");
badReq("verb with trailing space", lines("login ", "7", "bob"), "bad-request", "7");
badReq("missing field (login)", lines("login", "7"), "bad-request", "7");
badReq("missing field (open)", lines("open", "7", TOK), "bad-request", "7");
badReq("missing field (add)", lines("add", "7", TOK, "hi"), "bad-request", "7");
badReq("missing field (request)", lines("request", "7", TOK, "lobby"), "bad-request", "7");
badReq("missing field (logout)", lines("logout", "7"), "bad-request", "7");
badReq("auth nonce with a comma", lines("auth", "7", "bob", "abcdefgh,ijklmnopqrst"), "bad-request", "7");
badReq("register: too few iterations", lines("register", "7", TOK, VER.salt, 1000, K32, K32, "-"), "bad-request", "7");
badReq("register: a key of the wrong size", lines("register", "7", TOK, VER.salt, 4096, K32, K32, "QUFB"), "bad-request", "7");
// Byte counts of the verifier's base64 fields (docs/PROTOCOL.md "Accounts"): found by a client written from the document.
const b64Of = (n: number) => btoa("A".repeat(n));
badReq("register: a 7-byte salt", lines("register", "7", TOK, b64Of(7), 4096, K32, K32, "-"), "bad-request", "7");
badReq("register: a 31-byte storedKey", lines("register", "7", TOK, VER.salt, 4096, b64Of(31), K32, "-"), "bad-request", "7");
badReq("register: a 33-byte serverKey", lines("register", "7", TOK, VER.salt, 4096, K32, b64Of(33), "-"), "bad-request", "7");
badReq("register: a 31-byte public key", lines("register", "7", TOK, VER.salt, 4096, K32, K32, b64Of(31)), "bad-request", "7");
badReq("register: non-canonical base64 (unused bits set)", lines("register", "7", TOK, VER.salt, 4096, K32.replace(/E=$/, "F="), K32, "-"), "bad-request", "7");
badReq("register: padding inside the salt", lines("register", "7", TOK, "c2Fs=HNhbHRzYWx0", 4096, K32, K32, "-"), "bad-request", "7");
badReq("password: a 7-byte salt", lines("password", "7", "bob", FINAL, b64Of(7), 4096, K32, K32), "bad-request", "7");
badReq("mod: unknown action", lines("mod", "7", TOK, "lobby", "smite", "eve", ""), "bad-request", "7");
badReq("mod: topic over 300 bytes", lines("mod", "7", TOK, "lobby", "topic", "-", "x".repeat(301)), "bad-request", "7");
badReq("open of a direct address", lines("open", "7", TOK, "@bob"), "bad-name", "7");
badReq("add to a stored conversation key", lines("add", "7", TOK, "hi", "@a@b"), "bad-name", "7");
badReq("extra field (login)", lines("login", "7", "bob", "c=biws,r=x,p=y", "x"), "bad-request", "7");
badReq("extra field (dms)", lines("dms", "7", TOK, "x"), "bad-request", "7");
badReq("extra field (logout, after its reason)", lines("logout", "7", TOK, "bye", "x"), "bad-request", "7");
badReq("extra field (request)", lines("request", "7", TOK, "lobby", "0", "10", "x"), "bad-request", "7");
badReq("extra field (rooms)", lines("rooms", "7", TOK, "a", "b"), "bad-request", "7");
badReq("extra field (who)", lines("who", "7", TOK, "lobby", "bob", "x"), "bad-request", "7");
badReq("extra empty line", lines("dms", "7", TOK, ""), "bad-request", "7");
// The tag is the second line whenever it matches the tag pattern.
badReq("blank line before the verb", "\n" + lines("logout", "7", TOK), "bad-request", "logout");
badReq("CR without LF ends a line", "logout\r7\r" + TOK + "\r", "bad-request", "-");
badReq("CR CR LF", "logout\r\r\n7\n" + TOK + "\n", "bad-request", "-");
// Escapes.
badReq("bad escape \\x", lines("add", "7", TOK, "a\\xb", "lobby"), "bad-request", "7");
badReq("bad escape \\t", lines("add", "7", TOK, "a\\tb", "lobby"), "bad-request", "7");
badReq("backslash at end of text", lines("add", "7", TOK, "ab\\", "lobby"), "bad-request", "7");
badReq("lone CR inside text", lines("add", "7", TOK, "a\rb", "lobby"), "bad-request", "7");
// Encoding.
badReq("invalid UTF-8 (0xff)", cat("add\n7\n" + TOK + "\nhi", new Uint8Array([0xff]), "\nlobby\n"), "bad-request", "7");
badReq("invalid UTF-8 (truncated sequence)", cat("add\n7\n" + TOK + "\n", new Uint8Array([0xe2, 0x82]), "\nlobby\n"), "bad-request", "7");
badReq("invalid UTF-8 (overlong /)", cat("add\n7\n" + TOK + "\n", new Uint8Array([0xc0, 0xaf]), "\nlobby\n"), "bad-request", "7");
badReq("invalid UTF-8 (encoded surrogate)", cat("add\n7\n" + TOK + "\n", new Uint8Array([0xed, 0xa0, 0x80]), "\nlobby\n"), "bad-request", "7");
badReq("invalid UTF-8 in the verb", cat(new Uint8Array([0xff]), "\n7\n"), "bad-request", "7");
badReq("BOM before the verb", cat(new Uint8Array([0xef, 0xbb, 0xbf]), lines("login", "7", "bob")), "bad-request", "7");
badReq("BOM inside a name", lines("login", "7", "\ufeffbob"), "bad-name", "7");
// Tag and token (grammar fields: bad-request, never bad-name).
badReq("tag too long", lines("login", "A".repeat(17), "bob"), "bad-request", "-");
badReq("tag empty", lines("login", "", "bob"), "bad-request", "-");
badReq("tag with a bad character", lines("login", "a-b", "bob"), "bad-request", "-");
badReq("tag - in a request", lines("login", "-", "bob"), "bad-request", "-");
badReq("token too short", lines("open", "7", "x".repeat(15), "lobby"), "bad-request", "7");
badReq("token too long", lines("open", "7", "x".repeat(129), "lobby"), "bad-request", "7");
badReq("token with a bad character", lines("open", "7", "abcdefghijklmnop.", "lobby"), "bad-request", "7");
// Names (docs/PROTOCOL.md: bad-name when the only fault is a name).
badReq("userName with bad first char", lines("login", "7", "_bob"), "bad-name", "7");
badReq("userName starting with .", lines("login", "7", ".bob"), "bad-name", "7");
badReq("userName too long (33)", lines("login", "7", "b".repeat(33)), "bad-name", "7");
badReq("userName empty", lines("login", "7", ""), "bad-name", "7");
badReq("userName with a space", lines("login", "7", "bo b"), "bad-name", "7");
badReq("userName not ASCII", lines("login", "7", "bób"), "bad-name", "7");
badReq("groupName too long (65)", lines("open", "7", TOK, "g".repeat(65)), "bad-name", "7");
badReq("groupName with bad first char", lines("connect", "7", TOK, "-lobby"), "bad-name", "7");
badReq("groupName with a bad char (add)", lines("add", "7", TOK, "hi", "lob/by"), "bad-name", "7");
badReq("groupName empty (request)", lines("request", "7", TOK, "", "0"), "bad-name", "7");
badReq("groupName bad (leave)", lines("leave", "7", TOK, "#x"), "bad-name", "7");
badReq("groupName bad (who)", lines("who", "7", TOK, "a b"), "bad-name", "7");
badReq("rooms after: bad groupName", lines("rooms", "7", TOK, "g".repeat(65)), "bad-name", "7");
badReq("who after: bad userName (33)", lines("who", "7", TOK, "lobby", "u".repeat(33)), "bad-name", "7");
badReq("bad name and bad tag", lines("login", "A".repeat(17), "_bob"), "bad-request", "-");
badReq("bad name and short token", lines("open", "7", "short", "_lobby"), "bad-request", "7");
badReq("bad name and empty msg", lines("add", "7", TOK, "", "_lobby"), "bad-request", "7");
badReq("bad name and bad escape", lines("add", "7", TOK, "\\x", "_lobby"), "bad-request", "7");
badReq("bad name and duplicate origin", lines("request", "7", TOK, "_lobby", "a=1,a=2"), "bad-request", "7");
badReq("bad name and unsafe integer", lines("request", "7", TOK, "_lobby", "0", "9007199254740992"), "bad-request", "7");
badReq("bad name and missing field", lines("who", "7", TOK), "bad-request", "7");
// Message text.
badReq("msg empty", lines("add", "7", TOK, "", "lobby"), "bad-request", "7");
badReq("msg 2001 bytes of 3-byte chars", lines("add", "7", TOK, MSG_2001, "lobby"), "bad-request", "7");
badReq("msg 2001 bytes, 4-byte chars then 1", lines("add", "7", TOK, EMOJI_2000 + "a", "lobby"), "bad-request", "7");
badReq("msg 2001 escaped line feeds", lines("add", "7", TOK, "\\n".repeat(2001), "lobby"), "bad-request", "7");
// Cursors and integers.
badReq("duplicate origin in cursor", lines("request", "7", TOK, "lobby", "a=1,b=2,a=3"), "bad-request", "7");
badReq("duplicate origin in cursor, zero first", lines("request", "7", TOK, "lobby", "a=0,a=3"), "bad-request", "7");
badReq("cursor with upper-case origin", lines("request", "7", TOK, "lobby", "A=1"), "bad-request", "7");
badReq("cursor without =n", lines("request", "7", TOK, "lobby", "a"), "bad-request", "7");
badReq("cursor with trailing comma", lines("request", "7", TOK, "lobby", "a=1,"), "bad-request", "7");
badReq("cursor empty", lines("request", "7", TOK, "lobby", ""), "bad-request", "7");
badReq("cursor a msgID", lines("request", "7", TOK, "lobby", "a.3"), "bad-request", "7");
badReq("negative waitMs", lines("request", "7", TOK, "lobby", "0", "-1"), "bad-request", "7");
badReq("waitMs 2^53 (not a safe integer)", lines("request", "7", TOK, "lobby", "0", "9007199254740992"), "bad-request", "7");
badReq("waitMs of 17 digits", lines("request", "7", TOK, "lobby", "0", "1".repeat(17)), "bad-request", "7");
badReq("cursor entry beyond safe range", lines("request", "7", TOK, "lobby", "a=9999999999999999"), "bad-request", "7");
badReq("waitMs with a sign", lines("request", "7", TOK, "lobby", "0", "+5"), "bad-request", "7");
// Size: docs/PROTOCOL.md, 8192 bytes.
badReq("8193 bytes, tag read from the front", lines("add", "T9", TOK, "x".repeat(BIG), "lobby"), "too-large", "T9");
badReq("8193 bytes of CRLF lines", crlf(lines("add", "T9", TOK, "x".repeat(BIG), "lobby")), "too-large", "T9");
badReq("8193 bytes, unreadable tag", lines("add", "-", TOK, "x".repeat(BIG), "lobby"), "too-large", "-");
badReq("8193 bytes, a reply verb", lines("ok", "T9", "x".repeat(BIG)), "too-large", "T9", true);
badReq("exactly 8193 bytes of x", "x".repeat(BIG), "too-large", "-");
badReq("exactly 8192 bytes of x (not too large)", "x".repeat(MAX_DATAGRAM), "bad-request", "-");
badReq("64 KiB of invalid UTF-8", cat(lines("login", "T9"), new Uint8Array(65536).fill(0xff)), "too-large", "T9");
// Reply verbs sent as requests are never answered.
badReq("ok sent as a request", lines("ok", "7", "logout"), "bad-request", "7", true);
badReq("ok login sent as a request", lines("ok", "7", "login", "bob", TOK, 600), "bad-request", "7", true);
badReq("poll sent as a request", lines("poll", "7", "lobby", "0", 0, 0), "bad-request", "7", true);
badReq("error sent as a request", lines("error", "7", "internal", "x"), "bad-request", "7", true);
badReq("error with tag - sent as a request", lines("error", "-", "bad-request", "x"), "bad-request", "-", true);
badReq("ok with CRLF sent as a request", crlf(lines("ok", "7", "logout")), "bad-request", "7", true);
badReq("reply verb without a newline", "ok", "bad-request", "-", true);

// Replies.
badRep("request verb sent as a reply", lines("login", "7", "bob"), "bad-request", "7");
badRep("rooms count too high", lines("ok", "7", "rooms", 0, 2, "a"), "bad-request", "7");
badRep("rooms count too low", lines("ok", "7", "rooms", 0, 0, "a"), "bad-request", "7");
badRep("who count mismatch", lines("ok", "7", "who", "lobby", 0, 3, "a", "b"), "bad-request", "7");
badRep("poll count too high", lines("poll", "7", "lobby", "0", 0, 1), "bad-request", "7");
badRep("poll count too low", lines("poll", "7", "lobby", "a=1", 0, 0, "a.1", "bob", 1, "hi"), "bad-request", "7");
badRep("rooms bad name and count mismatch", lines("ok", "7", "rooms", 0, 2, "_a"), "bad-request", "7");
badRep("rooms bad name only", lines("ok", "7", "rooms", 0, 1, "_a"), "bad-name", "7");
badRep("who bad userName only", lines("ok", "7", "who", "lobby", 0, 1, "u".repeat(33)), "bad-name", "7");
badRep("poll entry with a truncated last field", "poll\n7\nlobby\na=1\n0\n1\na.1\nbob\n1\nhi", "bad-request", "7");
badRep("poll entry with empty msg", lines("poll", "7", "lobby", "a=1", 0, 1, "a.1", "bob", 1, ""), "bad-request", "7");
badRep("poll entry msg over 2000 bytes", lines("poll", "7", "g", "a=1", 0, 1, "a.1", "b", 1, MSG_2001), "bad-request", "7");
badRep("poll entry msgID n = 0", lines("poll", "7", "lobby", "a=1", 0, 1, "a.0", "bob", 1, "hi"), "bad-request", "7");
badRep("poll sentAt beyond safe range", lines("poll", "7", "g", "a=1", 0, 1, "a.1", "b", "9007199254740993", "hi"), "bad-request", "7");
badRep("poll cursor with duplicate origin", lines("poll", "7", "lobby", "a=1,a=1", 0, 0), "bad-request", "7");
badRep("ok login ttl beyond safe range", lines("ok", "7", "login", "bob", TOK, "9999999999999999"), "bad-request", "7");
badRep("ok login ttl of 17 digits", lines("ok", "7", "login", "bob", TOK, "1".repeat(17)), "bad-request", "7");
badRep("ok add msgID without n", lines("ok", "7", "add", "hi", "lobby", "a"), "bad-request", "7");
badRep("ok add msgID n beyond safe range", lines("ok", "7", "add", "hi", "g", "a.9007199254740992"), "bad-request", "7");
badRep("ok with unknown kind", lines("ok", "7", "ping"), "bad-request", "7");
badRep("ok logout with an extra field", lines("ok", "7", "logout", "x"), "bad-request", "7");
badRep("more flag 2", lines("ok", "7", "rooms", 2, 0), "bad-request", "7");
badRep("malformed error code", lines("error", "7", "Tea pot", "x"), "bad-request", "7");
badRep("error without message line", lines("error", "7", "internal"), "bad-request", "7");
badRep("error tag too long", lines("error", "A".repeat(17), "internal", "x"), "bad-request", "-");
badRep("peer ok sent as a client reply", lines("ok", "a", "-", "0", 0, 0, "-"), "bad-request", "a");
badRep("reply over 8192 bytes", lines("ok", "R", "rooms", 0, 1, "x".repeat(BIG)), "too-large", "R");

// Peer datagrams.
const opLine = (...f: (string | number)[]) => f;
badPeer("peer without mac line", lines("ask", "b", "-", "0"), "bad-request");
badPeer("peer mac too short", lines("ask", "b", NONCE, "0", "ab"), "bad-request");
badPeer("peer mac upper-case hex", lines("ask", "b", NONCE, "0", MAC.toUpperCase()), "bad-request");
badPeer("peer nonce with 15 hex digits", lines("ask", "b", "1732400000000.0123456789abcde", "0", MAC), "bad-request");
badPeer("peer nonce without ms", lines("ask", "b", ".0123456789abcdef", "0", MAC), "bad-request");
badPeer("peer bad from", lines("ask", "B", "-", "0", "-"), "bad-request");
badPeer("peer stat with a field", lines("stat", "b", "-", "0", "-"), "bad-request");
badPeer("peer state without json", lines("state", "b", "-", "-"), "bad-request");
badPeer("peer unknown verb", lines("get", "b", "-", "0", "-"), "bad-request");
badPeer("peer duplicate vector origin", lines("ask", "b", "-", "a=1,a=2", "-"), "bad-request");
badPeer("peer add count mismatch", lines("add", "a", "-", "a=1", 2, ...opsWire.slice(0, 7), "-"), "bad-request");
badPeer("peer ok count mismatch", lines("ok", "a", "-", "a=1", 0, 0, ...opsWire.slice(0, 7), "-"), "bad-request");
badPeer("peer op seq 0", lines("add", "a", "-", "a=1", 1, ...opLine("a.0", "touch", "0", 1, SESSION), "-"), "bad-request");
badPeer("peer op unknown kind", lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "kick", "0", 1, SESSION), "-"), "bad-request");
badPeer("peer op short session", lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "touch", "0", 1, "abc"), "-"), "bad-request");
badPeer("peer op bad userName", lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "login", "0", 1, SESSION, "_b", 60), "-"), "bad-name");
badPeer("peer op login ttl 0", lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "login", "0", 1, SESSION, "b", 0), "-"), "bad-request");
badPeer("peer op msg, bad confirmer", lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "msg B!", "0", 1, SESSION, "t", "g", "u", "x"), "-"), "bad-request");
badPeer("peer op hide, bad target", lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "hide", "0", 1, SESSION, "a.x"), "-"), "bad-request");
badPeer("peer got without vector", lines("got", "a", "-", "-"), "bad-request");
badPeer("peer got without its time", lines("got", "a", "-", "a=1", "-"), "bad-request");
badPeer("peer got whose silent line names a peer twice", lines("got", "a", "-", "a=1", 5, "silent c=1600,c=1700", "-"), "bad-request");
badPeer("peer add: a silent line without the got line", lines("add", "a", "-", "a=1", 0, "silent c=1600", "-"), "bad-request");
badPeer("peer add: the silent line before the got line", lines("add", "a", "-", "a=1", 0, "silent c=1600", "got 5", "-"), "bad-request");
badPeer("peer got naming a peer in two gotof lines", lines("got", "a", "-", "a=1", 5, "gotof c a=1", "gotof c a=2", "-"), "bad-request");
badPeer("peer got: the gotof line before the silent line", lines("got", "a", "-", "a=1", 5, "gotof c a=1", "silent c=1600", "-"), "bad-request");
test("peer op msg empty: a tombstone of an expunged message (docs/PEER_PROTOCOL.md), decoded with empty text", () => {
  const r = decodePeer(utf8.encode(lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "msg", "0", 1, SESSION, "t", "g", "u", ""), "-")));
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  const op = r.ok && r.value.datagram.verb === "add" ? r.value.datagram.ops[0] : null;
  assert.is(op?.kind === "msg" && op.msg, "");
});
badPeer("peer op msg bad escape", lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "msg", "0", 1, SESSION, "t", "g", "u", "\\x"), "-"), "bad-request");
badPeer("peer op deps duplicate", lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "touch", "b=1,b=1", 1, SESSION), "-"), "bad-request");
badPeer("peer op at beyond safe range", lines("add", "a", "-", "a=1", 1, ...opLine("a.1", "touch", "0", "9999999999999999", SESSION), "-"), "bad-request");
badPeer("peer hello with version 0", lines("hello", "b", "-", "0123456789abcdef".repeat(2), "v0", "-"), "bad-request");
badPeer("peer hello with a version line that is not v<N>", lines("hello", "b", "-", "0123456789abcdef".repeat(2), "2", "-"), "bad-request");
badPeer("peer over 8192 bytes", lines("add", "a", "-", "a=1", 1, "x".repeat(BIG)), "too-large");

function error(kind: Kind, input: string | Uint8Array): ProtocolError {
  const r = decode(kind, typeof input === "string" ? bytes(input) : input);
  if (r.ok) assert.unreachable(`decoded to ${JSON.stringify(r.value)}`);
  return (r as { error: ProtocolError }).error;
}

for (const b of bad) {
  test(`malformed ${b.kind}: ${b.name} → ${b.code}, tag ${b.tag}${b.silent ? ", silent" : ""}`, () => {
    const e = error(b.kind, b.input);
    assert.is(e.code, b.code, e.message);
    assert.is(e.tag, b.tag);
    assert.is(e.silent, b.silent ?? false);
    assert.type(e.message, "string");
    assert.ok(e.message.length > 0);
  });
}

test("the peer ok fixture, sent to a client port, is silent", () => {
  const e = error("request", lines("ok", "a", "-", "0", 0, 0, "-"));
  assert.is(e.silent, true);
});

test("too-large says how large; bad-name says which field", () => {
  assert.match(error("request", "x".repeat(BIG)).message, String(BIG));
  assert.match(error("request", lines("login", "7", "_bob")).message, "userName");
  assert.match(error("request", lines("open", "7", TOK, "_g")).message, "groupName");
});

test("docs/PEER_PROTOCOL.md: every example decodes, re-encodes byte for byte, and its mac verifies", () => {
  const doc = readFileSync(new URL("../docs/PEER_PROTOCOL.md", import.meta.url), "utf8");
  const examples = [...doc.matchAll(/```peer\n([\s\S]*?)```/g)].map((m) => m[1]);
  const key = bytes("example-cluster-key");
  const verbs = new Set<string>();
  for (const wire of examples) {
    const r = decodePeer(bytes(wire));
    if (!r.ok) assert.unreachable(`${r.error.message}\n${wire}`);
    const { datagram, signed, mac } = (r as { value: SignedPeerDatagram }).value;
    verbs.add(datagram.verb);
    assert.is(text(encodePeer(datagram, () => mac)), wire);
    assert.is(mac, datagram.nonce === "-" ? "-" : peerMac(key, signed));
  }
  assert.equal([...verbs].sort(), ["add", "ask", "got", "ok"]);
  const add = decodePeer(bytes(examples[0]));
  assert.ok(add.ok && add.value.datagram.verb === "add");
  const kinds = add.ok && add.value.datagram.verb === "add" ? add.value.datagram.ops.map((o) => o.kind) : [];
  assert.equal(kinds.sort(), ["join", "leave", "login", "logout", "msg", "open", "touch"]);
  assert.is(add.ok && formatVector(add.value.datagram.vector), "a=7,b=2");
});

test("every error code in the table is one a server can send", () => {
  const codes: readonly ErrorCode[] = ERROR_CODES;
  for (const b of bad) assert.ok(codes.includes(b.code));
});

test.run();
