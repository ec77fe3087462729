/**
 * Channels over DistChat rooms (lib/irc/_channels.ts, _modes.ts,
 * _deliver.ts): JOIN and what it asks, refusals, the room's stream as
 * IRC events (messages, joins, kicks, bans, topics, modes), own actions
 * shown once, PART, TOPIC, NAMES, MODE, KICK, INVITE, LIST, WHO.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Request } from "../lib/wire/messages.ts";
import { entry, IrcScript } from "./_irc_script.ts";

const code = (line: string) => line.replace(/^@\S+ /, "").split(" ")[1];
const roomInfo = (r: Request, o: { topic?: string; roles?: string[]; mode?: string } = {}) => ({
  verb: "ok" as const,
  tag: r.tag,
  kind: "room" as const,
  groupName: (r as { groupName: string }).groupName,
  mode: o.mode ?? "-",
  topicBy: o.topic ? "alice" : "-",
  topicAt: o.topic ? 1_700_000_000_000 : 0,
  topic: o.topic ?? "",
  roles: o.roles ?? [],
});

test("JOIN: connect, then JOIN, topic, names with operators, then the stream from the session's own join", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.connect = (r) => ({ verb: "ok", tag: r.tag, kind: "connect", groupName: "Lobby" });
  s.answers.room = (r) => roomInfo(r, { topic: "Welcome all", roles: ["~alice", "@carol", "!eve"] });
  s.answers.who = (r) => ({ verb: "ok", tag: r.tag, kind: "who", groupName: "Lobby", more: false, names: ["alice", "bob", "carol", "dave", "alice"] });
  s.answers.history = (r) => ({
    verb: "ok",
    tag: r.tag,
    kind: "history",
    groupName: "Lobby",
    cursor: new Map([["a", 12]]),
    more: true,
    entries: [entry("a", 9, "alice", "old news"), entry("a", 10, "bob", "\u0001join"), entry("a", 11, "carol", "just after you joined")],
  });
  s.send("JOIN #lobby");
  const lines = s.lines();
  assert.equal(lines.slice(0, 5), [
    ":bob!bob@distchat JOIN #Lobby",
    ":a.distchat 332 bob #Lobby :Welcome all",
    ":a.distchat 333 bob #Lobby alice :1700000000",
    ":a.distchat 353 bob = #Lobby :@alice bob @carol dave",
    ":a.distchat 366 bob #Lobby :End of /NAMES list",
  ]);
  assert.equal(lines.slice(5).map((l) => l.replace(/^@\S+ /, "")), [":carol!carol@distchat PRIVMSG #Lobby :just after you joined"], "only what came after the join");
  const poll = s.heldOf("request", "Lobby") as Extract<Request, { verb: "request" }>;
  assert.equal([...poll.cursor], [["a", 12]], "polls from the page's cursor");
  assert.ok(poll.notices, "asks for notices");
});

test("JOIN of a missing room opens it; of a room created meanwhile connects again", () => {
  const s = new IrcScript();
  s.register("bob");
  let exists = false;
  s.answers.connect = (r) => exists
    ? { verb: "ok", tag: r.tag, kind: "connect", groupName: "new" }
    : { verb: "error", tag: r.tag, code: "no-room", message: "no such room" };
  s.answers.open = (r) => {
    exists = true;
    return { verb: "error", tag: r.tag, code: "room-exists", message: "exists" };
  };
  const from = s.asked.length;
  s.send("JOIN #new");
  assert.equal(s.since(from).slice(0, 3).map((r) => r.verb), ["connect", "open", "connect"]);
  assert.is(s.lines()[0], ":bob!bob@distchat JOIN #new");
});

test("JOIN refusals: banned 474, invite-only 473, bad names 479/403, too many 405; JOIN of a joined channel is silent", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.connect = (r) => ({ verb: "error", tag: r.tag, code: "not-member", message: `you are banned from ${(r as { groupName: string }).groupName}` });
  s.send("JOIN #a");
  assert.equal(s.lines().map(code), ["474"]);
  s.answers.connect = (r) => ({ verb: "error", tag: r.tag, code: "not-member", message: "b is invite-only" });
  s.send("JOIN #b");
  assert.equal(s.lines().map(code), ["473"]);
  s.send("JOIN ##libera,#é,&local,#" + "x".repeat(65));
  assert.equal(s.lines().map(code), ["479", "479", "403", "479"]);
  const t = new IrcScript();
  t.register("bob");
  for (let i = 0; i < 48; i++) t.send(`JOIN #r${i}`);
  t.lines();
  t.send("JOIN #r0").send("JOIN #one-too-many");
  assert.equal(t.lines().map(code), ["405"]);
});

test("the stream: messages, joins, leaves, ops, kicks, bans, topics, modes as IRC lines, with tags the client asked for", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby", ["server-time", "message-tags", "extended-join", "account-tag"]);
  s.answers.whois = (r) => ({ verb: "ok", tag: r.tag, kind: "whois", userName: (r as { userName: string }).userName, registered: (r as { userName: string }).userName === "alice", idle: 1, publicKey: "-", rooms: [] });
  s.poll("lobby", [
    entry("b", 1, "alice", "hello"),
    entry("b", 2, "carol", "\u0001join"),
    entry("b", 3, "alice", "\u0001op carol"),
    entry("b", 4, "carol", "\u0001topic - New topic"),
    entry("b", 5, "alice", "\u0001mode +i"),
    entry("b", 6, "alice", "\u0001kick dave flooding"),
    entry("b", 7, "alice", "\u0001ban eve spam"),
    entry("b", 8, "alice", "\u0001unban eve"),
    entry("b", 9, "carol", "\u0001leave"),
    entry("b", 10, "alice", "\u0001me waves"),
  ]);
  const lines = s.lines();
  assert.equal(lines, [
    "@time=2023-11-14T22:13:21.000Z;msgid=b.1;account=alice :alice!alice@distchat PRIVMSG #lobby :hello",
    "@time=2023-11-14T22:13:22.000Z;msgid=b.2 :carol!carol@distchat JOIN #lobby * carol",
    "@time=2023-11-14T22:13:23.000Z;msgid=b.3 :alice!alice@distchat MODE #lobby +o carol",
    "@time=2023-11-14T22:13:24.000Z;msgid=b.4 :carol!carol@distchat TOPIC #lobby :New topic",
    "@time=2023-11-14T22:13:25.000Z;msgid=b.5 :alice!alice@distchat MODE #lobby +i",
    "@time=2023-11-14T22:13:26.000Z;msgid=b.6 :alice!alice@distchat KICK #lobby dave :flooding",
    "@time=2023-11-14T22:13:27.000Z;msgid=b.7 :alice!alice@distchat MODE #lobby +b eve!*@*",
    "@time=2023-11-14T22:13:27.000Z;msgid=b.7 :alice!alice@distchat KICK #lobby eve :spam",
    "@time=2023-11-14T22:13:28.000Z;msgid=b.8 :alice!alice@distchat MODE #lobby -b eve!*@*",
    "@time=2023-11-14T22:13:29.000Z;msgid=b.9 :carol!carol@distchat PART #lobby",
    "@time=2023-11-14T22:13:30.000Z;msgid=b.10;account=alice :alice!alice@distchat PRIVMSG #lobby :\x01ACTION waves\x01",
  ]);
  assert.ok(s.heldOf("request", "lobby"), "the next poll is out");
});

test("without server-time or message-tags, no tags; an entry shown once even when a poll repeats it", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  s.poll("lobby", [entry("b", 1, "alice", "one")]);
  s.poll("lobby", [entry("b", 1, "alice", "one"), entry("b", 2, "alice", "two")]);
  assert.equal(s.lines(), [":alice!alice@distchat PRIVMSG #lobby :one", ":alice!alice@distchat PRIVMSG #lobby :two"]);
});

test("being kicked (or banned) ends the channel for this client", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  s.poll("lobby", [entry("b", 1, "alice", "\u0001kick bob bye")]);
  assert.equal(s.lines(), [":alice!alice@distchat KICK #lobby bob :bye"]);
  assert.is(s.c.state.channels.size, 0);
  assert.not.ok(s.held.some((r) => r.verb === "request"), "no more polls");
});

test("a poll refused not-member (a ban from another server) ends the channel with a KICK line", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  const req = s.heldOf("request", "lobby");
  s.answer(req, { verb: "error", tag: req.tag, code: "not-member", message: "you are banned from lobby" });
  assert.equal(s.lines(), [":a.distchat KICK #lobby bob :you are banned from lobby"]);
});

test("a failing poll is asked again on a later tick, with back-off", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  const req = s.heldOf("request", "lobby");
  s.answer(req, { verb: "error", tag: req.tag, code: "unavailable", message: "shutting down" });
  assert.not.ok(s.held.some((r) => r.verb === "request"));
  s.tick(500);
  assert.not.ok(s.held.some((r) => r.verb === "request"), "not at once");
  s.tick(1000);
  assert.ok(s.heldOf("request", "lobby"));
});

test("PART: leave, the PART line; the stream's late answer is dropped; 442 when not on it", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  const poll = s.heldOf("request", "lobby");
  s.send("PART #lobby :bye now");
  assert.equal(s.lines(), [":bob!bob@distchat PART #lobby :bye now"]);
  s.answer(poll, { verb: "poll", tag: poll.tag, groupName: "lobby", cursor: new Map(), more: false, entries: [entry("b", 1, "alice", "late")] });
  assert.equal(s.lines(), []);
  s.send("PART #lobby");
  assert.equal(s.lines().map(code), ["442"]);
});

test("TOPIC: query (332/333 or 331), set (mod topic, the TOPIC line once), refused (482), too long cut to 300 bytes", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  s.send("TOPIC #lobby");
  assert.equal(s.lines().map(code), ["331"]);
  const from = s.asked.length;
  s.send("TOPIC #lobby :Hello world");
  assert.equal(s.since(from)[0], { verb: "mod", tag: s.since(from)[0].tag, token: "T".repeat(43), groupName: "lobby", action: "topic", target: "-", text: "Hello world" });
  assert.equal(s.lines(), [":bob!bob@distchat TOPIC #lobby :Hello world"]);
  s.poll("lobby", [entry("a", 5, "bob", "\u0001topic - Hello world")]);
  assert.equal(s.lines(), [], "not shown twice");
  s.answers.mod = (r) => ({ verb: "error", tag: r.tag, code: "not-allowed", message: "you are not an operator of lobby" });
  s.send("TOPIC #lobby :mine");
  assert.equal(s.lines().map(code), ["482"]);
  const before = s.asked.length;
  s.send("TOPIC #lobby :" + "é".repeat(200));
  assert.is((s.since(before)[0] as { text: string }).text.length, 150);
  s.send("TOPIC #elsewhere :x");
  assert.equal(s.lines().map(code), ["482", "442"]);
});

test("MODE: query 324, ban list 367/368, +o/+b/-b/+i through mod, masks DistChat cannot ban 696, unknown modes 472", () => {
  const s = new IrcScript();
  s.answers.who = (r) => ({ verb: "ok", tag: r.tag, kind: "who", groupName: "lobby", more: false, names: ["bob", "carol"] });
  s.joined("bob", "#lobby");
  s.answers.room = (r) => roomInfo(r, { mode: "+i", roles: ["~bob", "!eve", "!mallory"] });
  s.send("MODE #lobby");
  assert.equal(s.lines(), [":a.distchat 324 bob #lobby :+int"]);
  s.send("MODE #lobby +b");
  assert.equal(s.lines(), [":a.distchat 367 bob #lobby :eve!*@*", ":a.distchat 367 bob #lobby :mallory!*@*", ":a.distchat 368 bob #lobby :End of channel ban list"]);
  const from = s.asked.length;
  s.send("MODE #lobby +ob-b+i carol eve!*@* mallory");
  const mods = s.since(from).filter((r) => r.verb === "mod") as Extract<Request, { verb: "mod" }>[];
  assert.equal(mods.map((m) => [m.action, m.target]), [["op", "carol"], ["ban", "eve"], ["unban", "mallory"], ["mode", "+i"]]);
  assert.equal(s.lines(), [":bob!bob@distchat MODE #lobby +ob-b+i carol eve!*@* mallory!*@*"], "one MODE line of the changes applied");
  s.send("MODE #lobby +b *!*@evil.example");
  assert.equal(s.lines().map(code), ["696"]);
  s.send("MODE #lobby +xy");
  assert.equal(s.lines().map(code), ["472", "472"], "modes DistChat has not");
});

test("MODE +o of someone not in the channel: 441, of no one: 401; KICK/MODE of a channel not joined: 442, of none: 403", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  s.send("MODE #lobby +o carol");
  s.answers.whois = (r) => ({ verb: "error", tag: r.tag, code: "no-user", message: "no such user" });
  s.send("MODE #lobby +o nobody");
  assert.equal(s.lines().map(code), ["441", "401"]);
  s.send("KICK #other carol");
  s.answers.room = (r) => ({ verb: "error", tag: r.tag, code: "no-room", message: "no such room" });
  s.send("KICK #nowhere carol").send("MODE #nowhere +o carol");
  assert.equal(s.lines().map(code), ["442", "403", "403"]);
});

test("user MODE: 221, +i/-i kept locally, 501 unknown, 502 for others", () => {
  const s = new IrcScript();
  s.register("bob");
  s.send("MODE bob +i").send("MODE bob").send("MODE bob +x").send("MODE alice +i");
  assert.equal(s.lines(), [":bob!bob@distchat MODE bob +i", ":a.distchat 221 bob :+i", ":a.distchat 501 bob :Unknown MODE flag", ":a.distchat 502 bob :Can't change mode for other users"]);
});

test("KICK: mod kick with the reason; 441 for someone not in the channel", () => {
  const s = new IrcScript();
  s.answers.who = (r) => ({ verb: "ok", tag: r.tag, kind: "who", groupName: "lobby", more: false, names: ["bob", "dave"] });
  s.joined("bob", "#lobby");
  const from = s.asked.length;
  s.send("KICK #lobby dave :go away");
  assert.equal((s.since(from)[0] as { text: string }).text, "go away");
  assert.equal(s.lines(), [":bob!bob@distchat KICK #lobby dave :go away"]);
  s.poll("lobby", [entry("a", 7, "bob", "\u0001kick dave go away")]);
  assert.equal(s.lines(), [], "once");
  s.send("KICK #lobby dave");
  assert.equal(s.lines().map(code), ["441"]);
});

test("INVITE: whois, mod invite, 341 (and the INVITE line with invite-notify); 401 for nobody", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby", ["invite-notify"]);
  s.send("INVITE carol #lobby");
  assert.equal(s.lines(), [":a.distchat 341 bob carol :#lobby", ":bob!bob@distchat INVITE carol #lobby"]);
  s.answers.whois = (r) => ({ verb: "error", tag: r.tag, code: "no-user", message: "no such user" });
  s.send("INVITE nobody #lobby");
  assert.equal(s.lines().map(code), ["401"]);
});

test("NAMES, LIST and WHO", () => {
  const s = new IrcScript();
  s.register("bob");
  s.answers.rooms = (r) => ({ verb: "ok", tag: r.tag, kind: "rooms", more: false, names: ["lobby", "rust"] });
  s.answers.who = (r) => ({ verb: "ok", tag: r.tag, kind: "who", groupName: (r as { groupName: string }).groupName, more: false, names: ["alice", "bob"] });
  s.answers.room = (r) => roomInfo(r, { topic: `about ${(r as { groupName: string }).groupName}`, roles: ["~alice"] });
  s.send("LIST");
  assert.equal(s.lines(), [
    ":a.distchat 321 bob Channel :Users  Name",
    ":a.distchat 322 bob #lobby 2 :about lobby",
    ":a.distchat 322 bob #rust 2 :about rust",
    ":a.distchat 323 bob :End of /LIST",
  ]);
  s.send("NAMES #rust");
  assert.equal(s.lines(), [":a.distchat 353 bob = #rust :@alice bob", ":a.distchat 366 bob #rust :End of /NAMES list"]);
  s.send("WHO #rust");
  assert.equal(s.lines(), [
    ":a.distchat 352 bob #rust alice distchat a.distchat alice H@ :0 alice",
    ":a.distchat 352 bob #rust bob distchat a.distchat bob H :0 bob Real",
    ":a.distchat 315 bob #rust :End of WHO list",
  ]);
});

test.run();
