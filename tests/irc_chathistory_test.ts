/**
 * CHATHISTORY over DistChat `history` (lib/irc/history_select.ts and
 * _chathistory.ts): every selection by msgid and by timestamp against a
 * stand-in room whose pages are cut short (as datagrams cut them), checked
 * against the same selection made directly on the whole room; refusals.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import type { PollEntry, Request } from "../lib/wire/messages.ts";
import { enough, type HistoryQuery, parseRef, select } from "../lib/irc/history_select.ts";
import { entry, IrcScript } from "./_irc_script.ts";

/** A room of `n` messages, one a second; every third from another origin. */
function room(n: number): PollEntry[] {
  return Array.from({ length: n }, (_, i) => entry(i % 3 === 0 ? "b" : "a", i + 1, i % 2 ? "alice" : "carol", `m${i + 1}`, 1_700_000_000_000 + i * 1000));
}

/** `history` as DistChat answers it: the newest `limit` before `before`, at most `page` of them, oldest first. */
function historyOf(all: PollEntry[], page: number) {
  return (r: Request) => {
    const h = r as Extract<Request, { verb: "history" }>;
    let end = all.length;
    if (h.before !== null) {
      end = all.findIndex((e) => e.msgId.origin === h.before!.origin && e.msgId.n === h.before!.n);
      if (end < 0) return { verb: "error" as const, tag: r.tag, code: "no-message" as const, message: "no such message" };
    }
    const start = Math.max(0, end - Math.min(h.limit, page));
    return { verb: "ok" as const, tag: r.tag, kind: "history" as const, groupName: h.groupName, cursor: new Map([["a", 999]]), more: start > 0, entries: all.slice(start, end) };
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const id = (e: PollEntry) => `${e.msgId.origin}.${e.msgId.n}`;

function ask(s: IrcScript, line: string): string[] {
  s.send(line);
  const lines = s.lines();
  assert.match(lines[0], /^:a\.distchat BATCH \+\S+ chathistory #lobby$/, line);
  assert.match(lines.at(-1)!, /^:a\.distchat BATCH -/);
  return lines.slice(1, -1).map((l) => / :(m\d+)$/.exec(l)![1]);
}

const CAPS = ["draft/chathistory", "batch", "message-tags", "server-time"];

test("LATEST, BEFORE, AFTER, AROUND, BETWEEN by msgid and by timestamp, over short pages", () => {
  const all = room(300);
  const s = new IrcScript();
  s.answers.history = historyOf(all, 37);
  s.joined("bob", "#lobby", CAPS);
  const names = (xs: PollEntry[]) => xs.map((e) => e.msg);
  assert.equal(ask(s, "CHATHISTORY LATEST #lobby * 10"), names(all.slice(-10)));
  assert.equal(ask(s, `CHATHISTORY LATEST #lobby msgid=${id(all[295])} 10`), names(all.slice(296)));
  assert.equal(ask(s, `CHATHISTORY BEFORE #lobby msgid=${id(all[100])} 5`), names(all.slice(95, 100)));
  assert.equal(ask(s, `CHATHISTORY BEFORE #lobby timestamp=${iso(all[100].sentAt)} 5`), names(all.slice(95, 100)));
  assert.equal(ask(s, `CHATHISTORY AFTER #lobby msgid=${id(all[10])} 7`), names(all.slice(11, 18)));
  assert.equal(ask(s, `CHATHISTORY AFTER #lobby timestamp=${iso(all[10].sentAt)} 7`), names(all.slice(11, 18)));
  assert.equal(ask(s, `CHATHISTORY AROUND #lobby msgid=${id(all[150])} 6`), names(all.slice(147, 153)));
  assert.equal(ask(s, `CHATHISTORY BETWEEN #lobby msgid=${id(all[20])} msgid=${id(all[40])} 100`), names(all.slice(21, 40)));
  assert.equal(ask(s, `CHATHISTORY BETWEEN #lobby msgid=${id(all[40])} msgid=${id(all[20])} 5`), names(all.slice(35, 40)), "backward: the newest");
  assert.equal(ask(s, `CHATHISTORY BETWEEN #lobby timestamp=${iso(all[20].sentAt)} timestamp=${iso(all[40].sentAt)} 5`), names(all.slice(21, 26)));
  assert.equal(ask(s, "CHATHISTORY LATEST #lobby * 1000").length, 100, "at most CHATHISTORY=100");
  assert.equal(ask(s, "CHATHISTORY AFTER #lobby msgid=zz.1 5"), [], "an unknown msgid: empty");
});

test("batch lines carry the batch, time and msgid tags", () => {
  const s = new IrcScript();
  s.answers.history = historyOf(room(3), 50);
  s.joined("bob", "#lobby", CAPS);
  s.send("CHATHISTORY LATEST #lobby * 2");
  const lines = s.lines();
  const bid = /\+(\S+)/.exec(lines[0])![1];
  assert.match(lines[1], new RegExp(`^@time=2023-11-14T22:13:21\\.000Z;msgid=a\\.2;batch=${bid} :alice!alice@distchat PRIVMSG #lobby :m2$`));
});

test("refusals: FAIL UNKNOWN_COMMAND, INVALID_PARAMS, INVALID_TARGET (not joined, bad name)", () => {
  const s = new IrcScript();
  s.answers.history = historyOf(room(3), 50);
  s.joined("bob", "#lobby", CAPS);
  s.send("CHATHISTORY FOO #lobby * 1")
    .send("CHATHISTORY LATEST #lobby * x")
    .send("CHATHISTORY BEFORE #lobby * 5")
    .send("CHATHISTORY AFTER #lobby timestamp=yesterday 5")
    .send("CHATHISTORY LATEST #elsewhere * 5")
    .send("CHATHISTORY LATEST ##bad * 5");
  assert.equal(s.lines().map((l) => l.split(" ").slice(1, 4).join(" ")), [
    "FAIL CHATHISTORY UNKNOWN_COMMAND",
    "FAIL CHATHISTORY INVALID_PARAMS",
    "FAIL CHATHISTORY INVALID_PARAMS",
    "FAIL CHATHISTORY INVALID_PARAMS",
    "FAIL CHATHISTORY INVALID_TARGET",
    "FAIL CHATHISTORY INVALID_TARGET",
  ]);
});

test("a nick's history is its direct conversation", () => {
  const s = new IrcScript();
  s.answers.history = (r) => ({ verb: "ok", tag: r.tag, kind: "history", groupName: "@alice", cursor: new Map(), more: false, entries: [entry("a", 1, "alice", "hi"), entry("a", 2, "bob", "hey")] });
  s.register("bob", CAPS);
  s.send("CHATHISTORY LATEST alice * 10");
  assert.equal(s.lines().slice(1, -1).map((l) => l.replace(/^@\S+ /, "")), [":alice!alice@distchat PRIVMSG bob :hi", ":bob!bob@distchat PRIVMSG alice :hey"]);
  assert.ok(s.asked.some((r) => r.verb === "history" && (r as { groupName: string }).groupName === "@alice"));
});

test("a conversation asked for in another case: my lines go to the other party as it names itself (its lines, else whois)", () => {
  const s = new IrcScript();
  let entries = [entry("a", 1, "Alice", "hi"), entry("a", 2, "bob", "hey")];
  s.answers.history = (r) => ({ verb: "ok", tag: r.tag, kind: "history", groupName: "@ALICE", cursor: new Map(), more: false, entries });
  s.answers.whois = (r) => ({ verb: "ok", tag: r.tag, kind: "whois", userName: "Alice", registered: true, idle: 3, publicKey: "-", rooms: [] });
  s.register("bob", CAPS);
  const body = () => s.lines().slice(1, -1).map((l) => l.replace(/^@\S+ /, ""));
  s.send("CHATHISTORY LATEST ALICE * 10");
  assert.equal(body(), [":Alice!Alice@distchat PRIVMSG bob :hi", ":bob!bob@distchat PRIVMSG Alice :hey"]);
  const whois = s.asked.filter((r) => r.verb === "whois").length;
  entries = [entry("a", 2, "bob", "hey")];
  s.send("CHATHISTORY LATEST ALICE * 1");
  assert.equal(body(), [":bob!bob@distchat PRIVMSG Alice :hey"], "none of hers in the page: whois names her");
  assert.is(s.asked.filter((r) => r.verb === "whois").length, whois + 1);
});

test("TARGETS: known channels with a message in the range", () => {
  const s = new IrcScript();
  s.answers.history = historyOf(room(3), 50);
  s.joined("bob", "#lobby", CAPS);
  s.send(`CHATHISTORY TARGETS timestamp=${iso(1_600_000_000_000)} timestamp=${iso(1_800_000_000_000)} 10`);
  const lines = s.lines();
  assert.match(lines[1], /CHATHISTORY TARGETS #lobby 2023-11-14T22:13:22\.000Z$/);
});

test("select agrees with the whole room whatever the pages (property)", () => {
  const refArb = (n: number) => fc.oneof(
    fc.integer({ min: 0, max: n - 1 }).map((i) => ({ i, byTime: false })),
    fc.integer({ min: 0, max: n - 1 }).map((i) => ({ i, byTime: true })),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 20 }), fc.constantFrom("LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN"), fc.nat(), fc.nat(), fc.boolean(), (n, page, limit, kind, a, b, byTime) => {
      const all = room(n);
      const ref = (i: number) => (byTime ? { time: all[i % n].sentAt } : { msgid: id(all[i % n]) });
      const q = (kind === "BETWEEN" ? { kind, refs: [ref(a), ref(b)], limit } : { kind, refs: [kind === "LATEST" ? null : ref(a)], limit }) as HistoryQuery;
      // read back page by page as the handler does
      let got: PollEntry[] = [];
      let end = n;
      while (true) {
        const start = Math.max(0, end - page);
        got = [...all.slice(start, end), ...got];
        end = start;
        if (enough(q, got, end > 0) || end === 0) break;
      }
      assert.equal(select(q, got), select(q, all), JSON.stringify({ n, page, limit, kind, a, b, byTime }));
    }),
    { numRuns: 2000 },
  );
});

test("parseRef", () => {
  assert.equal(parseRef("*", true), null);
  assert.is(parseRef("*", false), undefined);
  assert.equal(parseRef("msgid=a~k2.17", false), { msgid: "a~k2.17" });
  assert.is(parseRef("msgid=nope", false), undefined);
  assert.equal(parseRef("timestamp=2024-01-02T03:04:05.678Z", false), { time: Date.UTC(2024, 0, 2, 3, 4, 5, 678) });
  assert.is(parseRef("timestamp=2024-01-02", false), undefined);
  assert.is(parseRef("when=now", false), undefined);
});

test.run();
