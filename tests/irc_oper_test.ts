/**
 * IRC operators and server information (lib/irc/_oper.ts, _help.ts;
 * lib/config/irc_opers.ts; lib/ircd/operators.ts): OPER's numerics and
 * +o, what only an operator may do (KILL, WALLOPS), how WHO and WHOIS show
 * operators and bots, INFO, LINKS, HELP, and the operators file.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { IrcScript } from "./_irc_script.ts";
import type { IrcMessage } from "../lib/irc/message.ts";
import { operLine, parseOpersFile } from "../lib/config/irc_opers.ts";
import { OperChecks, operPasswordOk } from "../lib/ircd/operators.ts";
import { WhowasHistory } from "../lib/irc/whowas.ts";
import { makeVerifier, verifierToBase64 } from "../lib/accounts/scram.ts";

const code = (line: string) => line.split(" ")[1];
const codes = (lines: string[]) => lines.map(code);

test("OPER with the right name and password: 381 and MODE +o; a wrong one or no operators: 464 / 491, no +o", () => {
  const s = new IrcScript({ operators: true });
  s.register("baz");
  s.send("OPER operuser operpassword");
  assert.equal(s.lines(), [":a.distchat 381 baz :You are now an IRC operator", ":baz!baz@distchat MODE baz +o"]);
  assert.ok(s.c.state.userModes.has("o"));
  s.send("OPER operuser operpassword");
  assert.equal(codes(s.lines()), ["381"], "once +o, no second MODE");

  const t = new IrcScript({ operators: true });
  t.register("qux");
  for (const line of ["OPER operuser wrong", "OPER notanoper operpassword"]) {
    t.send(line);
    assert.equal(t.lines(), [":a.distchat 464 qux :Password incorrect"], line);
  }
  t.send("OPER operuser");
  assert.equal(codes(t.lines()), ["461"]);
  assert.not.ok(t.c.state.userModes.has("o"));

  const none = new IrcScript();
  none.register("zed");
  none.send("OPER operuser operpassword");
  assert.equal(codes(none.lines()), ["491"]);
  assert.equal(none.proofs, [], "no password work without operators");
});

test("MODE nick +o is ignored (only OPER gives it); -o drops it; +B is a bot", () => {
  const s = new IrcScript({ operators: true });
  s.register("baz");
  s.send("MODE baz +o");
  assert.equal(s.lines(), []);
  assert.not.ok(s.c.state.userModes.has("o"));
  s.send("OPER operuser operpassword").lines();
  s.send("MODE baz -o");
  assert.equal(s.lines(), [":baz!baz@distchat MODE baz -o"]);
  s.send("MODE baz +B");
  assert.equal(s.lines(), [":baz!baz@distchat MODE baz +B"]);
  s.send("MODE baz");
  assert.equal(s.lines(), [":a.distchat 221 baz :+B"]);
});

test("KILL: 481 for a non-operator; an operator's closes the listener's connection, or says where the nick is", () => {
  const killed: [string, string][] = [];
  const s = new IrcScript({ operators: true, kill: (nick, reason) => (killed.push([nick, reason]), nick === "alice") });
  s.register("ircop");
  s.send("KILL alice :bye");
  assert.equal(codes(s.lines()), ["481"]);
  assert.equal(killed, []);
  s.send("OPER operuser operpassword").lines();
  s.send("KILL alice :some reason");
  assert.equal(s.lines(), []);
  assert.equal(killed, [["alice", "Killed (ircop (some reason))"]]);
  s.send("KILL bob :x");
  assert.equal(s.lines(), [":a.distchat FAIL KILL REMOTE_USER bob :is not connected to this server's IRC listener: KILL disconnects its connections only"], "online elsewhere");
  s.answers.whois = (r) => ({ verb: "ok", tag: r.tag, kind: "whois", userName: "nobody", registered: false, idle: null, publicKey: "-", rooms: [] });
  s.send("KILL nobody :x");
  assert.equal(codes(s.lines()), ["401"]);
  s.send("KILL");
  assert.equal(codes(s.lines()), ["461"]);
  s.send("KILL ircop :me");
  assert.ok(s.closed);
  assert.equal(s.lines().at(-1), ":a.distchat ERROR :Closing link: Killed (ircop (me))");
});

test("WALLOPS: 481 for a non-operator; an operator's goes to the listener's +w users (and to itself with +w)", () => {
  const sent: [IrcMessage, string][] = [];
  const s = new IrcScript({ operators: true, wallops: (msg, except) => sent.push([msg, except]) });
  s.register("nick1");
  s.send("WALLOPS :hi everyone");
  assert.equal(codes(s.lines()), ["481"]);
  s.send("OPER operuser operpassword").lines();
  s.send("WALLOPS :hi everyone");
  assert.equal(s.lines(), []);
  assert.equal(sent, [[{ tags: {}, source: "nick1!nick1@distchat", command: "WALLOPS", params: ["hi everyone"] }, "nick1"]]);
  s.send("MODE nick1 +w").lines();
  s.send("WALLOPS :again");
  assert.equal(s.lines(), [":nick1!nick1@distchat WALLOPS again"]);
  const t = new IrcScript();
  t.register("n2");
  const told = t.c.told({ tags: {}, source: "nick1!nick1@distchat", command: "WALLOPS", params: ["told"] }, t.now);
  assert.equal(told.lines, [":nick1!nick1@distchat WALLOPS told"], "the listener's line, as it is");
});

test("WHO and WHOIS show an operator (*, 313) and a bot (B, 335)", () => {
  const s = new IrcScript({ operators: true, localUser: (nick) => (nick === "robo" ? { user: "robo", realname: "R", away: null, oper: true, bot: true } : null) });
  s.register("me");
  s.send("WHO robo");
  assert.match(s.lines()[0], / robo H\*B :0 R$/);
  s.send("WHOIS robo");
  const lines = s.lines();
  assert.ok(lines.includes(":a.distchat 313 me robo :is an IRC operator"), lines.join("\n"));
  assert.ok(lines.includes(":a.distchat 335 me robo :is a bot on DistChat"));
  s.send("OPER operuser operpassword").lines();
  s.send("WHO me");
  assert.match(s.lines()[0], / me H\* :0 me Real$/, "one's own +o");
});

test("a bot's messages carry the bot tag (its own echo too); others' do not", () => {
  const s = new IrcScript({ botOf: (nick) => nick === "robo" });
  s.joined("me", "#c", ["message-tags", "echo-message"]);
  s.poll("c", [{ msgId: { origin: "a", n: 5 }, userName: "robo", sentAt: 1_700_000_000_000, msg: "beep" }, { msgId: { origin: "a", n: 6 }, userName: "human", sentAt: 1_700_000_000_000, msg: "hi" }]);
  const lines = s.lines().filter((l) => l.includes("PRIVMSG"));
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0], /^@[^ ]*\bbot\b[^ ]* :robo!robo@distchat PRIVMSG #c :beep$/);
  assert.not.match(lines[1], /\bbot\b/);
  s.send("MODE me +B").lines();
  s.send("PRIVMSG #c :boop");
  s.poll("c", [{ msgId: { origin: "a", n: 100 }, userName: "me", sentAt: 1_700_000_000_000, msg: "boop" }]);
  const echo = s.lines().filter((l) => l.includes("PRIVMSG"));
  assert.equal(echo.length, 1, echo.join("\n"));
  assert.match(echo[0], /^@[^ ]*\bbot\b/);
});

test("SETNAME: the real name changes (WHOIS shows it), is confirmed, and told to the listener's users in its channels", () => {
  const told: [string[], string, string][] = [];
  const s = new IrcScript({ tellChannels: (rooms, msg, cap, except) => told.push([rooms, `${msg.command} ${msg.params.join(" ")}`, `${cap} ${except}`]) });
  s.joined("foo", "#chan", ["setname"]);
  s.send("SETNAME :Mr Qux");
  assert.equal(s.lines(), [":foo!foo@distchat SETNAME :Mr Qux"]);
  assert.equal(told, [[["chan"], "SETNAME Mr Qux", "setname foo"]]);
  s.send("WHOIS foo");
  assert.ok(s.lines().some((l) => l.endsWith(" 311 foo foo foo distchat * :Mr Qux")));
  s.send("SETNAME :   ");
  assert.equal(s.lines(), [":a.distchat FAIL SETNAME INVALID_REALNAME :A real name is 1-300 bytes, not only spaces"]);
  s.send("SETNAME");
  assert.equal(codes(s.lines()), ["461"]);
  assert.is(s.c.state.realname, "Mr Qux", "a refused SETNAME changes nothing");
});

test("WHOWAS: the listener's nicks that left, newest first, at most `count`; 406 for none; 369 at the end", () => {
  const h = new WhowasHistory(2, 2);
  h.add({ nick: "nick2", user: "ident2", realname: "Realname", server: "a.distchat", at: 1_000 });
  h.add({ nick: "Nick2", user: "ident3", realname: "Realname", server: "a.distchat", at: 2_000 });
  h.add({ nick: "nick2", user: "ident4", realname: "Realname", server: "a.distchat", at: 3_000 });
  assert.equal(h.find("NICK2", 0).map((e) => e.user), ["ident4", "ident3"], "two kept per nick, newest first");
  const s = new IrcScript({ whowas: (nick, count) => h.find(nick, count) });
  s.register("nick1");
  s.send("WHOWAS nick2 1");
  assert.equal(s.lines(), [
    ":a.distchat 314 nick1 nick2 ident4 distchat * :Realname",
    `:a.distchat 312 nick1 nick2 a.distchat :${new Date(3_000).toUTCString()}`,
    ":a.distchat 369 nick1 nick2 :End of WHOWAS",
  ]);
  for (const count of ["", " 0", " -1", " 2", " x"]) {
    s.send(`WHOWAS nick2${count}`);
    assert.equal(codes(s.lines()), ["314", "312", "314", "312", "369"], count);
  }
  s.send("WHOWAS nobody");
  assert.equal(codes(s.lines()), ["406", "369"]);
  h.add({ nick: "x", user: "x", realname: "x", server: "a.distchat", at: 4_000 });
  h.add({ nick: "y", user: "y", realname: "y", server: "a.distchat", at: 5_000 });
  assert.is(h.size, 2, "bounded in nicks: the oldest is forgotten");
  assert.equal(h.find("nick2", 0), []);
});

test("LIST with ELIST conditions: masks (M), not-masks (N), member counts (U), topic times (T)", () => {
  const members: Record<string, string[]> = { chan1: ["foo"], chan2: ["foo", "bar"], other: ["x"] };
  const topicAt: Record<string, number> = { chan1: 1_700_000_000_000 - 3 * 60_000, chan2: 1_700_000_000_000 - 60_000, other: 0 };
  const s = new IrcScript();
  s.answers.rooms = (r) => ({ verb: "ok", tag: r.tag, kind: "rooms", more: false, names: Object.keys(members) });
  s.answers.who = (r) => {
    const room = (r as { groupName: string }).groupName;
    return { verb: "ok", tag: r.tag, kind: "who", groupName: room, more: false, names: members[room] };
  };
  s.answers.room = (r) => {
    const room = (r as { groupName: string }).groupName;
    return { verb: "ok", tag: r.tag, kind: "room", groupName: room, mode: "-", topicBy: "-", topicAt: topicAt[room], topic: topicAt[room] ? "t" : "", roles: [] };
  };
  s.register("baz");
  const listed = (param: string) => {
    s.send(`LIST ${param}`);
    return s.lines().filter((l) => code(l) === "322").map((l) => l.split(" ")[3]).sort();
  };
  assert.equal(listed("*an1"), ["#chan1"]);
  assert.equal(listed("#c*n2"), ["#chan2"]);
  assert.equal(listed("#CH*"), ["#chan1", "#chan2"]);
  assert.equal(listed("!*an1"), ["#chan2", "#other"]);
  assert.equal(listed("!#ch*"), ["#other"]);
  assert.equal(listed(">1"), ["#chan2"]);
  assert.equal(listed("<2"), ["#chan1", "#other"]);
  assert.equal(listed("<1"), []);
  assert.equal(listed("T>2"), ["#chan1"]);
  assert.equal(listed("T<2"), ["#chan2"]);
  assert.equal(listed("T<0"), []);
  assert.equal(listed("#ch*,>1"), ["#chan2"], "all conditions hold");
  assert.equal(listed("#chan1,#other"), ["#chan1", "#other"]);
  assert.equal(listed(""), ["#chan1", "#chan2", "#other"]);
});

test("INFO, LINKS: this server and the cluster's; INFO of another server is 402", () => {
  const s = new IrcScript({ info: "test server", peers: ["b", "c"] });
  s.register("nick");
  s.send("INFO");
  const info = s.lines();
  assert.ok(info.length >= 2);
  assert.equal(codes(info), [...info.slice(0, -1).map(() => "371"), "374"]);
  s.send("INFO elsewhere.example");
  assert.equal(codes(s.lines()), ["402"]);
  s.send("LINKS");
  assert.equal(s.lines(), [
    ":a.distchat 364 nick a.distchat a.distchat :0 test server",
    ":a.distchat 364 nick b a.distchat :1 DistChat server b",
    ":a.distchat 364 nick c a.distchat :1 DistChat server c",
    ":a.distchat 365 nick * :End of /LINKS list",
  ]);
});

test("HELP and HELPOP: an index, a command's help (704, 705…, 706), 524 for an unknown subject", () => {
  const s = new IrcScript();
  s.register("nick");
  for (const cmd of ["HELP", "HELPOP"]) {
    s.send(cmd);
    const index = s.lines();
    assert.is(code(index[0]), "704");
    assert.is(code(index.at(-1)!), "706");
    assert.ok(index.some((l) => l.includes("PRIVMSG")));
    s.send(`${cmd} privmsg`);
    const one = s.lines();
    assert.equal(codes(one), ["704", "705", "706"]);
    assert.ok(one.every((l) => l.split(" ")[3] === "privmsg"), "the subject as asked");
    s.send(`${cmd} THISISNOTACOMMAND`);
    assert.equal(s.lines(), [":a.distchat 524 nick THISISNOTACOMMAND :No help available on this topic"]);
  }
});

test("irc-opers.txt: a keygen line parses; bad lines are refused naming the file and line", async () => {
  const v = await makeVerifier("operpassword", new Uint8Array(16).fill(1), 4096);
  const line = operLine("operuser", verifierToBase64(v));
  const opers = parseOpersFile(`# operators\n\n${line}\n`, "irc-opers.txt");
  assert.equal([...opers.keys()], ["operuser"]);
  assert.ok(await operPasswordOk(opers, "operuser", "operpassword"));
  assert.not.ok(await operPasswordOk(opers, "operuser", "operpassword2"));
  assert.not.ok(await operPasswordOk(opers, "other", "operpassword"));
  const bad = [
    ["operuser plaintext", /line 1: the password field is not a SCRAM-SHA-256 verifier/],
    [`${line}\n${line}`, /line 2: operator "operuser" is given twice/],
    ["a:b " + line.split(" ")[1], /"a:b" is not an operator name/],
    [line.replace("$4096:", "$10:"), /iterations must be/],
    ["operuser", /expected two fields/],
  ] as const;
  for (const [text, why] of bad) assert.throws(() => parseOpersFile(text, "irc-opers.txt"), (e: Error) => why.test(e.message) && e.message.startsWith("irc-opers.txt line"));
});

test("OPER checks are bounded per address: past 10 failed or running in a minute, it waits (no work done); others do not", async () => {
  const v = await makeVerifier("right", new Uint8Array(16).fill(2), 4096);
  let now = 1_000_000;
  const checks = new OperChecks(parseOpersFile(operLine("root", verifierToBase64(v)), "irc-opers.txt"), () => now);
  const wrong = await Promise.all(Array.from({ length: 12 }, () => checks.check("192.0.2.1", "root", "wrong")));
  assert.equal(wrong.filter((a) => a === null).length, 10, "ten run at once");
  assert.equal(wrong.filter((a) => a === "rate-limited").length, 2);
  assert.is(await checks.check("192.0.2.1", "root", "right"), "rate-limited", "even the right password waits");
  assert.is(await checks.check("192.0.2.2", "root", "right"), "ok", "another address is not held back");
  now += 61_000;
  assert.is(await checks.check("192.0.2.1", "root", "right"), "ok", "a minute later");
});

test.run();
