/**
 * Message actions on a whole cluster in one process (testing/memory_cluster.ts:
 * real server nodes, an in-memory network): edits, deletions and reactions
 * made on both sides of a partition settle to the same state on every
 * server once it heals; a deletion's text is in no server's op log; typing
 * crosses servers in `pres` datagrams; search, replies and read markers
 * answer through the handlers.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { MsgId, Reply, Request } from "../lib/wire/messages.ts";
import { EMPTY } from "../lib/wire/vector.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";
import { removeTempDirs } from "../testing/harness.ts";

let tags = 0;
type Body = Request extends infer R ? R extends unknown ? Omit<R, "tag" | "token"> : never : never;

/** Sends `req` to server `id` with a fresh tag (and `token`), runs the network, returns the reply. */
function call(c: MemoryCluster, id: string, req: Body, token?: string): Reply {
  const tag = `t${++tags}`;
  c.send(id, { ...req, tag, ...(token === undefined ? {} : { token }) } as Request);
  c.run(60);
  const r = c.reply(tag);
  if (!r) throw new Error(`no reply to ${req.verb} at ${id}`);
  return r;
}

function ok<K extends string>(r: Reply, kind?: K): Reply & { verb: "ok" } {
  if (r.verb !== "ok" || (kind !== undefined && r.kind !== kind)) throw new Error(`expected ok ${kind ?? ""}: ${JSON.stringify(r)}`);
  return r;
}

const login = (c: MemoryCluster, id: string, user: string) => {
  const r = ok(call(c, id, { verb: "login", userName: user }), "login");
  return (r as { token: string }).token;
};

/** A server's listing of lobby with each message's facts. */
function state(c: MemoryCluster, id: string): string[] {
  return [...c.node(id).store.uncovered("lobby", EMPTY)].map((m) =>
    `${m.origin}.${m.seq} ${m.msg}${m.meta?.edited ? " (edited)" : ""}${m.meta?.re ? ` re ${m.meta.re.origin}.${m.meta.re.n}` : ""}${
      m.meta?.reactions ? " " + m.meta.reactions.map(([t, n]) => `${t}=${n}`).join(",") : ""
    }`
  );
}

const idText = (id: MsgId) => `${id.origin}.${id.n}`;

test("a partition with edits, a deletion and reactions on both sides heals to one state; the deleted text is in no op log", async () => {
  const c = await memoryCluster({ ids: ["a", "b", "c"] });
  try {
    const bob = login(c, "a", "bob");
    const carl = login(c, "b", "carl");
    ok(call(c, "a", { verb: "open", groupName: "lobby" }, bob));
    c.run(200);
    ok(call(c, "b", { verb: "connect", groupName: "lobby" }, carl));
    const m1 = (ok(call(c, "a", { verb: "add", groupName: "lobby", msg: "teh plan" }, bob), "add") as { msgId: MsgId }).msgId;
    const m2 = (ok(call(c, "a", { verb: "add", groupName: "lobby", msg: "password: hunter2" }, bob), "add") as { msgId: MsgId }).msgId;
    c.run(300);
    const reply = ok(call(c, "b", { verb: "add", groupName: "lobby", msg: "what plan?", re: m1 }, carl), "add") as { msgId: MsgId };
    c.run(300);
    // Partition: a | b, c.
    const side = (id: string) => (id === "a" ? 0 : 1);
    c.setDrop((from, to) => from !== "client" && to !== "client" && side(from) !== side(to));
    ok(call(c, "a", { verb: "act", groupName: "lobby", action: "edit", target: m1, text: "the plan (a)" }, bob));
    ok(call(c, "b", { verb: "act", groupName: "lobby", action: "edit", target: m1, text: "the plan (b)" }, bob));
    ok(call(c, "b", { verb: "act", groupName: "lobby", action: "edit", target: m2, text: "password: (removed)" }, bob));
    ok(call(c, "a", { verb: "act", groupName: "lobby", action: "del", target: m2, text: "" }, bob));
    ok(call(c, "c", { verb: "act", groupName: "lobby", action: "react", target: m1, text: "👍" }, carl));
    ok(call(c, "a", { verb: "act", groupName: "lobby", action: "react", target: m1, text: "👍" }, bob));
    ok(call(c, "c", { verb: "act", groupName: "lobby", action: "react", target: m1, text: "ok" }, carl));
    ok(call(c, "b", { verb: "act", groupName: "lobby", action: "react", target: m1, text: "ok" }, carl)); // toggles carl's ok off
    c.run(500);
    assert.not.equal(state(c, "a"), state(c, "b"), "the sides differ while apart");
    c.setDrop(() => false);
    c.run(3000);
    const want = state(c, "a");
    assert.equal(state(c, "b"), want);
    assert.equal(state(c, "c"), want);
    assert.equal(want.length, 2, "the deleted message is listed nowhere");
    assert.match(want[0], /^a\.\d+ the plan \([ab]\) \(edited\) 👍=2$/);
    assert.is(want[1], `${idText(reply.msgId)} what plan? re ${idText(m1)}`);
    for (const id of ["a", "b", "c"]) {
      const n = (c.node(id).store.db.prepare("SELECT count(*) AS n FROM ops WHERE msg LIKE '%hunter2%' OR msg LIKE '%(removed)%'").get() as { n: number }).n;
      assert.is(n, 0, `${id} keeps the deleted message's text`);
    }
    // Nobody else may edit or delete bob's message; a deleted one is no-message.
    const e = call(c, "b", { verb: "act", groupName: "lobby", action: "edit", target: m1, text: "mine now" }, carl);
    assert.equal([e.verb, e.verb === "error" && e.code], ["error", "not-allowed"]);
    const d = call(c, "c", { verb: "act", groupName: "lobby", action: "edit", target: m2, text: "back" }, bob);
    assert.equal([d.verb, d.verb === "error" && d.code], ["error", "no-message"]);
    // The owner deletes carl's message (a moderator may).
    ok(call(c, "c", { verb: "act", groupName: "lobby", action: "del", target: reply.msgId, text: "" }, bob));
  } finally {
    c.close();
  }
});

test("typing crosses servers; search, mentions and read markers answer; history shows edits", async () => {
  const c = await memoryCluster({ ids: ["a", "b"] });
  try {
    const bob = login(c, "a", "bob");
    const carl = login(c, "b", "carl");
    ok(call(c, "a", { verb: "open", groupName: "lobby" }, bob));
    ok(call(c, "a", { verb: "open", groupName: "secret" }, bob));
    c.run(200);
    ok(call(c, "b", { verb: "connect", groupName: "lobby" }, carl));
    ok(call(c, "b", { verb: "typing", groupName: "lobby", state: "typing", text: "" }, carl));
    c.run(100);
    const t = ok(call(c, "a", { verb: "typing", groupName: "lobby", state: "idle", text: "" }, bob), "typing") as { states: unknown[] };
    assert.equal(t.states, [{ userName: "carl", state: "typing" }]);
    c.run(7000);
    const later = ok(call(c, "a", { verb: "typing", groupName: "lobby", state: "idle", text: "" }, bob), "typing") as { states: unknown[] };
    assert.equal(later.states, [], "typing runs out");
    const m = (ok(call(c, "a", { verb: "add", groupName: "lobby", msg: "deploy on friday, @carl?" }, bob), "add") as { msgId: MsgId }).msgId;
    ok(call(c, "a", { verb: "add", groupName: "secret", msg: "deploy the secret thing" }, bob));
    ok(call(c, "a", { verb: "add", groupName: "lobby", msg: "or monday" }, bob));
    c.run(300);
    const hits = ok(call(c, "b", { verb: "search", groupName: "*", query: "deploy", limit: 10, before: null }, carl), "search") as { hits: { msg: string; groupName: string }[] };
    assert.equal(hits.hits.map((h) => `${h.groupName}: ${h.msg}`), ["lobby: deploy on friday, @carl?"], "not the room carl is not in");
    const none = call(c, "b", { verb: "search", groupName: "secret", query: "deploy", limit: 10, before: null }, carl);
    assert.equal([none.verb, none.verb === "error" && none.code], ["error", "not-member"]);
    const mentions = ok(call(c, "b", { verb: "search", groupName: "*", query: "@carl", limit: 10, before: null }, carl), "search") as { hits: unknown[] };
    assert.is(mentions.hits.length, 1);
    ok(call(c, "a", { verb: "act", groupName: "lobby", action: "edit", target: m, text: "deploy on saturday, @carl?" }, bob));
    c.run(300);
    const h = ok(call(c, "b", { verb: "history", groupName: "lobby", limit: 10, before: null }, carl), "history") as { entries: { msg: string; edited?: true }[] };
    assert.equal(h.entries.map((e) => `${e.msg}${e.edited ? " (edited)" : ""}`), ["deploy on saturday, @carl? (edited)", "or monday"]);
    const old = ok(call(c, "b", { verb: "search", groupName: "lobby", query: "friday", limit: 10, before: null }, carl), "search") as { hits: unknown[] };
    assert.is(old.hits.length, 0, "the old text left the index");
    // Read markers: carl read the first message on b; a second session of carl's would see the same (one per account: here, per session).
    let u = ok(call(c, "b", { verb: "unread" }, carl), "unread") as { entries: { groupName: string; unread: number }[] };
    assert.equal(u.entries, [{ groupName: "lobby", mark: null, unread: 2 }]);
    ok(call(c, "b", { verb: "act", groupName: "lobby", action: "read", target: m, text: "" }, carl));
    u = ok(call(c, "b", { verb: "unread" }, carl), "unread") as { entries: { groupName: string; unread: number }[] };
    assert.equal(u.entries, [{ groupName: "lobby", mark: m, unread: 1 }]);
  } finally {
    c.close();
  }
});

test("search answers best first by default, newest first when asked, and pages after the last hit", async () => {
  const c = await memoryCluster({ ids: ["a", "b"] });
  try {
    const bob = login(c, "a", "bob");
    ok(call(c, "a", { verb: "open", groupName: "lobby" }, bob));
    for (const m of ["deploy", "deploy it all on friday after lunch, then go home", "deploy deploy"]) ok(call(c, "a", { verb: "add", groupName: "lobby", msg: m }, bob));
    c.run(300);
    const texts = (r: Reply) => (ok(r, "search") as { hits: { msg: string }[] }).hits.map((h) => h.msg);
    const ask = (o: { limit: number; before: MsgId | null; order?: "newest" }) => call(c, "b", { verb: "search", groupName: "lobby", query: "deploy", ...o }, bob);
    assert.equal(texts(ask({ limit: 10, before: null })), ["deploy deploy", "deploy", "deploy it all on friday after lunch, then go home"]);
    assert.equal(texts(ask({ limit: 10, before: null, order: "newest" })), ["deploy deploy", "deploy it all on friday after lunch, then go home", "deploy"]);
    const first = ok(ask({ limit: 2, before: null }), "search") as { hits: { msgId: MsgId; msg: string }[]; more: boolean };
    assert.equal([first.hits.map((h) => h.msg), first.more], [["deploy deploy", "deploy"], true]);
    assert.equal(texts(ask({ limit: 2, before: first.hits[1].msgId })), ["deploy it all on friday after lunch, then go home"]);
  } finally {
    c.close();
  }
});

test.after(() => removeTempDirs());

test.run();
