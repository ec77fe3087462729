/**
 * Edits, deletions, reactions and read markers in the SQLite store
 * (lib/store/message_acts.ts): a deletion that arrives before its message
 * still wins (the message is stored without text), the text leaves the op
 * log, edits and reactions settle the same in every arrival order, and a
 * seeded partitioned-then-healed run over three stores ends with every
 * store in the same state — the state lib/rules/message_acts.ts folds from
 * all the acts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import type { Op } from "../lib/wire/messages.ts";
import { Store } from "../lib/store/store.ts";
import { RANK_WINDOW } from "../lib/store/search.ts";
import { opKey } from "../lib/rules/conflict.ts";
import { foldMessage, type MessageAct, reactionCounts } from "../lib/rules/message_acts.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";
import { mulberry32, pick, randomInt } from "../testing/prng.ts";

const T0 = 1_700_000_000_000;
const stores: Store[] = [];
const SA = "a".repeat(64), SB = "b".repeat(64);

function open(self: string): Store {
  const s = Store.open(join(tempDir("distchat-acts-"), `${self}.sqlite`), self, { sync: "normal" });
  s.setOrigin(self);
  stores.push(s);
  return s;
}

function applyAll(s: Store, ops: Op[]): void {
  s.begin();
  for (const op of ops) s.applyRemote(op);
  s.commit();
}

/** Every op `to` lacks of `from`'s, in `from`'s (causal) order. */
function sync(from: Store, to: Store): void {
  applyAll(to, from.opsAfter(to.vector(), 100_000));
}

const login = (o: string, seq: number, session: string, user: string): Op => ({ origin: o, seq, deps: fromEntries([]), at: T0, session, kind: "login", userName: user, ttl: 3600 });
const openOp = (o: string, seq: number, deps: [string, number][], session: string): Op => ({ origin: o, seq, deps: fromEntries(deps), at: T0, session, kind: "open", groupName: "lobby" });

/** A room's messages as listed: id → text and facts. */
function listing(s: Store): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of s.messages.newest("lobby", null, 1000) ?? []) {
    const m = e.meta;
    out[`${e.origin}.${e.seq}`] = e.msg + (m?.edited ? " (edited)" : "") + (m?.reactions ? " " + m.reactions.map(([t, n]) => `${t}=${n}`).join(",") : "");
  }
  return out;
}

/** How many ops rows still hold `text`. */
const textRows = (s: Store, text: string) => (s.db.prepare("SELECT count(*) AS n FROM ops WHERE msg LIKE ?").get(`%${text}%`) as { n: number }).n;

test("a deletion that reaches a server before its message wins: the message is stored without its text", () => {
  const a = open("a");
  const b = open("b");
  a.begin();
  a.appendLocal({ kind: "login", session: SA, userName: "bob", ttl: 3600 }, T0);
  a.appendLocal({ kind: "open", session: SA, groupName: "lobby" }, T0);
  const m = a.appendLocal({ kind: "msg", session: SA, tag: "1", groupName: "lobby", userName: "bob", msg: "my password is hunter2" }, T0);
  const d = a.appendLocal({ kind: "act", action: "del", session: SA, groupName: "lobby", userName: "bob", target: `${m.origin}.${m.seq}`, text: "" }, T0);
  a.commit();
  assert.equal(listing(a), {});
  assert.is(textRows(a, "hunter2"), 0, "the author's server keeps no text");
  assert.ok(a.erasures.take(), "a deletion asks for a scrub");
  // b gets the deletion first (out of causal order: made at "z", which claims to have seen nothing), then the message.
  const [l, o] = a.opsAfter(fromEntries([]), 10);
  const early: Op = { ...d, origin: "z", seq: 1, deps: fromEntries([]) };
  applyAll(b, [early, l, o, m]);
  assert.equal(listing(b), {});
  assert.is(textRows(b, "hunter2"), 0);
  assert.equal((b.opsAfter(fromEntries([]), 10).find((op) => op.kind === "msg") as Op & { kind: "msg" }).msg, "", "catch-up sends no text");
});

test("edit vs edit in either arrival order: the larger key; edit vs delete: delete; text of edits goes with the message", () => {
  const [a, b, c] = [open("a"), open("b"), open("c")];
  const base = [login("a", 1, SA, "bob"), openOp("a", 2, [], SA)];
  const msg: Op = { origin: "a", seq: 3, deps: fromEntries([]), at: T0, session: SA, kind: "msg", tag: "1", groupName: "lobby", userName: "bob", msg: "teh typo" };
  const e1: Op = { origin: "b", seq: 1, deps: fromEntries([["a", 3]]), at: T0, session: SA, kind: "act", action: "edit", groupName: "lobby", userName: "bob", target: "a.3", text: "the typo (b)" };
  const e2: Op = { origin: "c", seq: 1, deps: fromEntries([["a", 3]]), at: T0, session: SA, kind: "act", action: "edit", groupName: "lobby", userName: "bob", target: "a.3", text: "the typo (c)" };
  applyAll(a, [...base, msg, e1, e2]);
  applyAll(b, [...base, msg, e2, e1]);
  assert.equal(listing(a), { "a.3": "the typo (c) (edited)" }, "equal sums: the larger origin wins");
  assert.equal(listing(b), listing(a));
  const del: Op = { origin: "a", seq: 4, deps: fromEntries([["b", 1]]), at: T0, session: SA, kind: "act", action: "del", groupName: "lobby", userName: "bob", target: "a.3", text: "" };
  applyAll(a, [del]);
  applyAll(c, [...base, msg, e1, del, e2]); // c's own edit arrives after the deletion
  assert.equal(listing(a), {});
  assert.equal(listing(c), {});
  for (const s of [a, c]) assert.is(textRows(s, "typo"), 0, `${s.self}: no edit keeps text`);
});

test("reactions toggle per user with counts; read markers keep the newest message", () => {
  const a = open("a");
  a.begin();
  a.appendLocal({ kind: "login", session: SA, userName: "bob", ttl: 3600 }, T0);
  a.appendLocal({ kind: "login", session: SB, userName: "carl", ttl: 3600 }, T0);
  a.appendLocal({ kind: "open", session: SA, groupName: "lobby" }, T0);
  const m1 = a.appendLocal({ kind: "msg", session: SA, tag: "1", groupName: "lobby", userName: "bob", msg: "one" }, T0);
  const m2 = a.appendLocal({ kind: "msg", session: SB, tag: "1", groupName: "lobby", userName: "carl", msg: "two" }, T0);
  const react = (s: string, user: string, action: "react" | "unreact", text: string) =>
    a.appendLocal({ kind: "act", action, session: s, groupName: "lobby", userName: user, target: "a.4", text }, T0);
  react(SA, "bob", "react", "👍");
  react(SB, "carl", "react", "👍");
  react(SB, "carl", "react", "ok");
  react(SA, "bob", "unreact", "👍");
  a.appendLocal({ kind: "act", action: "read", session: SA, groupName: "lobby", userName: "bob", target: "a.5", text: "a.9" }, T0);
  a.appendLocal({ kind: "act", action: "read", session: SA, groupName: "lobby", userName: "bob", target: "a.4", text: "a.9" }, T0);
  a.commit();
  assert.equal(listing(a)["a.4"], "one ok=1,👍=1");
  assert.equal(a.acts.marks("a.9").get("lobby")?.mark, { origin: "a", n: m2.seq }, "an older marker does not move it back");
  assert.is(a.messages.unread("lobby", a.acts.marks("a.9").get("lobby") ?? null), 0);
  assert.is(a.messages.unread("lobby", null), 2);
  // The act notices tell each message's state as it stands when read.
  const notices = [...a.uncovered("lobby", fromEntries([]), true)].map((e) => e.msg).filter((t) => t.startsWith("\u0001react"));
  assert.equal(notices.at(-1), "\u0001react a.4 ok=1,👍=1");
  void m1;
});

test("search indexes in bulk after adds: edits and deletions before or after indexing; the mark survives a restart", () => {
  const a = open("a");
  const path = a.db.location()!;
  const msg = (tag: string, text: string) => a.appendLocal({ kind: "msg", session: SA, tag, groupName: "lobby", userName: "bob", msg: text }, T0);
  const act = (action: "edit" | "del", target: Op, text = "") => a.appendLocal({ kind: "act", action, session: SA, groupName: "lobby", userName: "bob", target: `${target.origin}.${target.seq}`, text }, T0);
  const find = (q: string) => a.messages.search.find(["lobby"], q, null, 10).length;
  a.begin();
  a.appendLocal({ kind: "login", session: SA, userName: "bob", ttl: 3600 }, T0);
  a.appendLocal({ kind: "open", session: SA, groupName: "lobby" }, T0);
  const early = msg("1", "alpha early");
  a.commit();
  assert.ok(a.messages.indexBehind);
  assert.is(find("alpha"), 0, "not indexed at its add");
  a.begin();
  a.messages.indexPending(100);
  act("edit", early, "beta indexed then edited");
  const late = msg("2", "gamma late");
  act("edit", late, "delta edited before indexing");
  const gone = msg("3", "epsilon deleted before indexing");
  act("del", gone);
  a.messages.indexPending(100);
  a.commit();
  assert.equal([find("alpha"), find("beta"), find("gamma"), find("delta"), find("epsilon")], [0, 1, 0, 1, 0]);
  a.begin();
  act("del", early);
  a.commit();
  assert.is(find("beta"), 0, "a deletion takes an indexed message out");
  assert.not.ok(a.messages.indexBehind);
  a.close();
  stores.splice(stores.indexOf(a), 1);
  const again = Store.open(path, "a", { sync: "normal" });
  stores.push(again);
  again.begin();
  assert.is(again.messages.indexPending(100), 0, "the mark was kept: nothing is indexed twice");
  again.commit();
  assert.not.ok(again.messages.indexBehind);
  assert.is(again.messages.search.find(["lobby"], "delta", null, 10).length, 1);
});

test("search best first: by relevance (bm25) among the newest RANK_WINDOW matches, ties newest first, then older ones newest first; pages by the last hit", () => {
  const a = open("a");
  a.begin();
  a.appendLocal({ kind: "login", session: SA, userName: "bob", ttl: 3600 }, T0);
  a.appendLocal({ kind: "open", session: SA, groupName: "lobby" }, T0);
  const texts = ["deploy", "we deploy on friday after the long meeting about other things", "deploy deploy", "nothing here", "deploy now", "deploy soon"];
  const dseq: number[] = [];
  for (const [i, t] of texts.entries()) {
    a.appendLocal({ kind: "msg", session: SA, tag: `r${i}`, groupName: "lobby", userName: "bob", msg: t }, T0);
    dseq.push(a.messages.row("a", a.vector().get("a")!)!.dseq);
  }
  a.messages.indexPending(100);
  a.commit();
  const s = a.messages.search;
  const text = (ds: number[]) => ds.map((d) => texts[dseq.indexOf(d)]);
  assert.equal(text(s.find(["lobby"], "deploy", null, 10, "newest")), ["deploy soon", "deploy now", "deploy deploy", texts[1], "deploy"]);
  const best = text(s.find(["lobby"], "deploy", null, 10, "best"));
  assert.equal(best, ["deploy deploy", "deploy", "deploy soon", "deploy now", texts[1]], "more of the word and shorter first; equal scores newest first");
  // Pages: each after the last hit of the one before, together the whole list once.
  const pages: string[] = [];
  let after: number | null = null;
  for (let i = 0; i < 10; i++) {
    const page: number[] = s.find(["lobby"], "deploy", after, 2, "best");
    if (page.length === 0) break;
    pages.push(...text(page));
    after = page[page.length - 1];
  }
  assert.equal(pages, best);
});

test("search best first past the ranked window: pages list every match once, the window's by relevance, then the older newest first", () => {
  const a = open("a");
  a.begin();
  a.appendLocal({ kind: "login", session: SA, userName: "bob", ttl: 3600 }, T0);
  a.appendLocal({ kind: "open", session: SA, groupName: "lobby" }, T0);
  const n = RANK_WINDOW + 150;
  for (let i = 0; i < n; i++) {
    const t = i % 7 === 0 ? `word word ${i}` : `word and some filler ${i}`;
    a.appendLocal({ kind: "msg", session: SA, tag: `w${i}`, groupName: "lobby", userName: "bob", msg: t }, T0);
  }
  a.messages.indexPending(n + 10);
  a.commit();
  const s = a.messages.search;
  const all: number[] = [];
  let after: number | null = null;
  for (let i = 0; i < 100; i++) {
    const page: number[] = s.find(["lobby"], "word", after, 37, "best");
    if (page.length === 0) break;
    all.push(...page);
    after = page[page.length - 1];
  }
  assert.is(all.length, n, "every match");
  assert.is(new Set(all).size, n, "none twice");
  const newest = s.find(["lobby"], "word", null, n, "newest");
  const bottom = newest[RANK_WINDOW - 1];
  assert.equal(all.slice(RANK_WINDOW), newest.slice(RANK_WINDOW), "past the window: newest first");
  assert.ok(all.slice(0, RANK_WINDOW).every((d) => d >= bottom), "the window first");
  assert.not.equal(all.slice(0, RANK_WINDOW), newest.slice(0, RANK_WINDOW), "ranked, not by age");
});

test("messages stored but not yet indexed when the store closed (a crash) are indexed after it opens again", () => {
  const a = open("a");
  const path = a.db.location()!;
  a.begin();
  a.appendLocal({ kind: "login", session: SA, userName: "bob", ttl: 3600 }, T0);
  a.appendLocal({ kind: "open", session: SA, groupName: "lobby" }, T0);
  a.appendLocal({ kind: "msg", session: SA, tag: "1", groupName: "lobby", userName: "bob", msg: "kept words" }, T0);
  a.commit();
  a.close();
  stores.splice(stores.indexOf(a), 1);
  const again = Store.open(path, "a", { sync: "normal" });
  stores.push(again);
  assert.ok(again.messages.indexBehind, "behind its mark");
  again.begin();
  again.messages.indexPending(10);
  again.commit();
  assert.is(again.messages.search.find(["lobby"], "kept", null, 10, "best").length, 1);
});

test("partitioned then healed (3 stores, 12 seeds): every store ends with the same messages, edits, deletions and reactions — the rule's fold", () => {
  for (let seed = 1; seed <= 12; seed++) {
    const rnd = mulberry32(seed);
    const ss = ["a", "b", "c"].map(open);
    const users = [["bob", SA], ["carl", SB]] as const;
    // Everyone knows the sessions, the room and a few messages first.
    ss[0].begin();
    for (const [u, sid] of users) ss[0].appendLocal({ kind: "login", session: sid, userName: u, ttl: 3600 }, T0);
    ss[0].appendLocal({ kind: "open", session: SA, groupName: "lobby" }, T0);
    const ids = [1, 2, 3, 4].map((i) => {
      const op = ss[0].appendLocal({ kind: "msg", session: SA, tag: String(i), groupName: "lobby", userName: "bob", msg: `message ${i}` }, T0);
      return `${op.origin}.${op.seq}`;
    });
    ss[0].commit();
    sync(ss[0], ss[1]);
    sync(ss[0], ss[2]);
    // Partition {a} | {b, c}: each side acts on the same messages.
    for (let step = 0; step < 40; step++) {
      const s = ss[randomInt(rnd, 3)];
      const [user, sid] = pick(rnd, users);
      const action = pick(rnd, ["edit", "edit", "react", "unreact", "react", "del"] as const);
      const text = action === "edit" ? `edit ${seed}.${step}` : action === "del" ? "" : pick(rnd, ["👍", "ok"]);
      s.begin();
      s.appendLocal({ kind: "act", action, session: sid, groupName: "lobby", userName: user, target: pick(rnd, ids), text }, T0 + step);
      s.commit();
      if (rnd() < 0.3) {
        sync(ss[1], ss[2]);
        sync(ss[2], ss[1]);
      }
    }
    // Heal.
    for (const x of ss) for (const y of ss) if (x !== y) sync(x, y);
    const want = listing(ss[0]);
    for (const s of ss.slice(1)) assert.equal(listing(s), want, `seed ${seed}: ${s.self} differs from a`);
    // The state is the rule's fold of all the acts.
    const acts = ss[0].opsAfter(fromEntries([]), 100_000).filter((op): op is Op & { kind: "act" } => op.kind === "act");
    for (const [i, id] of ids.entries()) {
      const m = foldMessage(acts.filter((x) => x.target === id).map((x): MessageAct => ({ key: opKey(x), action: x.action as MessageAct["action"], actor: x.userName, text: x.text })));
      const counts = reactionCounts(m);
      const expect = m.deleted ? undefined : (m.edit?.text ?? `message ${i + 1}`) + (m.edit ? " (edited)" : "") + (counts.length ? " " + counts.map(([t, n]) => `${t}=${n}`).join(",") : "");
      assert.is(want[id], expect, `seed ${seed}: ${id}`);
      if (m.deleted) for (const s of ss) assert.is(textRows(s, `message ${i + 1}`), 0, `seed ${seed}: ${s.self} keeps the text of ${id}`);
    }
    while (stores.length) stores.pop()!.close();
  }
});

test.after(() => {
  for (const s of stores) s.close();
  removeTempDirs();
});

test.run();
