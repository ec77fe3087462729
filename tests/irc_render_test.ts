/**
 * The pure mappings of lib/irc: channel ⇄ room names, ban masks, DistChat
 * notices as events, text both ways (CTCP ACTION, sealed placeholders,
 * line splitting), msgid tags.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { banName, channelOfRoom, channelProblem, roomOfChannel } from "../lib/irc/names.ts";
import { distchatText, entryEvent, ircTexts, msgidTag, parseMsgid, SEALED_DM_PLACEHOLDER, SEALED_ROOM_PLACEHOLDER, splitText } from "../lib/irc/render.ts";
import { utf8Length } from "../lib/wire/utf8.ts";
import { lineBytes, MAX_LINE_BYTES } from "../lib/irc/message.ts";
import { entry } from "./_irc_script.ts";

test("every DistChat room is a channel; channels that are no room are refused with a reason", () => {
  fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/), (room) => {
    assert.is(roomOfChannel(channelOfRoom(room)), room);
  }));
  for (const bad of ["lobby", "#", "##x", "#é", "#a b", "#a,b", "&x", "#" + "x".repeat(65)]) {
    assert.is(roomOfChannel(bad), null, bad);
    assert.type(channelProblem(bad), "string");
  }
});

test("ban masks: only masks that name one nick", () => {
  assert.is(banName("bob"), "bob");
  assert.is(banName("bob!*@*"), "bob");
  assert.is(banName("Bob!bob@distchat"), "Bob");
  assert.is(banName("bob!*@distchat"), "bob");
  for (const m of ["*!*@*", "bob*!*@*", "*!*@host", "bob!*@evil.example", "bob!alice@*", "", "!@"]) assert.is(banName(m), null, m);
});

test("notices become events", () => {
  const ev = (msg: string) => entryEvent(entry("a", 1, "alice", msg));
  assert.equal(ev("hi"), { kind: "message", from: "alice", text: "hi" });
  assert.equal(ev("\u0001me waves"), { kind: "message", from: "alice", text: "\u0001me waves" });
  assert.equal(ev("\u0001join"), { kind: "join", from: "alice" });
  assert.equal(ev("\u0001leave"), { kind: "leave", from: "alice", reason: "" });
  assert.equal(ev("\u0001leave off to bed"), { kind: "leave", from: "alice", reason: "off to bed" });
  assert.equal(ev("\u0001quit Quit: bye"), { kind: "quit", from: "alice", reason: "Quit: bye" });
  assert.equal(ev("\u0001op bob"), { kind: "mode", from: "alice", change: "+o", arg: "bob" });
  assert.equal(ev("\u0001deop bob"), { kind: "mode", from: "alice", change: "-o", arg: "bob" });
  assert.equal(ev("\u0001unban bob"), { kind: "mode", from: "alice", change: "-b", arg: "bob" });
  assert.equal(ev("\u0001kick bob too loud now"), { kind: "kick", from: "alice", target: "bob", reason: "too loud now" });
  assert.equal(ev("\u0001ban bob"), { kind: "ban", from: "alice", target: "bob", reason: "" });
  assert.equal(ev("\u0001topic - a b c"), { kind: "topic", from: "alice", text: "a b c" });
  assert.equal(ev("\u0001topic - "), { kind: "topic", from: "alice", text: "" });
  assert.equal(ev("\u0001mode +i"), { kind: "mode", from: "alice", change: "+i", arg: null });
  assert.equal(ev("\u0001future thing"), { kind: "unknown", from: "alice", text: "future thing" });
});

test("text both ways: ACTION, other CTCP, sealed, controls", () => {
  assert.is(distchatText("\x01ACTION waves\x01"), "\u0001me waves");
  assert.is(distchatText("\x01ACTION waves"), "\u0001me waves", "without its closing \\x01");
  assert.is(distchatText("\x01VERSION\x01"), null);
  assert.is(distchatText("plain \x02bold\x02"), "plain \x02bold\x02");
  assert.equal(ircTexts("\u0001me waves\nand smiles"), ["\x01ACTION waves\x01", "\x01ACTION and smiles\x01"]);
  assert.equal(ircTexts("dc1:abc_-"), [SEALED_ROOM_PLACEHOLDER]);
  assert.equal(ircTexts("dm1.abc.def", true), [SEALED_DM_PLACEHOLDER]);
  assert.equal(ircTexts("dm1.abc.def"), ["dm1.abc.def"], "dm1 is a DM format: plain in a room");
  assert.equal(ircTexts("dc1:abc", true), ["dc1:abc"], "dc1 is a room format: plain in a DM");
  assert.equal(ircTexts("a\0b\rc"), ["abc"]);
  assert.equal(ircTexts("\n\n"), [""]);
});

test("split pieces fit 512 bytes, keep every character, and ACTIONs stay ACTIONs (property)", () => {
  fc.assert(fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 700 }), fc.boolean(), (text, action) => {
    const source = "someone-with-a-long-nick!someone-with-a-long-nick@distchat";
    const clean = text.replace(/[\0\r\n\x01]/g, "") || "x";
    const line = action ? `\x01ACTION ${clean}\x01` : clean;
    const pieces = splitText("#a-rather-long-channel-name", source, line);
    for (const p of pieces) {
      assert.ok(lineBytes({ tags: {}, source, command: "PRIVMSG", params: ["#a-rather-long-channel-name", p] }, true) <= MAX_LINE_BYTES, `${utf8Length(p)}`);
      if (action) assert.match(p, /^\x01ACTION [\s\S]*\x01$/);
    }
    const body = action ? pieces.map((p) => p.slice(8, -1)).join("") : pieces.join("");
    assert.is(body, clean);
  }), { numRuns: 500 });
});

test("msgid tags are DistChat msgIDs", () => {
  assert.is(msgidTag({ origin: "a~m3k2x1c", n: 17 }), "a~m3k2x1c.17");
  assert.equal(parseMsgid("a~m3k2x1c.17"), { origin: "a~m3k2x1c", n: 17 });
  assert.is(parseMsgid("a.0"), null);
  assert.is(parseMsgid("A.1"), null);
  assert.is(parseMsgid("a.99999999999999999"), null);
});

test.run();
