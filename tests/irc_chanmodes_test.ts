/**
 * Issue 25's fifth round of room modes: a key (`+kKEY`), moderated rooms
 * with voice (`+m`, `+vNAME`), `-t` (any member sets the topic), `-n`
 * (non-members may send), the owner stepping down (a self-deop), the
 * creation time (329) and leave reasons. The rule (lib/rules/moderation.ts),
 * IRC's view of a `room` reply (lib/irc/channel_modes.ts), the front end as
 * a script (MODE, JOIN with a key, NAMES with multi-prefix, PART with a
 * reason, 475/404/696), the terminal's words, and two real servers: a mode
 * set on one holds on the other (a key, +m and voice, -n, -t) and a PART
 * reason reaches the other server's members. Nothing is timed: waits have
 * generous deadlines.
 */
import { test } from "uvu";
import { ircCluster } from "../testing/irc_cluster.ts";
import * as assert from "uvu/assert";
import type { Request } from "../lib/wire/messages.ts";
import { canModerate, keyRefusal, maySpeak, mayTopic, type ModOp, parseMode, refusal, settingRoles, settleRoom } from "../lib/rules/moderation.ts";
import { channelModes, createdAt, memberPrefixes, namesPrefix } from "../lib/irc/channel_modes.ts";
import { modeWords, noticeText } from "../lib/client/wording.ts";
import { parseLine } from "../lib/client/commands.ts";
import { decodeRequest, requestText } from "../lib/wire/codec.ts";
import { ircUser } from "../testing/irc_client.ts";
import { entry, IrcScript } from "./_irc_script.ts";

const code = (line: string) => line.replace(/^@\S+ /, "").split(" ")[1];
const mode = (n: number, actor: string, target: string): ModOp => ({ key: [n, "a"], action: "mode", actor, target, text: "", at: n });
const act = (n: number, actor: string, action: ModOp["action"], target: string): ModOp => ({ key: [n, "a"], action, actor, target, text: "", at: n });

test("parseMode: +kKEY/-k, +m/-m, +t/-t, +n/-n, +vNAME/-vNAME; bad keys and names are malformed", () => {
  assert.equal(parseMode("+kbeer"), { key: "beer" });
  assert.equal(parseMode("-k"), { key: null });
  assert.equal(parseMode("+m"), { moderated: true });
  assert.equal(parseMode("-t"), { openTopic: true });
  assert.equal(parseMode("+n"), { external: false });
  assert.equal(parseMode("+vbob"), { voice: "bob", on: true });
  assert.equal(parseMode("-vbob"), { voice: "bob", on: false });
  for (const bad of ["+k", "+kwith space", "+k" + "x".repeat(24), "+ka,b", "-kbeer", "+mx", "+v", "+v-bad", "+tt", "k", ""]) assert.is(parseMode(bad), null, bad);
});

test("the fold: key, moderated and voice, -t, -n; kick takes voice; the owner steps down and comes back when opped", () => {
  const room = settleRoom([mode(1, "own", "+kbeer"), mode(2, "own", "+m"), mode(3, "own", "+vbob"), mode(4, "own", "-t"), mode(5, "own", "-n"), mode(6, "eve", "-m")], "own");
  assert.is(room.key, "beer");
  assert.ok(room.moderated, "a non-operator's -m is void");
  assert.ok(maySpeak(room, "Bob") && maySpeak(room, "own") && !maySpeak(room, "carol"));
  assert.ok(mayTopic(room, "carol"), "-t: anyone may set the topic");
  assert.is(refusal(room, "carol", "topic", "-"), null);
  assert.ok(room.external);
  assert.is(keyRefusal(room, "carol", undefined), "has a key (+k): give it to join");
  assert.is(keyRefusal(room, "carol", "wine"), "has another key (+k)");
  assert.is(keyRefusal(room, "carol", "beer"), null);
  assert.is(keyRefusal(room, "own", undefined), null, "an operator needs no key");
  assert.equal(settingRoles(room, false), ["*m", "*-t", "*-n", "*k", "%bob"]);
  assert.ok(settingRoles(room, true).includes("*k=beer"));
  const kicked = settleRoom([mode(1, "own", "+vbob"), act(2, "own", "kick", "bob")], "own");
  assert.is(kicked.voiced.size, 0, "a kick takes voice");
  const stepped = settleRoom([act(1, "own", "op", "al"), act(2, "al", "deop", "own"), act(3, "own", "deop", "own")], "own");
  assert.not.ok(canModerate(stepped, "own"), "only the owner deops itself: al's deop was void, the owner's own stands");
  assert.ok(settleRoom([act(1, "own", "op", "al"), act(2, "own", "deop", "own"), act(3, "al", "op", "own")], "own").ops.size === 1);
  assert.ok(canModerate(settleRoom([act(1, "own", "op", "al"), act(2, "own", "deop", "own"), act(3, "al", "op", "own")], "own"), "own"), "opped again");
  assert.is(refusal(settleRoom([], "own"), "own", "kick", "own"), "the room's owner cannot be kicked or banned");
});

test("IRC's view of a room reply: 324's flags and arguments, 329's time, prefixes with and without multi-prefix", () => {
  assert.equal(channelModes("-", []), { flags: "+nt", args: [] });
  assert.equal(channelModes("+il5", ["*m", "*-t", "*k=beer"]), { flags: "+imnkl", args: ["beer", "5"] });
  assert.equal(channelModes("-", ["*-n", "*-t", "*k"]), { flags: "+k", args: [] }, "the key is shown to members only");
  assert.is(createdAt(["*created=1700000000000", "~own"]), 1_700_000_000_000);
  assert.is(createdAt(["~own"]), null);
  const p = memberPrefixes(["~own", "@al", "%own", "%bob"]);
  assert.equal([p.get("own"), p.get("al"), p.get("bob")], ["@+", "@", "+"]);
  assert.is(namesPrefix("@+", false), "@");
  assert.is(namesPrefix("@+", true), "@+");
});

test("the wire: connect with a key and leave with a reason round-trip; without them as before", () => {
  const token = "T".repeat(43);
  const rt = (r: Request) => decodeRequest(new TextEncoder().encode(requestText(r)));
  for (const r of [
    { verb: "connect", tag: "7", token, groupName: "den", key: "beer" },
    { verb: "leave", tag: "7", token, groupName: "den", reason: "bye\nnow" },
    { verb: "leave", tag: "7", token, groupName: "den" },
    { verb: "connect", tag: "7", token, groupName: "den" },
  ] as Request[]) assert.equal(rt(r), { ok: true, value: r });
});

test("the terminal client: /mode with the new modes, their notices, a leave reason, the settings in words", () => {
  assert.equal(parseLine("/mode +k beer"), { kind: "mode", mode: "+kbeer" });
  assert.equal(parseLine("/join lobby beer"), { kind: "join", room: "lobby", key: "beer" });
  assert.equal(parseLine("/join lobby"), { kind: "join", room: "lobby" });
  assert.equal(parseLine("/mode +v bob"), { kind: "mode", mode: "+vbob" });
  assert.equal(parseLine("/mode -t"), { kind: "mode", mode: "-t" });
  assert.is(parseLine("/mode -k beer").kind, "invalid");
  assert.is(noticeText("al", "\u0001mode +vbob"), "* al gave voice to bob");
  assert.is(noticeText("al", "\u0001mode -n"), "* al let non-members send to the room");
  assert.is(noticeText("al", "\u0001leave gone fishing"), "* al left (gone fishing)");
  assert.is(noticeText("al", "\u0001leave"), "* al left");
  assert.is(modeWords("+i", ["*m", "*k", "*-t"]), "invite-only, moderated, needs a key, any member sets the topic");
});

test("IRC script: MODE +k/-k, +m, +v, -t -n as one line; 696 for a bad key; JOIN with a key; 475; 404; PART reason; 324 and 329", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  let from = s.asked.length;
  s.send("MODE #lobby +kmv-t beer bob");
  s.send("MODE #lobby -n");
  const mods = s.since(from).filter((r) => r.verb === "mod") as Extract<Request, { verb: "mod" }>[];
  assert.equal(mods.map((m) => m.target), ["+kbeer", "+m", "+vbob", "-t", "-n"]);
  assert.equal(s.lines(), [":bob!bob@distchat MODE #lobby +kmv-t beer bob", ":bob!bob@distchat MODE #lobby -n"]);
  s.send("MODE #lobby -k *");
  assert.equal(s.lines(), [":bob!bob@distchat MODE #lobby -k *"]);
  for (const bad of [":with space", "x".repeat(30), ":"]) {
    s.send(`MODE #lobby +k ${bad}`);
    assert.equal(s.lines().map((l) => l.split(" ").slice(1, 6).join(" ")), ["696 bob #lobby k *"], bad);
  }
  s.answers.room = (r) => ({ verb: "ok", tag: r.tag, kind: "room", groupName: "lobby", mode: "+l5", topicBy: "-", topicAt: 0, topic: "", roles: ["*created=1700000000000", "*k=beer", "*m", "~bob", "%bob"] });
  s.send("MODE #lobby");
  assert.equal(s.lines(), [":a.distchat 324 bob #lobby +mntkl beer :5", ":a.distchat 329 bob #lobby :1700000000"]);
  s.send("NAMES #lobby");
  assert.equal(s.lines()[0], ":a.distchat 353 bob = #lobby :@bob", "without multi-prefix, the highest prefix");
  s.poll("lobby", [entry("b", 1, "al", "\u0001mode +kwine"), entry("b", 2, "al", "\u0001mode +vcarol"), entry("b", 3, "al", "\u0001leave see you")]);
  assert.equal(s.lines().map((l) => l.replace(/^@\S+ /, "")), [
    ":al!al@distchat MODE #lobby +k wine",
    ":al!al@distchat MODE #lobby +v carol",
    ":al!al@distchat PART #lobby :see you",
  ]);
  from = s.asked.length;
  s.answers.connect = (r) => ({ verb: "error", tag: r.tag, code: "not-member", message: "den has another key (+k)" });
  s.send("JOIN #den,#cellar wine");
  const joins = s.since(from).filter((r) => r.verb === "connect");
  assert.equal(joins.map((j) => (j as { key?: string }).key), ["wine", undefined], "each channel with its key");
  assert.equal(s.lines().map(code), ["475", "475"]);
  s.answers.add = (r) => ({ verb: "error", tag: r.tag, code: "not-allowed", message: "lobby is moderated (+m): only its operators and voiced names may send" });
  s.send("PRIVMSG #lobby :hi");
  assert.equal(s.lines().map(code), ["404"]);
  from = s.asked.length;
  s.send("PART #lobby :off to bed");
  assert.equal((s.since(from).find((r) => r.verb === "leave") as { reason?: string }).reason, "off to bed");
  assert.equal(s.lines(), [":bob!bob@distchat PART #lobby :off to bed"]);
});

test("IRC script: multi-prefix NAMES shows @+", () => {
  const s = new IrcScript();
  s.answers.room = (r) => ({ verb: "ok", tag: r.tag, kind: "room", groupName: "lobby", mode: "-", topicBy: "-", topicAt: 0, topic: "", roles: ["~bob", "%bob"] });
  s.joined("bob", "#lobby", ["multi-prefix"]);
  s.send("NAMES #lobby");
  assert.equal(s.lines()[0], ":a.distchat 353 bob = #lobby :@+bob");
});

test("IRC script: QUIT logs out with its reason; a quit notice in two shared channels is one QUIT line; a dropped socket says so", () => {
  const s = new IrcScript();
  s.joined("bob", "#a");
  s.send("JOIN #b");
  s.lines();
  s.poll("a", [entry("c", 1, "al", "\u0001quit Quit: gone", 5000)]);
  s.poll("b", [entry("c", 2, "al", "\u0001quit Quit: gone", 5000)]);
  assert.equal(s.lines().map((l) => l.replace(/^@\S+ /, "")), [":al!al@distchat QUIT :Quit: gone"]);
  const from = s.asked.length;
  s.send("QUIT :off to bed");
  assert.equal(s.since(from).map((r) => [r.verb, (r as { reason?: string }).reason]), [["logout", "Quit: off to bed"]]);
  const t = new IrcScript();
  t.register("carol");
  const n = t.asked.length;
  t.take(t.c.disconnected(t.now));
  assert.equal(t.since(n).map((r) => (r as { reason?: string }).reason), ["Connection closed"]);
});

test("IRC script: an invite notice in the stream is INVITE to members with invite-notify only", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby", ["invite-notify"]);
  s.poll("lobby", [entry("b", 1, "al", "\u0001invite carol")]);
  assert.equal(s.lines().map((l) => l.replace(/^@\S+ /, "")), [":al!al@distchat INVITE carol #lobby"]);
  const t = new IrcScript();
  t.joined("bob", "#lobby");
  t.poll("lobby", [entry("b", 1, "al", "\u0001invite carol")]);
  assert.equal(t.lines(), []);
  assert.is(noticeText("al", "\u0001invite carol"), "* al invited carol");
  assert.is(noticeText("al", "\u0001invite-to lobby"), "* al sent an invitation to lobby: /join lobby");
});

test("two servers: a key, +m with voice, -n and -t set on one hold on the other; a PART reason reaches the other's members", async () => {
  const k = await ircCluster(["a", "b"], { oneDiskAcks: false });
  const [pa, pb] = k.ports;
  const connect = async (port: number, nick: string) => k.keep(await ircUser(port, nick));
  try {
    const own = await connect(pa, "own");
    own.send("JOIN #den");
    await own.waitFor(/ 366 own #den /);
    const bob = await connect(pb, "bob");
    bob.send("JOIN #den");
    await bob.waitFor(/^:bob!\S+ JOIN #den/);
    // MODE +v bob needs a to know bob is in: NAMES until it lists bob (replication takes a moment).
    for (let tries = 0, names = ""; !/[ :@]bob\b/.test(names); tries++) {
      assert.ok(tries < 50, "a learns bob's join within 10 s");
      if (tries > 0) await new Promise((r) => setTimeout(r, 200));
      own.send("NAMES #den");
      names = await own.waitFor(/ 353 own . #den /);
    }
    own.send("MODE #den +k beer");
    await own.waitFor(/^:own!\S+ MODE #den \+k beer$/);
    await bob.waitFor(/^:own!\S+ MODE #den \+k beer$/); // b has the key now
    const carol = await connect(pb, "carol");
    carol.send("JOIN #den");
    assert.match(await carol.waitFor(/^:carol!\S+ JOIN #den|^:\S+ 475 carol #den /), / 475 carol #den /, "no key, no entry");
    carol.send("JOIN #den wine");
    assert.match(await carol.waitFor(/^:carol!\S+ JOIN #den|^:\S+ 475 carol #den /), / 475 carol #den /, "a wrong key, no entry");
    carol.send("JOIN #den beer");
    await carol.waitFor(/^:carol!\S+ JOIN #den/);
    carol.send("PART #den");
    await carol.waitFor(/^:carol!\S+ PART #den/);
    own.send("MODE #den +m");
    await own.waitFor(/^:own!\S+ MODE #den \+m$/);
    await bob.waitFor(/^:own!\S+ MODE #den \+m$/);
    bob.send("PRIVMSG #den :may I?");
    assert.match(await bob.waitFor(/ 404 bob #den /), / 404 bob #den :Cannot send to channel/);
    own.send("MODE #den +v bob");
    await own.waitFor(/^:own!\S+ MODE #den \+v bob$/);
    await bob.waitFor(/^:own!\S+ MODE #den \+v bob$/);
    bob.send("PRIVMSG #den :thanks");
    assert.match(await own.waitFor(/PRIVMSG #den :thanks/), /^(@\S+ )?:bob!/, "voiced, bob speaks");
    // -t: bob (no operator) sets the topic; -n: carol, not in the room, sends to it.
    own.send("MODE #den -tn");
    await own.waitFor(/^:own!\S+ MODE #den -tn$/);
    await bob.waitFor(/^:own!\S+ MODE #den -n$/);
    bob.send("TOPIC #den :bob's topic");
    await own.waitFor(/TOPIC #den :bob's topic/);
    own.send("MODE #den -m");
    await own.waitFor(/^:own!\S+ MODE #den -m$/);
    await bob.waitFor(/^:own!\S+ MODE #den -m$/);
    carol.send("PRIVMSG #den :from outside");
    await own.waitFor(/^(@\S+ )?:carol!\S+ PRIVMSG #den :from outside/);
    own.send("MODE #den");
    assert.match(await own.waitFor(/ 324 /), / 324 own #den \+k :?beer$/);
    assert.match(await own.waitFor(/ 329 /), / 329 own #den :?[0-9]{10}$/);
    bob.send("PART #den :off to bed");
    assert.match(await own.waitFor(/PART #den/), /^(@\S+ )?:bob!\S+ PART #den :off to bed$/, "the reason crossed to a");
    carol.send("JOIN #den beer");
    await own.waitFor(/^(@\S+ )?:carol!\S+ JOIN #den/);
    // An invitation reaches the invitee on the other server, as INVITE.
    own.send("MODE #den +i");
    await own.waitFor(/^:own!\S+ MODE #den \+i$/);
    const dave = await connect(pb, "dave");
    for (let l = "", tries = 0; !/ 341 /.test(l); tries++) { // until a knows dave's login (50 tries, 200 ms apart)
      assert.ok(tries < 50, "a learns dave's login within 10 s");
      own.send("INVITE dave #den");
      l = await own.waitFor(/ 341 own dave :?#den| 401 own dave /);
      if (!/ 341 /.test(l)) await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(await dave.waitFor(/ INVITE /), /^(@\S+ )?:own!\S+ INVITE dave :?#den$/);
    carol.send("QUIT :gone fishing");
    assert.match(await own.waitFor(/ QUIT /), /^(@\S+ )?:carol!\S+ QUIT :Quit: gone fishing$/, "the quit crossed to a");
  } finally {
    await k.stop();
  }
});

test.run();
