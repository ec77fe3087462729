/**
 * lib/irc/message.ts and lib/irc/framing.ts: one fixture table drives parse,
 * format and parse(format(x)) (mqtt-packet's habit); refusals by code; the
 * byte stream cut into lines.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatLine, type IrcMessage, lineBytes, MAX_LINE_BYTES, parseLine } from "../lib/irc/message.ts";
import { LineSplitter, MAX_PENDING } from "../lib/irc/framing.ts";

const enc = new TextEncoder();
const msg = (command: string, params: string[], tags: Record<string, string> = {}, source: string | null = null): IrcMessage => ({
  tags,
  source,
  command,
  params,
});

/** [wire line, message, canonical form when formatting gives another line (or null: the same)]. */
const FIXTURES: [string, IrcMessage, string | null][] = [
  ["PING", msg("PING", []), null],
  ["PING x", msg("PING", ["x"]), null],
  ["NICK bob", msg("NICK", ["bob"]), null],
  ["nick bob", msg("NICK", ["bob"]), "NICK bob"],
  ["USER bob 0 * :Bob Smith", msg("USER", ["bob", "0", "*", "Bob Smith"]), null],
  ["CAP LS 302", msg("CAP", ["LS", "302"]), null],
  ["CAP REQ :sasl server-time", msg("CAP", ["REQ", "sasl server-time"]), null],
  ["PRIVMSG #lobby :hi there", msg("PRIVMSG", ["#lobby", "hi there"]), null],
  ["PRIVMSG #lobby :", msg("PRIVMSG", ["#lobby", ""]), null],
  ["PRIVMSG #lobby ::-)", msg("PRIVMSG", ["#lobby", ":-)"]), null],
  ["PRIVMSG #lobby :hi", msg("PRIVMSG", ["#lobby", "hi"]), "PRIVMSG #lobby hi"],
  ["PRIVMSG   #lobby   hi  ", msg("PRIVMSG", ["#lobby", "hi"]), "PRIVMSG #lobby hi"],
  ["PRIVMSG #lobby :a  b  ", msg("PRIVMSG", ["#lobby", "a  b  "]), null],
  ["JOIN #a,#b key1,key2", msg("JOIN", ["#a,#b", "key1,key2"]), null],
  ["MODE #a +o bob", msg("MODE", ["#a", "+o", "bob"]), null],
  [":irc.example 001 bob :Welcome", msg("001", ["bob", "Welcome"], {}, "irc.example"), ":irc.example 001 bob Welcome"],
  [":bob!bob@host PRIVMSG alice :é😃", msg("PRIVMSG", ["alice", "é😃"], {}, "bob!bob@host"), ":bob!bob@host PRIVMSG alice é😃"],
  ["PRIVMSG a:b c:d", msg("PRIVMSG", ["a:b", "c:d"]), null],
  ["@label=abc PING x", msg("PING", ["x"], { label: "abc" }), null],
  ["@a;b= PING", msg("PING", [], { a: "", b: "" }), "@a;b PING"],
  ["@a=1;a=2 PING", msg("PING", [], { a: "2" }), "@a=2 PING"],
  ["@+example.com/foo=x\\sy\\:z\\\\w\\r\\n PING", msg("PING", [], { "+example.com/foo": "x y;z\\w\r\n" }), null],
  ["@a=\\b\\ PING", msg("PING", [], { a: "b" }), "@a=b PING"],
  ["@time=2024-01-01T00:00:00.000Z;msgid=a.7 :bob!b@h PRIVMSG #x :y", msg("PRIVMSG", ["#x", "y"], { time: "2024-01-01T00:00:00.000Z", msgid: "a.7" }, "bob!b@h"), "@time=2024-01-01T00:00:00.000Z;msgid=a.7 :bob!b@h PRIVMSG #x y"],
  ["AUTHENTICATE +", msg("AUTHENTICATE", ["+"]), null],
  ["NONEXISTENT_COMMAND x", msg("NONEXISTENT_COMMAND", ["x"]), null],
  ["AUTHENTICATE bj0sbj1ib2Isc=", msg("AUTHENTICATE", ["bj0sbj1ib2Isc="]), null],
];

test("fixtures: parse, format, parse(format(x))", () => {
  for (const [wire, value, canonical] of FIXTURES) {
    const r = parseLine(wire);
    assert.ok(r.ok, `${wire}: ${!r.ok && r.error.message}`);
    if (!r.ok) continue;
    assert.equal(r.value, value, wire);
    const out = formatLine(value);
    assert.is(out, canonical ?? wire, wire);
    const again = parseLine(out);
    assert.ok(again.ok);
    if (again.ok) assert.equal(again.value, value, `round trip of ${wire}`);
    const bytes = parseLine(enc.encode(wire));
    assert.ok(bytes.ok);
    if (bytes.ok) assert.equal(bytes.value, value, `${wire} as bytes`);
  }
});

test("refusals: each with its code", () => {
  const cases: [string | Uint8Array, string][] = [
    ["", "empty"],
    ["   ", "empty"],
    ["PRIVMSG#a", "malformed"],
    ["@ PING", "malformed"],
    ["@a", "malformed"],
    [":src", "malformed"],
    ["PRIV.MSG x", "malformed"],
    ["PING\0x", "nul"],
    ["PRIVMSG #a :a\rb", "bare-cr"],
    ["PRIVMSG #a :" + "x".repeat(MAX_LINE_BYTES), "too-long"],
    ["@a=" + "x".repeat(5000) + " PING", "too-long"],
    [new Uint8Array([0x50, 0x52, 0x49, 0x56, 0x4d, 0x53, 0x47, 0x20, 0x23, 0x61, 0x20, 0x68, 0x69, 0xaa]), "bad-utf8"],
  ];
  for (const [line, code] of cases) {
    const r = parseLine(line);
    assert.not.ok(r.ok, String(line));
    if (!r.ok) assert.is(r.error.code, code, String(line));
  }
});

test("a bad UTF-8 line keeps its command and label for the answer", () => {
  const r = parseLine(new Uint8Array([...enc.encode("@label=x PRIVMSG #qux hi"), 0xaa]));
  assert.not.ok(r.ok);
  if (!r.ok) {
    assert.is(r.error.partial?.command, "PRIVMSG");
    assert.is(r.error.partial?.tags.label, "x");
  }
});

test("the 512-byte limit counts the line without tags, CR LF included", () => {
  const head = "PRIVMSG #a :";
  const fits = head + "x".repeat(MAX_LINE_BYTES - 2 - head.length);
  assert.ok(parseLine(fits).ok);
  assert.ok(parseLine("@label=1 " + fits).ok);
  assert.not.ok(parseLine(fits + "x").ok);
  assert.is(lineBytes(msg("PRIVMSG", ["#a", "x".repeat(MAX_LINE_BYTES - 2 - head.length)]), true), MAX_LINE_BYTES);
  assert.is(formatLine(msg("PONG", ["srv", "x"]), true), "PONG srv :x", "servers send the last parameter as trailing");
  const emoji = head + "😃".repeat((MAX_LINE_BYTES - 2 - head.length) / 4);
  assert.ok(parseLine(enc.encode(emoji)).ok, "bytes, not characters");
});

test("format refuses what no line can carry", () => {
  assert.throws(() => formatLine(msg("PRIVMSG", ["#a b", "x"])), TypeError);
  assert.throws(() => formatLine(msg("PRIVMSG", ["", "x"])), TypeError);
  assert.throws(() => formatLine(msg("PRIVMSG", ["#a", "x\r\ny"])), TypeError);
  assert.throws(() => formatLine(msg("PRI VMSG", [])), TypeError);
  assert.throws(() => formatLine(msg("PING", [], { "a b": "x" })), TypeError);
  assert.throws(() => formatLine(msg("PING", [], {}, "a b")), TypeError);
});

test("LineSplitter: CR LF or LF, split anywhere, a bare CR kept for the codec", () => {
  const text = "NICK bob\r\nUSER b 0 * :Bob\nPRIVMSG #a :x\ry\r\n";
  const whole = new LineSplitter().push(enc.encode(text)).lines.map((l) => new TextDecoder().decode(l));
  assert.equal(whole, ["NICK bob", "USER b 0 * :Bob", "PRIVMSG #a :x\ry"]);
  const s = new LineSplitter();
  const got: string[] = [];
  for (const b of enc.encode(text)) got.push(...s.push(new Uint8Array([b])).lines.map((l) => new TextDecoder().decode(l)));
  assert.equal(got, whole, "byte by byte");
  assert.is(s.pendingBytes, 0);
});

test("LineSplitter: a line longer than tags + 512 bytes breaks the stream", () => {
  const s = new LineSplitter();
  assert.is(s.push(new Uint8Array(MAX_PENDING).fill(0x61)).overflow, false);
  const r = s.push(new Uint8Array([0x61]));
  assert.is(r.overflow, true);
  assert.is(s.pendingBytes, 0, "nothing kept");
  assert.is(s.push(enc.encode("PING x\r\n")).overflow, true, "stays broken");
  const t = new LineSplitter().push(enc.encode("PING a\r\n" + "b".repeat(MAX_PENDING + 1)));
  assert.equal(t.lines.length, 1, "lines before the overflow are kept");
  assert.is(t.overflow, true);
});

test.run();
