/**
 * IRCv3 draft/read-marker over DistChat's read markers (lib/irc/_markread.ts):
 * a time moves the marker to the newest message sent at or before it (`act
 * … read`), a marker is told as its message's time, `*` without one; JOIN
 * tells it before RPL_ENDOFNAMES; refusals ask nothing of DistChat. The
 * stand-in keeps one marker per room, forward only, as DistChat does.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { MsgId, PollEntry, Request } from "../lib/wire/messages.ts";
import { entry, IrcScript } from "./_irc_script.ts";

const T0 = 1_700_000_000_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A stand-in DistChat with `messages` per room (oldest first) and forward-only markers by room key. */
function withMarkers(s: IrcScript, messages: Record<string, PollEntry[]>): Map<string, MsgId> {
  const marks = new Map<string, MsgId>();
  const key = (g: string) => g.toLowerCase();
  const index = (room: string, id: MsgId) => (messages[key(room)] ?? []).findIndex((e) => e.msgId.origin === id.origin && e.msgId.n === id.n);
  s.answers.history = (r) => {
    const h = r as Extract<Request, { verb: "history" }>;
    const all = messages[key(h.groupName)] ?? [];
    const end = h.before === null ? all.length : index(h.groupName, h.before);
    const start = Math.max(0, end - h.limit);
    return { verb: "ok", tag: r.tag, kind: "history", groupName: h.groupName, cursor: new Map([["a", 99]]), more: start > 0, entries: all.slice(start, end) };
  };
  s.answers.act = (r) => {
    const a = r as Extract<Request, { verb: "act" }>;
    const old = marks.get(key(a.groupName));
    if (old === undefined || index(a.groupName, a.target) > index(a.groupName, old)) marks.set(key(a.groupName), a.target);
    return { verb: "ok", tag: r.tag, kind: "act", groupName: a.groupName, action: a.action, target: a.target };
  };
  s.answers.unread = (r) => ({
    verb: "ok",
    tag: r.tag,
    kind: "unread",
    entries: Object.keys(messages).map((g) => ({ groupName: g === "lobby" ? "Lobby" : g, mark: marks.get(g) ?? null, unread: 0 })),
  });
  return marks;
}

const room = [entry("a", 1, "carol", "one", T0), entry("a", 2, "carol", "two", T0 + 1000), entry("b", 1, "carol", "three", T0 + 2000)];

test("JOIN tells the marker before RPL_ENDOFNAMES; a time marks the newest message at or before it", () => {
  const s = new IrcScript();
  const marks = withMarkers(s, { lobby: room, "@carol": [] });
  const join = s.joined("bob", "#lobby", ["draft/read-marker"]);
  const at = join.findIndex((l) => l.includes(" MARKREAD "));
  assert.is(join[at], ":a.distchat MARKREAD #lobby *");
  assert.ok(at < join.findIndex((l) => l.split(" ")[1] === "366"), "before 366");
  s.send(`MARKREAD #lobby timestamp=${iso(T0 + 1500)}`);
  assert.equal(marks.get("lobby"), { origin: "a", n: 2 }, "the message at T0+1s: read up to T0+1.5s");
  assert.equal(s.lines(), [`:a.distchat MARKREAD #lobby timestamp=${iso(T0 + 1000)}`], "told as that message's time");
  s.send(`MARKREAD #lobby timestamp=${iso(T0)}`);
  assert.equal(marks.get("lobby"), { origin: "a", n: 2 }, "never back");
  assert.equal(s.lines(), [`:a.distchat MARKREAD #lobby timestamp=${iso(T0 + 1000)}`], "the newer marker, with its time (found in history)");
  s.send("MARKREAD #LOBBY");
  assert.equal(s.lines(), [`:a.distchat MARKREAD #LOBBY timestamp=${iso(T0 + 1000)}`]);
  s.send(`MARKREAD #lobby timestamp=${iso(T0 - 5000)}`);
  assert.equal(s.lines(), [`:a.distchat MARKREAD #lobby timestamp=${iso(T0 + 1000)}`], "a time before every message moves nothing");
});

test("a conversation's marker; no message at or before the time: `*`", () => {
  const s = new IrcScript();
  withMarkers(s, { lobby: room, "@carol": [] });
  s.register("bob", ["draft/read-marker"]);
  const acts = () => s.asked.filter((r) => r.verb === "act").length;
  s.send(`MARKREAD carol timestamp=${iso(T0)}`);
  assert.equal(s.lines(), [":a.distchat MARKREAD carol *"]);
  assert.is(acts(), 0, "nothing to mark");
  s.send("MARKREAD #nosuchtarget");
  assert.equal(s.lines(), [":a.distchat MARKREAD #nosuchtarget *"]);
});

test("refusals: no target, a bad or wildcard time, not a target", () => {
  const s = new IrcScript();
  withMarkers(s, { lobby: room });
  s.register("bob", ["draft/read-marker"]);
  const before = s.asked.length;
  const cases: [string, RegExp][] = [
    ["MARKREAD", /FAIL MARKREAD NEED_MORE_PARAMS :/],
    ["MARKREAD #lobby timestamp=not-a-timestamp", /FAIL MARKREAD INVALID_PARAMS #lobby timestamp=not-a-timestamp :/],
    ["MARKREAD #lobby *", /FAIL MARKREAD INVALID_PARAMS #lobby \* :/],
    ["MARKREAD #lobby 2019-01-04T14:33:26.123Z", /FAIL MARKREAD INVALID_PARAMS/],
    ["MARKREAD ##x", /FAIL MARKREAD INVALID_TARGET ##x :/],
  ];
  for (const [line, want] of cases) {
    s.send(line);
    assert.match(s.lines()[0], want, line);
  }
  assert.is(s.asked.length, before, "none reached DistChat");
});

test("another connection of the account moving a marker is told, with the capability only", () => {
  const s = new IrcScript();
  s.register("bob", ["draft/read-marker"]);
  s.take(s.c.readMarkMoved("#lobby", `timestamp=${iso(T0)}`, s.now));
  assert.equal(s.lines(), [`:a.distchat MARKREAD #lobby timestamp=${iso(T0)}`]);
  const t = new IrcScript();
  t.register("bob");
  t.take(t.c.readMarkMoved("#lobby", `timestamp=${iso(T0)}`, t.now));
  assert.equal(t.lines(), []);
});

test("a marker set is handed to the listener for the account's other connections; a marker asked for is not", () => {
  const s = new IrcScript();
  withMarkers(s, { lobby: room });
  s.register("bob", ["draft/read-marker"]);
  s.send("MARKREAD #lobby");
  assert.equal(s.readMarks, []);
  s.send(`MARKREAD #lobby timestamp=${iso(T0 + 5000)}`);
  assert.equal(s.readMarks, [{ target: "#lobby", value: `timestamp=${iso(T0 + 2000)}` }]);
});

test.run();
