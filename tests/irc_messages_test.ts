/**
 * Messages (lib/irc/_messaging.ts, render.ts, _dms.ts): PRIVMSG and NOTICE
 * to channels and to nicks (direct conversations), echo-message with the
 * DistChat msgID, labeled-response, CTCP ACTION both ways, long and
 * multi-line DistChat messages split to IRC's 512 bytes, sealed messages as
 * a placeholder, new direct conversations found by `dms`.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Request } from "../lib/wire/messages.ts";
import { utf8Length } from "../lib/wire/utf8.ts";
import { entry, IrcScript } from "./_irc_script.ts";
import { SEALED_DM_PLACEHOLDER, SEALED_ROOM_PLACEHOLDER } from "../lib/irc/render.ts";

const code = (line: string) => line.replace(/^@\S+ /, "").split(" ")[1];
const untagged = (line: string) => line.replace(/^@\S+ /, "");
type Add = Extract<Request, { verb: "add" }>;

test("PRIVMSG to a channel: add; the echo comes from the stream, with the stored time, msgid and the label; shown once", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby", ["echo-message", "message-tags", "server-time", "labeled-response", "batch"]);
  const from = s.asked.length;
  s.send("@label=L1;+draft/reply=b.1 PRIVMSG #lobby :hello everyone");
  const add = s.since(from)[0] as Add;
  assert.equal([add.verb, add.msg, add.groupName], ["add", "hello everyone", "lobby"]);
  assert.equal(s.lines(), [], "the echo waits for the stream: it has the time the server stored");
  s.poll("lobby", [entry("a", 100, "bob", "hello everyone", Date.UTC(2024, 0, 1)), entry("a", 101, "alice", "hi bob")]);
  const lines = s.lines();
  assert.is(lines[0], "@+draft/reply=b.1;time=2024-01-01T00:00:00.000Z;msgid=a.100;label=L1 :bob!bob@distchat PRIVMSG #lobby :hello everyone");
  assert.equal(lines.slice(1).map(untagged), [":alice!alice@distchat PRIVMSG #lobby :hi bob"]);
});

test("echo: when the stream brought the message back before the ack, at once; when the stream is silent, after 3 s", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby", ["echo-message", "server-time"]);
  s.answers.add = () => null;
  s.send("PRIVMSG #lobby :raced");
  const add = s.heldOf("add");
  s.poll("lobby", [entry("a", 7, "bob", "raced", Date.UTC(2024, 0, 2))]);
  assert.equal(s.lines(), [], "not shown as someone else's line");
  s.answer(add, { verb: "ok", tag: add.tag, kind: "add", msg: "raced", groupName: "lobby", msgId: { origin: "a", n: 7 } });
  assert.equal(s.lines(), ["@time=2024-01-02T00:00:00.000Z :bob!bob@distchat PRIVMSG #lobby :raced"]);
  s.send("PRIVMSG #lobby :slow");
  const add2 = s.heldOf("add");
  s.answer(add2, { verb: "ok", tag: add2.tag, kind: "add", msg: "slow", groupName: "lobby", msgId: { origin: "a", n: 8 } });
  assert.equal(s.lines(), []);
  s.tick(3500);
  assert.equal(s.lines().map(untagged), [":bob!bob@distchat PRIVMSG #lobby :slow"]);
});

test("without echo-message nothing comes back, not even from the stream; with a label, an ACK", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby", ["labeled-response", "batch"]);
  s.send("PRIVMSG #lobby :quiet");
  s.send("@label=z PRIVMSG #lobby :labeled");
  assert.equal(s.lines(), ["@label=z :a.distchat ACK"]);
  s.poll("lobby", [entry("a", 100, "bob", "quiet"), entry("a", 101, "bob", "labeled")]);
  assert.equal(s.lines(), []);
});

test("a line sent by another session of the same account is shown (it was not expected)", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  s.poll("lobby", [entry("b", 3, "bob", "from my phone")]);
  assert.equal(s.lines(), [":bob!bob@distchat PRIVMSG #lobby :from my phone"]);
});

test("PRIVMSG refusals: 404 not a member (with DistChat's reason), 403 no room, 411, 412, 407; NOTICE is never answered with an error", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.add = (r) => ({ verb: "error", tag: r.tag, code: "not-member", message: "you are banned from lobby" });
  s.send("PRIVMSG #lobby :hi");
  assert.equal(s.lines(), [":a.distchat 404 bob #lobby :Cannot send to channel: you are banned from lobby"]);
  s.answers.add = (r) => ({ verb: "error", tag: r.tag, code: "no-room", message: "no room" });
  s.send("PRIVMSG #nowhere :hi").send("PRIVMSG").send("PRIVMSG #a").send("PRIVMSG a,b,c,d,e :x");
  assert.equal(s.lines().map(code), ["403", "411", "412", "407"]);
  s.send("NOTICE #nowhere :hi").send("NOTICE").send("NOTICE #a");
  assert.equal(s.lines(), []);
});

test("CTCP: ACTION becomes \\u0001me and back; other CTCP has no DistChat form (404)", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby", ["echo-message"]);
  const from = s.asked.length;
  s.send("PRIVMSG #lobby :\x01ACTION waves\x01");
  assert.is((s.since(from)[0] as Add).msg, "\u0001me waves");
  s.poll("lobby", [entry("a", 100, "bob", "\u0001me waves")]);
  assert.equal(s.lines(), [":bob!bob@distchat PRIVMSG #lobby :\x01ACTION waves\x01"]);
  s.send("PRIVMSG #lobby :\x01VERSION\x01");
  assert.equal(s.lines().map(code), ["404"]);
  s.send("NOTICE alice :\x01VERSION irssi\x01");
  assert.equal(s.lines(), []);
});

test("a DistChat message longer than an IRC line is split at IRC's 512 bytes, every byte kept, msgid on the first piece", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby", ["message-tags"]);
  const words = Array.from({ length: 300 }, (_, i) => `wörd${i}`).join(" ");
  const text = words.slice(0, 1990);
  s.poll("lobby", [entry("b", 1, "alice", text)]);
  const lines = s.lines();
  assert.ok(lines.length >= 4);
  for (const l of lines) assert.ok(utf8Length(untagged(l)) + 2 <= 512, `${utf8Length(untagged(l))} bytes`);
  assert.is(lines.map((l) => untagged(l).split(" :").slice(1).join(" :")).join(""), text);
  assert.equal(lines.map((l) => l.startsWith("@msgid=b.1 ")), [true, ...lines.slice(1).map(() => false)]);
});

test("multi-line messages become one PRIVMSG per line; sealed texts become a placeholder", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  s.poll("lobby", [
    entry("b", 1, "alice", "line one\nline two\r\n\nline three"),
    entry("b", 2, "alice", "dc1:" + "A".repeat(80)),
    entry("b", 3, "alice", "dc1: not sealed, a space"),
  ]);
  assert.equal(s.lines(), [
    ":alice!alice@distchat PRIVMSG #lobby :line one",
    ":alice!alice@distchat PRIVMSG #lobby :line two",
    ":alice!alice@distchat PRIVMSG #lobby :line three",
    `:alice!alice@distchat PRIVMSG #lobby :${SEALED_ROOM_PLACEHOLDER}`,
    ":alice!alice@distchat PRIVMSG #lobby :dc1: not sealed, a space",
  ]);
});

test("PRIVMSG to a nick: add to @nick, then the conversation is followed (its answers come as PRIVMSG to me)", () => {
  const s = new IrcScript();
  s.register("bob", ["echo-message"]);
  s.answers.history = (r) => ({ verb: "ok", tag: r.tag, kind: "history", groupName: "@alice", cursor: new Map([["a", 100]]), more: false, entries: [entry("a", 100, "bob", "hi alice")] });
  const from = s.asked.length;
  s.send("PRIVMSG alice :hi alice");
  const asked = s.since(from);
  assert.equal([asked[0].verb, (asked[0] as Add).groupName, (asked[0] as Add).msg], ["add", "@alice", "hi alice"]);
  assert.ok(asked.some((r) => r.verb === "history" && (r as { groupName: string }).groupName === "@alice"));
  assert.equal(s.lines(), [":bob!bob@distchat PRIVMSG alice :hi alice"]);
  s.poll("@alice", [entry("b", 9, "alice", "hello bob"), entry("b", 10, "alice", "dm1.AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBB")]);
  assert.equal(s.lines(), [":alice!alice@distchat PRIVMSG bob :hello bob", `:alice!alice@distchat PRIVMSG bob :${SEALED_DM_PLACEHOLDER}`]);
  s.poll("@alice", [entry("c", 2, "bob", "sent from my other device")]);
  assert.equal(s.lines(), [":bob!bob@distchat PRIVMSG alice :sent from my other device"]);
});

test("without echo-message a first direct message is not shown back, though the conversation's page holds it", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.history = (r) => ({ verb: "ok", tag: r.tag, kind: "history", groupName: "@alice", cursor: new Map([["a", 100]]), more: false, entries: [entry("a", 100, "bob", "hi alice")] });
  s.send("PRIVMSG alice :hi alice");
  assert.equal(s.lines(), []);
  assert.ok(s.heldOf("request", "@alice"));
});

test("PRIVMSG to nobody: 401; to oneself: stored in the conversation with oneself, whose stream delivers it back", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.add = (r) => ({ verb: "error", tag: r.tag, code: "no-user", message: "no such user" });
  s.send("PRIVMSG ghost :boo");
  assert.equal(s.lines(), [":a.distchat 401 bob ghost :No such nick/channel"]);
  s.answers.add = (r) => ({ verb: "ok", tag: r.tag, kind: "add", msg: (r as { msg: string }).msg, groupName: "@bob", msgId: { origin: "a", n: 100 } });
  const from = s.asked.length;
  s.send("PRIVMSG bob :note to self");
  assert.equal(s.since(from).find((r) => r.verb === "add"), { verb: "add", tag: s.since(from)[0].tag, token: "T".repeat(43), msg: "note to self", groupName: "@bob" });
  assert.equal(s.lines(), [], "not before the stream has it");
  s.poll("@bob", [{ msgId: { origin: "a", n: 100 }, userName: "bob", sentAt: 1_700_000_000_000, msg: "note to self" }]);
  assert.equal(s.lines().map(untagged), [":bob!bob@distchat PRIVMSG bob :note to self"], "delivered once (no echo-message)");
});

test("to oneself with echo-message and a label: the labeled echo and an unlabeled delivery, both with the stored time and msgid", () => {
  const s = new IrcScript();
  s.register("bob", ["echo-message", "labeled-response", "batch", "message-tags", "server-time"]);
  s.answers.add = (r) => ({ verb: "ok", tag: r.tag, kind: "add", msg: (r as { msg: string }).msg, groupName: "@bob", msgId: { origin: "a", n: 7 } });
  s.send("@label=xyz PRIVMSG bob :hi me");
  assert.equal(s.lines(), []);
  s.poll("@bob", [{ msgId: { origin: "a", n: 7 }, userName: "bob", sentAt: 1_700_000_000_000, msg: "hi me" }]);
  const lines = s.lines().sort();
  assert.equal(lines, [
    "@time=2023-11-14T22:13:20.000Z;msgid=a.7 :bob!bob@distchat PRIVMSG bob :hi me",
    "@time=2023-11-14T22:13:20.000Z;msgid=a.7;label=xyz :bob!bob@distchat PRIVMSG bob :hi me",
  ]);
});

test("new direct conversations: the first dms is the baseline, later ones that moved are read from the known message on", () => {
  const s = new IrcScript();
  let dms = [{ groupName: "@alice", last: { origin: "a", n: 5 } }];
  s.answers.dms = (r) => ({ verb: "ok", tag: r.tag, kind: "dms", entries: dms });
  s.register("bob");
  s.tick(5000);
  assert.not.ok(s.asked.some((r) => r.verb === "history"), "baseline at registration: nothing old is shown");
  dms = [{ groupName: "@alice", last: { origin: "a", n: 7 } }, { groupName: "@carol", last: { origin: "a", n: 6 } }];
  s.answers.history = (r) => {
    const room = (r as { groupName: string }).groupName;
    const entries = room === "@alice"
      ? [entry("a", 4, "alice", "old"), entry("a", 5, "alice", "seen"), entry("a", 7, "alice", "new to you")]
      : [entry("a", 6, "carol", "first words")];
    return { verb: "ok", tag: r.tag, kind: "history", groupName: room, cursor: new Map([["a", 7]]), more: false, entries };
  };
  s.tick(5000);
  assert.equal(s.lines(), [":alice!alice@distchat PRIVMSG bob :new to you", ":carol!carol@distchat PRIVMSG bob :first words"]);
  assert.ok(s.heldOf("request", "@alice") && s.heldOf("request", "@carol"), "both followed");
});

test("checkDms (a nudge from the listener) shows a new conversation before the answer to the next command", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.dms = (r) => ({ verb: "ok", tag: r.tag, kind: "dms", entries: [{ groupName: "@alice", last: { origin: "a", n: 3 } }] });
  s.answers.history = (r) => ({ verb: "ok", tag: r.tag, kind: "history", groupName: "@alice", cursor: new Map([["a", 3]]), more: false, entries: [entry("a", 3, "alice", "psst")] });
  s.take(s.c.checkDms(s.now));
  s.send("PING sync");
  assert.equal(s.lines(), [":alice!alice@distchat PRIVMSG bob :psst", ":a.distchat PONG a.distchat :sync"]);
});

test("the recipient of a direct message is named for the listener to nudge (IrcStep.dmsTo)", () => {
  const s = new IrcScript();
  s.register("bob");
  const step = s.c.line("PRIVMSG alice :hi", s.now);
  const add = step.requests[0];
  const after = s.c.reply({ verb: "ok", tag: add.tag, kind: "add", msg: "hi", groupName: "@alice", msgId: { origin: "a", n: 9 } }, s.now);
  assert.equal(after.dmsTo, ["alice"]);
});

test("labeled-response: one line gets the label, several a batch, none an ACK; PING too", () => {
  const s = new IrcScript();
  s.register("bob", ["labeled-response", "batch"]);
  s.send("@label=p1 PING x");
  assert.equal(s.lines(), ["@label=p1 :a.distchat PONG a.distchat :x"]);
  s.send("@label=j1 JOIN #lobby");
  const lines = s.lines();
  assert.match(lines[0], /^@label=j1 :a\.distchat BATCH \+(\S+) labeled-response$/);
  const id = /\+(\S+)/.exec(lines[0])![1];
  assert.ok(lines.slice(1, -1).every((l) => l.startsWith(`@batch=${id} `)));
  assert.is(lines.at(-1), `:a.distchat BATCH -${id}`);
  s.send("@label=a1 AWAY");
  assert.equal(s.lines(), ["@label=a1 :a.distchat 305 bob :You are no longer marked as being away"]);
  s.send("@label=t1 TAGMSG #lobby");
  assert.equal(s.lines(), ["@label=t1 :a.distchat ACK"]);
});

test("AWAY is connection-local: 306, then WHOIS of oneself shows 301", () => {
  const s = new IrcScript();
  s.register("bob");
  s.send("AWAY :lunch");
  assert.equal(s.lines().map(code), ["306"]);
  s.send("WHOIS bob");
  const lines = s.lines();
  assert.ok(lines.includes(":a.distchat 301 bob bob :lunch"));
  assert.is(code(lines.at(-1)!), "318");
});

test("WHOIS: 311, 319, 312, 330 for registered names, 317, 318; 401 for names not online", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.whois = (r) => ({ verb: "ok", tag: r.tag, kind: "whois", userName: "Alice", registered: true, idle: 42, publicKey: "-", rooms: ["lobby"] });
  s.send("WHOIS alice");
  assert.equal(s.lines(), [
    ":a.distchat 311 bob Alice Alice distchat * :Alice",
    ":a.distchat 319 bob Alice :#lobby",
    ":a.distchat 312 bob Alice a.distchat :DistChat (DistChat)",
    ":a.distchat 330 bob Alice Alice :is logged in as",
    ":a.distchat 317 bob Alice 42 :seconds idle",
    ":a.distchat 318 bob Alice :End of /WHOIS list",
  ]);
  s.answers.whois = (r) => ({ verb: "ok", tag: r.tag, kind: "whois", userName: "carol", registered: true, idle: null, publicKey: "-", rooms: [] });
  s.send("WHOIS carol");
  assert.equal(s.lines().map(code), ["401", "318"]);
});

test("ISON and USERHOST: the names online", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.whois = (r) => {
    const n = (r as { userName: string }).userName;
    return n === "ghost"
      ? { verb: "error", tag: r.tag, code: "no-user", message: "no such user" }
      : { verb: "ok", tag: r.tag, kind: "whois", userName: n, registered: false, idle: 0, publicKey: "-", rooms: [] };
  };
  s.send("ISON alice ghost carol").send("USERHOST alice ghost");
  assert.equal(s.lines(), [":a.distchat 303 bob :alice carol", ":a.distchat 302 bob :alice=+alice@distchat"]);
});

test.run();
