/**
 * lib/irc/connection.ts, registration and the connection's life: CAP
 * negotiation, NICK/USER and the DistChat login they make, the welcome
 * burst, refusals (433, 432, 451, 421, 417, INVALID_UTF8), PING/PONG, QUIT,
 * timeouts and flood control — as scripted conversations.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { IrcScript } from "./_irc_script.ts";

const enc = new TextEncoder();
const code = (line: string) => line.split(" ")[1];

test("NICK and USER log in as the nick; the welcome burst follows with honest ISUPPORT", () => {
  const s = new IrcScript();
  s.send("NICK bob");
  assert.equal(s.asked, [], "no login before USER");
  s.send("USER bob 0 * :Bob Smith");
  assert.equal(s.asked.map((r) => r.verb), ["login", "dms"], "then the direct conversations as they stand (not news)");
  assert.equal(s.asked[0], { verb: "login", tag: s.asked[0].tag, userName: "bob" });
  const lines = s.lines();
  assert.equal(lines.map(code).slice(0, 4), ["001", "002", "003", "004"]);
  assert.is(lines[0], ":a.distchat 001 bob :Welcome to the DistChat IRC network, bob!bob@distchat");
  const isupport = lines.filter((l) => code(l) === "005").join(" ");
  for (const t of ["CASEMAPPING=ascii", "CHANTYPES=#", "NICKLEN=32", "CHANNELLEN=65", "TOPICLEN=300", "PREFIX=(ov)@+", "CHANMODES=b,k,l,imnst", "UTF8ONLY", "CHATHISTORY=100"]) {
    assert.ok(isupport.includes(t), t);
  }
  assert.ok(lines.some((l) => code(l) === "251"), "LUSERS");
  assert.is(code(lines.at(-1)!), "422", "no MOTD configured");
  assert.ok(s.c.state.registered);
});

test("a MOTD is sent as 375, 372…, 376", () => {
  const s = new IrcScript({ motd: ["Welcome", "Be nice"] });
  const lines = s.register("bob");
  assert.equal(lines.slice(-4).map(code), ["375", "372", "372", "376"]);
  assert.ok(lines.at(-2)!.endsWith(":- Be nice"));
});

test("CAP LS 302 holds registration until CAP END; REQ is all or nothing", () => {
  const s = new IrcScript();
  s.send("CAP LS 302").send("NICK bob").send("USER bob 0 * :Bob");
  assert.equal(s.asked, [], "waits for CAP END");
  const ls = s.lines()[0];
  assert.match(ls, /^:a\.distchat CAP \* LS :.*sasl=PLAIN,SCRAM-SHA-256/);
  for (const cap of ["server-time", "message-tags", "echo-message", "labeled-response", "batch", "draft/chathistory", "account-tag", "extended-join"]) {
    assert.ok(ls.split(" ").includes(cap) || ls.includes(" " + cap + " ") || ls.includes(":" + cap), cap);
  }
  s.send("CAP REQ :server-time bogus-cap");
  assert.equal(s.lines(), [":a.distchat CAP bob NAK :server-time bogus-cap"]);
  assert.not.ok(s.c.state.caps.has("server-time"));
  s.send("CAP REQ :server-time echo-message");
  assert.equal(s.lines(), [":a.distchat CAP bob ACK :server-time echo-message"]);
  s.send("CAP REQ :-echo-message");
  s.send("CAP LIST");
  assert.equal(s.lines().at(-1), ":a.distchat CAP bob LIST :server-time");
  s.send("CAP FOO");
  assert.is(code(s.lines()[0]), "410");
  s.send("CAP END");
  assert.equal(s.asked.map((r) => r.verb), ["login", "dms"]);
  assert.is(code(s.lines()[0]), "001");
});

test("a nick in use is 433 and the client may pick another; a registered one says how to log in", () => {
  const s = new IrcScript();
  let registered = false;
  s.answers.login = (r) => ({ verb: "error", tag: r.tag, code: "name-taken", message: registered ? "bob is registered" : "bob is in use" });
  s.send("NICK bob").send("USER bob 0 * :Bob");
  assert.equal(s.lines(), [":a.distchat 433 * bob :Nickname is already in use"]);
  registered = true;
  s.send("NICK bob");
  assert.match(s.lines()[0], /^:a\.distchat 433 \* bob :bob is a registered name: log in with SASL/);
  s.answers.login = (r) => ({ verb: "ok", tag: r.tag, kind: "login", userName: "bob_", token: "T".repeat(43), ttl: 300 });
  s.send("NICK bob_");
  assert.is(s.lines()[0], ":a.distchat 001 bob_ :Welcome to the DistChat IRC network, bob_!bob_@distchat");
});

test("NICK refusals that need no request: 431, 432", () => {
  const s = new IrcScript();
  s.send("NICK").send("NICK -bob").send("NICK " + "a".repeat(33)).send("NICK é");
  assert.equal(s.lines().map(code), ["431", "432", "432", "432"]);
  assert.equal(s.asked, []);
});

test("before registration only registration commands; unknown commands are 421", () => {
  const s = new IrcScript();
  s.send("JOIN #lobby").send("PRIVMSG #a :x").send("PING x").send("FOO").send("NONEXISTENT_COMMAND");
  const lines = s.lines();
  assert.equal(lines.map(code), ["451", "451", "PONG", "421", "421"]);
  assert.is(lines[2], ":a.distchat PONG a.distchat :x");
  s.register("bob");
  s.send("PING");
  assert.is(code(s.lines()[0]), "409");
});

test("USER with an empty real name: 461; TIME: 391; WHOWAS: DistChat keeps no past nicks (406, 369)", () => {
  const s = new IrcScript();
  s.send("NICK bob").send("USER bob 0 * :");
  assert.equal(s.lines().map(code), ["461"]);
  s.send("USER bob 0 * :Bob");
  s.lines();
  s.send("TIME").send("WHOWAS alice");
  assert.equal(s.lines().map(code), ["391", "406", "369"]);
});

test("USER and PASS after registration: 462", () => {
  const s = new IrcScript();
  s.register("bob");
  s.send("USER x 0 * :x").send("PASS x");
  assert.equal(s.lines().map(code), ["462", "462"]);
});

test("QUIT: ERROR, logout, close; a dropped socket logs out too", () => {
  const s = new IrcScript();
  s.register("bob");
  s.send("QUIT :gone fishing");
  assert.equal(s.lines(), [":a.distchat ERROR :Closing link: Quit: gone fishing"]);
  assert.ok(s.closed);
  assert.is(s.asked.at(-1)!.verb, "logout");
  s.send("PRIVMSG #a :after quit");
  assert.equal(s.lines(), [], "nothing after closing");
  const t = new IrcScript();
  t.register("carol");
  t.take(t.c.disconnected(t.now));
  assert.is(t.asked.at(-1)!.verb, "logout");
});

test("registration times out; silence gets a PING, then a ping timeout", () => {
  const s = new IrcScript();
  s.send("NICK bob");
  s.tick(59_000);
  assert.not.ok(s.closed);
  s.tick(2_000);
  assert.ok(s.closed);
  assert.match(s.lines().at(-1)!, /ERROR :Closing link: Registration timed out/);

  const t = new IrcScript();
  t.register("bob");
  t.tick(121_000);
  assert.ok(t.lines().includes(":a.distchat PING a.distchat"));
  t.send("PONG a.distchat");
  t.tick(100_000);
  assert.not.ok(t.closed, "the PONG counted");
  t.tick(30_000);
  t.lines();
  t.tick(121_000);
  assert.ok(t.closed);
  assert.match(t.lines().at(-1)!, /Ping timeout/);
});

test("an idle session is kept alive with a cheap request", () => {
  const s = new IrcScript();
  s.register("bob");
  const before = s.asked.length;
  s.tick(101_000);
  assert.ok(s.since(before).some((r) => r.verb === "rooms"), "a rooms probe within ttl/3");
});

test("bad lines: 417 for too long, FAIL INVALID_UTF8 (labeled), bare CR and NUL refused; the connection stays", () => {
  const s = new IrcScript();
  s.register("bob", ["labeled-response", "batch", "message-tags"]);
  s.send("PRIVMSG #a :" + "x".repeat(600));
  assert.is(code(s.lines()[0]), "417");
  s.send(new Uint8Array([...enc.encode("@label=q PRIVMSG #a hi"), 0xaa]));
  assert.equal(s.lines(), ["@label=q :a.distchat FAIL PRIVMSG INVALID_UTF8 :Message rejected: it is not valid UTF-8"]);
  s.send("PRIVMSG #a :a\rb").send("PING a\0b");
  assert.equal(s.lines().map((l) => l.split(" ").slice(1, 4).join(" ")), ["FAIL * INVALID_LINE", "FAIL PING INVALID_LINE"]);
  assert.not.ok(s.closed);
});

test("a line past tags + 512 bytes without its LF closes the connection", () => {
  const s = new IrcScript();
  s.register("bob");
  s.bytes(enc.encode("PRIVMSG #a :" + "x".repeat(16384)));
  assert.ok(s.closed);
  assert.match(s.lines().at(-1)!, /Input line too long/);
});

test("a flood of lines is cut off (Excess flood), within the burst allowance nothing happens", () => {
  const s = new IrcScript();
  s.register("bob");
  s.tick(10_000);
  s.lines();
  s.bytes(enc.encode("PING x\r\n".repeat(90)));
  assert.not.ok(s.closed);
  s.bytes(enc.encode("PING x\r\n".repeat(50)));
  assert.ok(s.closed);
  assert.match(s.lines().at(-1)!, /Excess flood/);
});

test("10,000 JOINs of bad names: each refused or cut off, never a throw", () => {
  const s = new IrcScript();
  s.register("bob");
  for (let i = 0; i < 10_000 && !s.closed; i++) s.send(`JOIN ##bad${i}`);
  assert.ok(s.closed, "flood control ends it");
  assert.ok(s.lines().filter((l) => code(l) === "479").length >= 90);
});

test("NICK after registration: a new session for the new name, channels joined again, the old one logged out", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  const from = s.asked.length;
  s.answers.login = (r) => ({ verb: "ok", tag: r.tag, kind: "login", userName: "robert", token: "U".repeat(43), ttl: 300 });
  s.send("NICK robert");
  const asked = s.since(from).filter((r) => r.verb !== "request");
  assert.equal(asked.map((r) => r.verb), ["login", "connect", "logout"]);
  assert.is((asked[1] as { token: string }).token, "U".repeat(43), "joined again with the new session");
  assert.is((asked[2] as { token: string }).token, "T".repeat(43), "the old session logged out");
  assert.ok(s.lines().includes(":bob!bob@distchat NICK robert"));
  assert.is(s.c.state.nick, "robert");
  const polls = s.held.filter((r) => r.verb === "request") as { token: string }[];
  assert.is(polls.at(-1)!.token, "U".repeat(43), "the stream is read with the new session");
});

test("NICK change to a taken name: 433, nothing changes", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.login = (r) => ({ verb: "error", tag: r.tag, code: "name-taken", message: "in use" });
  s.send("NICK carol");
  assert.equal(s.lines(), [":a.distchat 433 bob carol :Nickname is already in use"]);
  assert.is(s.c.state.nick, "bob");
});

test("a session DistChat no longer knows (bad-token) ends the connection with the reason", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.whois = (r) => ({ verb: "error", tag: r.tag, code: "bad-token", message: "bob was registered by its owner" });
  s.send("WHOIS alice");
  assert.ok(s.closed);
  assert.match(s.lines().at(-1)!, /ERROR :Closing link: DistChat session ended: bob was registered by its owner/);
});

test("commands run in order: lines after one that waits for DistChat wait too (JOIN after USER, PONG last)", () => {
  const s = new IrcScript();
  s.answers.login = () => null;
  s.send("NICK bob").send("USER bob 0 * :Bob").send("JOIN #lobby").send("PRIVMSG #lobby :first!").send("PING sync");
  assert.equal(s.lines(), [], "everything waits for the login");
  assert.equal(s.asked.map((r) => r.verb), ["login"]);
  const login = s.heldOf("login");
  s.answer(login, { verb: "ok", tag: login.tag, kind: "login", userName: "bob", token: "T".repeat(43), ttl: 300 });
  const lines = s.lines();
  assert.is(code(lines[0]), "001");
  assert.ok(lines.indexOf(":bob!bob@distchat JOIN #lobby") > 0);
  assert.is(lines.at(-1), ":a.distchat PONG a.distchat :sync");
  const verbs = s.asked.map((r) => r.verb);
  assert.ok(verbs.indexOf("connect") < verbs.indexOf("add"), "the message is sent after the join");
});

test("a command DistChat never answers is given up after 30 s (FAIL … TIMEOUT) and the next ones run", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.whois = () => null;
  s.send("WHOIS alice").send("PING after");
  assert.equal(s.lines(), []);
  s.tick(31_000);
  assert.equal(s.lines(), [":a.distchat FAIL WHOIS TIMEOUT :DistChat did not answer in time; try again", ":a.distchat PONG a.distchat :after"]);
});

test.run();
