/**
 * A room's member limit (`mod … mode +lN` / `-l`, IRC `MODE #r +l N` / `-l`)
 * and secrecy (`+s`: `rooms` and LIST show it to its members only):
 * the rule (lib/rules/moderation.ts `parseMode`, the fold, `isFull`,
 * `modeWord`), the IRC front end as a script (lib/irc/_modes.ts: 696 for a bad
 * limit, 324 with the limit, 471 for a full channel, the notice as `MODE +l`),
 * the terminal client's words, and two real servers with IRC listeners: a
 * limit set on one holds on the other, an invited user and an operator pass
 * it, a part frees a seat, `-l` lifts it; a secret room is listed to its
 * members only, on both servers, NAMES with `@`. Nothing is timed: waits have
 * generous deadlines.
 */
import { test } from "uvu";
import { ircCluster } from "../testing/irc_cluster.ts";
import * as assert from "uvu/assert";
import type { Request } from "../lib/wire/messages.ts";
import { isFull, MAX_ROOM_LIMIT, modeWord, parseMode, settleRoom } from "../lib/rules/moderation.ts";
import type { ModOp } from "../lib/rules/moderation.ts";
import { modeWords, noticeText } from "../lib/client/wording.ts";
import { parseLine } from "../lib/client/commands.ts";
import { type Irc, ircUser } from "../testing/irc_client.ts";
import { entry, IrcScript } from "./_irc_script.ts";

const code = (line: string) => line.replace(/^@\S+ /, "").split(" ")[1];
const op = (n: number, actor: string, target: string): ModOp => ({ key: [n, "a"], action: "mode", actor, target, text: "", at: n });

test("parseMode: +i -i +s -s +lN (1..MAX) -l; anything else is malformed", () => {
  assert.equal(parseMode("+i"), { inviteOnly: true });
  assert.equal(parseMode("-s"), { secret: false });
  assert.equal(parseMode("-l"), { limit: null });
  assert.equal(parseMode("+l7"), { limit: 7 });
  assert.equal(parseMode(`+l${MAX_ROOM_LIMIT}`), { limit: MAX_ROOM_LIMIT });
  for (const bad of ["+l0", "+l-1", "+l", "+labc", "+l07", `+l${MAX_ROOM_LIMIT + 1}`, "+l 5", "-l5", "+x", "+il5"]) assert.is(parseMode(bad), null, bad);
});

test("the fold: i and l are separate settings, the later of each stays; a limit lets invited users and operators in", () => {
  const ops = [op(1, "own", "+l2"), op(2, "own", "+i"), op(3, "own", "+l5"), op(4, "nobody", "-l"), op(5, "own", "+s")];
  const room = settleRoom(ops, "own");
  assert.is(room.limit, 5, "the later limit stays; a non-operator's -l is void");
  assert.ok(room.inviteOnly, "+l does not clear +i");
  assert.is(modeWord(room), "+isl5");
  assert.is(modeWord(settleRoom([op(1, "own", "+l3"), op(2, "own", "-l")], "own")), "-");
  const limited = settleRoom([op(1, "own", "+l2")], "own");
  assert.is(modeWord(limited), "+l2");
  assert.not.ok(isFull(limited, "carol", 1));
  assert.ok(isFull(limited, "carol", 2));
  assert.not.ok(isFull(limited, "own", 9), "the owner always gets in");
  limited.invites.set("carol", "carol");
  assert.not.ok(isFull(limited, "Carol", 9), "an invited name gets in");
});

test("the terminal client: /mode +l N and -l, the notices and the room's mode in words", () => {
  assert.equal(parseLine("/mode +l 5"), { kind: "mode", mode: "+l5" });
  assert.equal(parseLine("/mode -l"), { kind: "mode", mode: "-l" });
  assert.is(parseLine("/mode +l many").kind, "invalid");
  assert.is(noticeText("alice", "\u0001mode +l5"), "* alice limited the room to 5 members");
  assert.is(noticeText("alice", "\u0001mode -l"), "* alice lifted the room's member limit");
  assert.is(modeWords("+isl5"), "invite-only, secret, at most 5 members");
  assert.equal(parseLine("/mode +s"), { kind: "mode", mode: "+s" });
  assert.is(noticeText("alice", "\u0001mode +s"), "* alice made the room secret (listed to its members only)");
  assert.is(modeWords("-"), "open to all");
});

test("IRC MODE +l N / -l and +s / -s through mod; 696 for a bad limit; 324 shows it; 471 for a full channel; the notice as MODE +l", () => {
  const s = new IrcScript();
  s.joined("bob", "#lobby");
  const from = s.asked.length;
  s.send("MODE #lobby +l 2").send("MODE #lobby -l");
  const mods = s.since(from).filter((r) => r.verb === "mod") as Extract<Request, { verb: "mod" }>[];
  assert.equal(mods.map((m) => [m.action, m.target]), [["mode", "+l2"], ["mode", "-l"]]);
  assert.equal(s.lines(), [":bob!bob@distchat MODE #lobby +l 2", ":bob!bob@distchat MODE #lobby -l"]);
  for (const bad of ["0", "-1", "abc", ":", "10001"]) {
    const n = s.asked.length;
    s.send(`MODE #lobby +l ${bad}`);
    assert.equal(s.lines().map(code), ["696"], bad);
    assert.is(s.since(n).filter((r) => r.verb === "mod").length, 0, `no mod for ${bad}`);
  }
  s.send("MODE #lobby +l");
  assert.equal(s.lines(), [], "+l without its argument is ignored");
  s.send("MODE #lobby +s-s");
  assert.equal(s.lines(), [":bob!bob@distchat MODE #lobby +s-s"], "one MODE line of the changes applied");
  s.answers.room = (r) => ({ verb: "ok", tag: r.tag, kind: "room", groupName: "lobby", mode: "+isl5", topicBy: "-", topicAt: 0, topic: "", roles: [] });
  s.send("MODE #lobby");
  assert.equal(s.lines(), [":a.distchat 324 bob #lobby +instl :5"]);
  s.answers.who = (r) => ({ verb: "ok", tag: r.tag, kind: "who", groupName: "lobby", more: false, names: ["bob"] });
  s.send("NAMES #lobby");
  assert.equal(s.lines(), [":a.distchat 353 bob @ #lobby :bob", ":a.distchat 366 bob #lobby :End of /NAMES list"], "a secret channel's NAMES: @");
  s.poll("lobby", [entry("b", 1, "alice", "\u0001mode +l3"), entry("b", 2, "alice", "\u0001mode -l"), entry("b", 3, "alice", "\u0001mode +s")]);
  assert.equal(s.lines().map((l) => l.replace(/^@\S+ /, "")), [":alice!alice@distchat MODE #lobby +l 3", ":alice!alice@distchat MODE #lobby -l", ":alice!alice@distchat MODE #lobby +s"]);
  s.answers.connect = (r) => ({ verb: "error", tag: r.tag, code: "not-member", message: "full is full (at most 2 members): ask one of its operators to /invite you" });
  s.send("JOIN #full");
  assert.equal(s.lines().map(code), ["471"]);
});

test("two servers: a limit set on one holds on the other; invited users and operators pass it; a part frees a seat; -l lifts it", async () => {
  const k = await ircCluster(["a", "b"], { oneDiskAcks: false });
  const [pa, pb] = k.ports;
  const connect = async (port: number, nick: string) => k.keep(await ircUser(port, nick));
  // JOIN until it is not 471 (the limit and joins replicate): the answer, within 10 s.
  const joinOnce = async (c: Irc, nick: string, want: RegExp) => {
    for (const until = Date.now() + 10_000;;) {
      c.send("JOIN #den");
      const l = await c.waitFor(new RegExp(`^:${nick}!\\S+ JOIN #den|^:\\S+ 471 ${nick} #den `));
      if (want.test(l) || Date.now() > until) return l;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  try {
    const own = await connect(pa, "own");
    own.send("JOIN #den");
    await own.waitFor(/ 366 own #den /);
    own.send("MODE #den +l 2");
    await own.waitFor(/^:own!\S+ MODE #den \+l 2$/);
    own.send("MODE #den");
    assert.match(await own.waitFor(/ 324 /), / 324 own #den \+ntl :2$/);
    const bob = await connect(pb, "bob");
    // The room and its limit reach b first: a JOIN sooner would open a twin #den at b.
    for (const until = Date.now() + 10_000;;) {
      bob.send("MODE #den");
      const l = await bob.waitFor(/ 324 bob #den | 403 bob #den /);
      if (/\+ntl :2$/.test(l) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(await joinOnce(bob, "bob", /JOIN/), /JOIN #den/, "a second member fits");
    const carol = await connect(pb, "carol");
    assert.match(await joinOnce(carol, "carol", / 471 /), / 471 carol #den :Cannot join channel \(\+l\)/, "b has the limit: a third is refused");
    own.send("INVITE carol #den");
    await own.waitFor(/ 341 own carol :?#den/);
    assert.match(await joinOnce(carol, "carol", /JOIN/), /JOIN #den/, "invited, carol passes the limit");
    const dave = await connect(pb, "dave");
    assert.match(await joinOnce(dave, "dave", / 471 /), / 471 /);
    bob.send("PART #den");
    await bob.waitFor(/^:bob!\S+ PART #den/);
    own.send("MODE #den +l 3");
    await own.waitFor(/^:own!\S+ MODE #den \+l 3$/);
    assert.match(await joinOnce(dave, "dave", /JOIN/), /JOIN #den/, "bob's part freed a seat");
    const erin = await connect(pa, "erin");
    assert.match(await joinOnce(erin, "erin", / 471 /), / 471 /);
    own.send("MODE #den -l");
    await own.waitFor(/^:own!\S+ MODE #den -l$/);
    assert.match(await joinOnce(erin, "erin", /JOIN/), /JOIN #den/, "no limit: anyone joins");
    // Secret: listed to members only, on both servers.
    own.send("JOIN #hideout");
    await own.waitFor(/ 366 own #hideout /);
    own.send("MODE #hideout +s");
    await own.waitFor(/^:own!\S+ MODE #hideout \+s$/);
    const listed = async (c: Irc) => {
      c.send("LIST");
      const got: string[] = [];
      for (let l = await c.waitFor(/ 32[23] /); !/ 323 /.test(l); l = await c.waitFor(/ 32[23] /)) got.push(l.split(" ")[3]);
      return got;
    };
    assert.ok((await listed(own)).includes("#hideout"), "a member sees it");
    const frank = await connect(pb, "frank");
    let seen = await listed(frank);
    for (let i = 0; i < 50 && seen.includes("#hideout"); i++) { // b has the mode within 10 s
      await new Promise((r) => setTimeout(r, 200));
      seen = await listed(frank);
    }
    assert.ok(seen.includes("#den") && !seen.includes("#hideout"), `b lists #den, not the secret room: ${seen}`);
    frank.send("JOIN #hideout");
    await frank.waitFor(/ 366 frank #hideout /);
    assert.ok((await listed(frank)).includes("#hideout"), "once a member, it is listed");
  } finally {
    await k.stop();
  }
});

test.run();
