/**
 * MONITOR, extended-monitor and WHOX in lib/irc (scripted conversations with
 * the pure connection) and lib/ircd/monitors.ts (the listener's watch of
 * every monitored nick), without sockets: who is online is a map the test
 * changes.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { IrcScript } from "./_irc_script.ts";
import { MonitorWatch } from "../lib/ircd/monitors.ts";
import { parseWhox, whoxParams } from "../lib/irc/_whox.ts";
import { commaChunks } from "../lib/irc/_monitor.ts";
import { MAX_MONITOR } from "../lib/irc/isupport.ts";
import { nameKey } from "../lib/wire/names.ts";

const code = (line: string) => line.split(" ")[1];

/** A connection whose `onlineOf` reads `live` (key → name as written). */
function script(live: Map<string, string>, nick = "me", caps: string[] = []): IrcScript {
  const s = new IrcScript({ onlineOf: (n) => live.get(nameKey(n)) ?? null });
  s.register(nick, caps);
  return s;
}

test("ISUPPORT says MONITOR=100 and WHOX; CAP LS offers extended-monitor", () => {
  assert.ok(new IrcScript().send("CAP LS 302").lines()[0].includes("extended-monitor"));
  const tokens = new IrcScript().register("bob").filter((l) => code(l) === "005").flatMap((l) => l.split(" "));
  assert.ok(tokens.includes(`MONITOR=${MAX_MONITOR}`), "MONITOR");
  assert.ok(tokens.includes("WHOX"), "WHOX");
});

test("MONITOR + answers 730 for the online (as DistChat writes the name) and 731 for the others; L, S, -, C", () => {
  const live = new Map([["bob", "Bob"]]);
  const s = script(live);
  s.send("MONITOR + bob,carol");
  assert.equal(s.lines(), [":a.distchat 730 me :Bob!Bob@distchat", ":a.distchat 731 me :carol"]);
  assert.equal(s.asked.filter((r) => r.verb === "whois"), [], "the listener knows who is online: no request");
  s.send("MONITOR + BOB"); // already monitored (case-insensitively): nothing new to say
  assert.equal(s.lines(), []);
  s.send("MONITOR L");
  assert.equal(s.lines(), [":a.distchat 732 me :bob,carol", ":a.distchat 733 me :End of MONITOR list"]);
  s.send("MONITOR S");
  assert.equal(s.lines(), [":a.distchat 730 me :Bob!Bob@distchat", ":a.distchat 731 me :carol"]);
  const list = s.c.state.monitor;
  s.send("MONITOR - dave");
  assert.is(s.c.state.monitor, list, "nothing removed: the same list (the listener sees a change by a new map)");
  s.send("MONITOR - Bob");
  assert.equal(s.lines(), [], "removing says nothing");
  assert.is.not(s.c.state.monitor, list, "a change is a new map");
  assert.equal([...s.c.state.monitor.values()], ["carol"]);
  s.send("MONITOR C");
  assert.equal(s.lines(), []);
  s.send("MONITOR L");
  assert.equal(s.lines(), [":a.distchat 733 me :End of MONITOR list"]);
});

test("MONITOR refuses masks (432) and what it cannot read (461, 421), and a full list is 734 with the rest", () => {
  const s = script(new Map());
  s.send("MONITOR + *!user@localhost");
  assert.equal(s.lines().map(code), ["432"]);
  assert.is(s.c.state.monitor.size, 0, "a mask is not monitored");
  s.send("MONITOR +");
  s.send("MONITOR");
  assert.equal(s.lines().map(code), ["461", "461"]);
  s.send("MONITOR X bob");
  assert.equal(s.lines().map(code), ["421"]);
  const nicks = Array.from({ length: MAX_MONITOR + 2 }, (_, i) => `n${i}`);
  s.send(`MONITOR + ${nicks.join(",")}`);
  const lines = s.lines();
  assert.is(s.c.state.monitor.size, MAX_MONITOR);
  assert.ok(lines.includes(`:a.distchat 734 me ${MAX_MONITOR} n${MAX_MONITOR},n${MAX_MONITOR + 1} :Monitor list is full.`), lines.join("\n"));
  assert.ok(lines.filter((l) => code(l) === "731").every((l) => l.length < 512), "each 731 fits a line");
  assert.is(lines.filter((l) => code(l) === "731").join(",").split(",").length, MAX_MONITOR);
});

test("the listener's note of a change reaches a connection only for a nick it monitors", () => {
  const s = script(new Map());
  s.send("MONITOR + bob").lines();
  s.take(s.c.monitored("bob", "Bob", "bob", s.now));
  assert.equal(s.lines(), [":a.distchat 730 me :Bob!Bob@distchat"]);
  s.take(s.c.monitored("bob", null, "Bob", s.now));
  assert.equal(s.lines(), [":a.distchat 731 me :Bob"]);
  s.take(s.c.monitored("carol", "carol", "carol", s.now));
  assert.equal(s.lines(), []);
});

test("extended-monitor: a monitored user's AWAY reaches a connection sharing no channel with it, only with away-notify too", () => {
  const note = (state: "away" | "back") => ({ userName: "bob", state, ttlMs: 600_000, rooms: ["elsewhere"] });
  const both = script(new Map(), "me", ["extended-monitor", "away-notify"]);
  both.send("MONITOR + bob").lines();
  both.take(both.c.presence(note("away"), both.now));
  assert.equal(both.lines(), [":bob!bob@distchat AWAY :Away"]);
  both.take(both.c.presence(note("away"), both.now));
  assert.equal(both.lines(), [], "said again: told once");
  both.take(both.c.presence(note("back"), both.now));
  assert.equal(both.lines(), [":bob!bob@distchat AWAY"]);
  both.take(both.c.presence({ ...note("away"), userName: "carol" }, both.now));
  assert.equal(both.lines(), [], "not monitored, no channel shared");

  for (const caps of [["away-notify"], ["extended-monitor"]]) {
    const s = script(new Map(), "me", caps);
    s.send("MONITOR + bob").lines();
    s.take(s.c.presence(note("away"), s.now));
    assert.equal(s.lines(), [], caps.join());
  }
});

test("MonitorWatch: one lookup per nick for all its watchers, a change told to each, a change of case is none", () => {
  const live = new Map<string, string>();
  const told: string[] = [];
  const looked: string[] = [];
  const m = new MonitorWatch<string>({
    online: (k) => (looked.push(k), live.get(k) ?? null),
    tell: (w, key, held, was) => told.push(`${w} ${key} ${held ?? "-"} ${was}`),
  });
  m.set("c1", ["bob", "carol"]);
  m.set("c2", ["bob"]);
  assert.is(m.size, 2);
  m.check(10);
  assert.equal(told, []);
  live.set("bob", "Bob");
  looked.length = 0;
  m.check(10);
  assert.equal(looked.sort(), ["bob", "carol"], "each nick looked up once");
  assert.equal(told.sort(), ["c1 bob Bob bob", "c2 bob Bob bob"]);
  told.length = 0;
  live.set("bob", "BOB");
  m.check(10);
  assert.equal(told, [], "a change of case");
  live.delete("bob");
  m.set("c2", []); // c2 stops monitoring bob
  m.check(10);
  assert.equal(told, ["c1 bob - BOB"], "offline, as the name it had");
  m.drop("c1");
  assert.is(m.size, 0);
});

test("MonitorWatch: a check looks at most `most` nicks, in turn; a watcher joining a nick learns its state, the others hear the change", () => {
  const live = new Map<string, string>();
  const told: string[] = [];
  let looks = 0;
  const m = new MonitorWatch<string>({ online: (k) => (looks++, live.get(k) ?? null), tell: (w, k, h) => told.push(`${w} ${k} ${h ?? "-"}`) });
  m.set("c1", ["a", "b", "c", "d"]);
  looks = 0;
  for (const k of ["a", "b", "c", "d"]) live.set(k, k);
  m.check(2);
  assert.is(looks, 2);
  m.check(2);
  assert.equal(told.sort(), ["c1 a a", "c1 b b", "c1 c c", "c1 d d"], "every nick within two checks");
  told.length = 0;
  live.delete("a");
  m.set("c2", ["a"]);
  assert.equal(told, ["c1 a -"], "c1 hears a went offline; c2 learns it from its own MONITOR +");
});

test("MonitorWatch.checkNames looks only the watched names of a commit up again", () => {
  const live = new Map<string, string>();
  const looked: string[] = [];
  const told: string[] = [];
  const m = new MonitorWatch<string>({ online: (k) => (looked.push(k), live.get(k) ?? null), tell: (w, k, h) => told.push(`${w} ${k} ${h ?? "-"}`) });
  m.set("c1", ["bob"]);
  looked.length = 0;
  live.set("bob", "bob");
  m.checkNames(["ann", "bob", "zed"]);
  assert.equal(looked, ["bob"]);
  assert.equal(told, ["c1 bob bob"]);
});

test("WHOX: fields in the protocol's order whatever the order asked, the token echoed, 0 for no account", () => {
  assert.equal(parseWhox("%nat,42"), { fields: "tna", token: "42" });
  assert.equal(parseWhox("%n,1234"), { fields: "n", token: "0" }, "a token is 1 to 3 digits");
  assert.is(parseWhox(undefined), null);
  assert.is(parseWhox("o"), null);
  const facts = { channel: "#c", user: "u", host: "h", server: "s", nick: "bob", flags: "H", idle: 5, account: null, realname: "Bob B" };
  assert.equal(whoxParams(parseWhox("%rtcuihsnfdlao,7")!, facts), ["7", "#c", "u", "255.255.255.255", "h", "s", "bob", "H", "0", "5", "0", "n/a", "Bob B"]);
  assert.equal(whoxParams(parseWhox("%na")!, { ...facts, account: "bob" }), ["bob", "bob"]);
});

test("WHO nick %tna,123 answers 354 from whois: the account when the name is registered", () => {
  const s = script(new Map());
  s.answers.whois = (r) => ({ verb: "ok", tag: r.tag, kind: "whois", userName: "Bob", registered: true, idle: 4, publicKey: "-", rooms: [] });
  s.send("WHO bob %tnafl,123");
  assert.equal(s.lines(), [":a.distchat 354 me 123 Bob H 4 :Bob", ":a.distchat 315 me bob :End of WHO list"]);
  s.send("WHO bob");
  assert.equal(s.lines().map(code), ["352", "315"], "without % it is plain WHO");
});

test("WHO #channel %na looks the members' accounts up once, then answers 354 for each", () => {
  const s = script(new Map());
  s.answers.who = (r) => ({ verb: "ok", tag: r.tag, kind: "who", groupName: "lobby", more: false, names: ["me", "ann", "zed"] });
  s.answers.whois = (r) => {
    const userName = (r as { userName: string }).userName;
    return { verb: "ok", tag: r.tag, kind: "whois", userName, registered: userName === "ann", idle: 0, publicKey: "-", rooms: [] };
  };
  s.send("JOIN #lobby").lines();
  const before = s.asked.length;
  s.send("WHO #lobby %cna");
  assert.equal(s.lines(), [":a.distchat 354 me #lobby me :0", ":a.distchat 354 me #lobby ann :ann", ":a.distchat 354 me #lobby zed :0", ":a.distchat 315 me #lobby :End of WHO list"]);
  const whois = s.since(before).filter((r) => r.verb === "whois").length;
  s.send("WHO #lobby %cna").lines();
  assert.is(s.since(before).filter((r) => r.verb === "whois").length, whois, "known accounts are not asked again");
});

test("WHO mask %tnuar,5 answers 354 for this listener's users, with their user and real names", () => {
  const s = new IrcScript({
    localUsers: () => [{ nick: "ann", invisible: false, rooms: [] }, { nick: "bob", invisible: false, rooms: [] }],
    localUser: (n) => (nameKey(n) === "ann" ? { user: "annu", realname: "Ann A", away: null } : null),
  });
  s.register("me");
  s.send("WHO a* %tnuar,5");
  assert.equal(s.lines().slice(0, 2), [":a.distchat 354 me 5 annu ann 0 :Ann A", ":a.distchat 315 me a* :End of WHO list"]);
});

test("commaChunks: lists split under 400 bytes a line", () => {
  const parts = commaChunks(Array.from({ length: 100 }, (_, i) => `nick${i}`.padEnd(30, "x")));
  assert.ok(parts.length > 1 && parts.every((p) => p.length <= 400));
  assert.is(parts.join(",").split(",").length, 100);
  assert.equal(commaChunks([]), []);
});

test.run();
