import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import type { Op } from "../lib/wire/messages.ts";
import { Store } from "../lib/store/store.ts";
import { isLive } from "../lib/rules/conflict.ts";
import { formatVector, fromEntries } from "../lib/wire/vector.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

const T0 = 1_700_000_000_000;
const stores: Store[] = [];

function open(self: string, path = join(tempDir("distchat-store-"), `${self}.sqlite`)): Store {
  const s = Store.open(path, self, { sync: "normal" });
  stores.push(s);
  return s;
}

/** Applies ops in one transaction. */
function applyAll(s: Store, ops: Op[]): void {
  s.begin();
  for (const op of ops) s.applyRemote(op);
  s.commit();
}

function local(s: Store, fn: () => void): void {
  s.begin();
  fn();
  s.commit();
}

test.after.each(() => {
  for (const s of stores.splice(0)) {
    try {
      s.close();
    } catch { /* closed */ }
  }
});
test.after(() => removeTempDirs());

test("a confirmer hides a later copy of a (session, tag) that names it; the hide reaches every server and the twin it kept shows", () => {
  const msg = (origin: string, seq: number, deps: [string, number][], conf?: string): Op => ({
    origin, seq, deps: fromEntries(deps), at: T0, session: "s1", kind: "msg", tag: "7", groupName: "r", userName: "u1", msg: "hi",
    ...(conf ? { conf } : {}),
  });
  const b = open("b");
  b.setOrigin("b");
  const c = open("c");
  c.setOrigin("c");
  const own = msg("b", 1, [], "c"); // b's own copy (its client failed over to b)
  const late = msg("a", 1, [], "b"); // a's copy, which names b as its confirmer
  applyAll(b, [own, late]);
  const hide = b.takeLocalOps();
  assert.equal(hide.map((op) => op.kind === "hide" && op.target), ["a.1"]);
  assert.equal([...b.uncovered("r", fromEntries([]))].map((m) => `${m.origin}.${m.seq}`), ["b.1"]);
  // c gets a's copy first (a's key is smaller: it shows), then b's copy and b's hide.
  applyAll(c, [late, own]);
  assert.equal([...c.uncovered("r", fromEntries([]))].map((m) => `${m.origin}.${m.seq}`), ["a.1"]);
  applyAll(c, hide);
  assert.equal([...c.uncovered("r", fromEntries([]))].map((m) => `${m.origin}.${m.seq}`), ["b.1"]);
  assert.is(c.messages.byTag("s1", "7")?.origin, "b");
  assert.is(c.takeLocalOps().length, 0, "c is nobody's confirmer here");
});

test("a version-2 database opens: the confirmer, refused and members' expiry columns (and version 5's replies and flags) are added and its messages kept", async () => {
  const { DatabaseSync } = await import("node:sqlite");
  const path = join(tempDir("distchat-store-"), "a.sqlite");
  const a = Store.open(path, "a", { sync: "normal" });
  a.setOrigin("a");
  local(a, () => void a.appendLocal({ kind: "msg", session: "s1", tag: "t", groupName: "r", userName: "u1", msg: "old" }, T0));
  a.close();
  const db = new DatabaseSync(path);
  db.exec(
    "DROP INDEX ops_act; DROP TABLE edits; DROP TABLE redactions; DROP TABLE reactions; DROP TABLE read_marks; DROP TABLE search; " +
      "ALTER TABLE ops DROP COLUMN re; ALTER TABLE ops DROP COLUMN conf; DROP INDEX members_live; " +
      // version 2's messages table: no refused, notice or flags column, keyed by (rkey, dseq)
      "CREATE TABLE m2 (rkey TEXT NOT NULL, dseq INTEGER NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, session TEXT NOT NULL, " +
      "tag TEXT NOT NULL, hidden INTEGER NOT NULL DEFAULT 0, ksum INTEGER NOT NULL, PRIMARY KEY (rkey, dseq)) WITHOUT ROWID; " +
      "INSERT INTO m2 SELECT rkey, dseq, origin, seq, session, tag, hidden, ksum FROM messages WHERE notice = 0; DROP TABLE messages; " +
      "ALTER TABLE m2 RENAME TO messages; CREATE UNIQUE INDEX messages_origin ON messages (rkey, origin, seq); " +
      "ALTER TABLE members DROP COLUMN expires; ALTER TABLE members DROP COLUMN jsum; ALTER TABLE members DROP COLUMN jorigin; DROP INDEX ops_open; " +
      "DROP TABLE bindings; DROP TABLE dm_parts; DROP INDEX ops_acct; DROP INDEX ops_mod; UPDATE meta SET v = '2' WHERE k = 'schema'",
  );
  db.close();
  const again = open("a", path);
  assert.equal([...again.uncovered("r", fromEntries([]))].map((m) => m.msg), ["old"]);
  assert.is(again.messages.byTag("s1", "t")?.conf, "");
});

test("a version-5 database opens: its notices, kept under U+0001 || the room's key, are listed again in delivery order", async () => {
  const { DatabaseSync } = await import("node:sqlite");
  const path = join(tempDir("distchat-store-"), "a.sqlite");
  const a = Store.open(path, "a", { sync: "normal" });
  a.setOrigin("a");
  local(a, () => {
    a.appendLocal({ kind: "login", session: "s1", userName: "u1", ttl: 60 }, T0);
    a.appendLocal({ kind: "open", session: "s1", groupName: "Lobby" }, T0);
    a.appendLocal({ kind: "join", session: "s1", groupName: "Lobby" }, T0);
    a.appendLocal({ kind: "msg", session: "s1", tag: "t", groupName: "Lobby", userName: "u1", msg: "hello" }, T0);
  });
  const listed = (s: Store) => [...s.uncovered("Lobby", fromEntries([]), true)].map((m) => m.msg);
  const before = listed(a);
  assert.equal(before, ["\u0001join", "hello"]);
  a.close();
  const db = new DatabaseSync(path);
  db.exec(
    "CREATE TABLE m5 (rkey TEXT NOT NULL, dseq INTEGER NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL, session TEXT NOT NULL, " +
      "tag TEXT NOT NULL, hidden INTEGER NOT NULL DEFAULT 0, ksum INTEGER NOT NULL, refused INTEGER NOT NULL DEFAULT 0, " +
      "notice INTEGER NOT NULL DEFAULT 0, flags INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (rkey, dseq)) WITHOUT ROWID; " +
      "INSERT INTO m5 SELECT CASE notice WHEN 1 THEN char(1) || rkey ELSE rkey END, dseq, origin, seq, session, tag, hidden, ksum, refused, notice, flags FROM messages; " +
      "DROP TABLE messages; ALTER TABLE m5 RENAME TO messages; CREATE UNIQUE INDEX messages_origin ON messages (rkey, origin, seq); " +
      "UPDATE meta SET v = '5' WHERE k = 'schema'",
  );
  db.close();
  const again = open("a", path);
  assert.equal(listed(again), before);
  assert.equal([...again.uncovered("Lobby", fromEntries([]))].map((m) => m.msg), ["hello"]);
  const keys = (again.db.prepare("SELECT DISTINCT rkey FROM messages").all() as { rkey: string }[]).map((r) => r.rkey);
  assert.equal(keys, ["lobby"], "no key is U+0001 || the room's key any more");
});

test("appendLocal numbers ops per origin and takes deps from the vector minus self", () => {
  const a = open("a");
  const remote: Op = { origin: "b", seq: 1, deps: fromEntries([]), at: T0, session: "sb", kind: "login", userName: "bea", ttl: 60 };
  applyAll(a, [remote]);
  let op1: Op | undefined, op2: Op | undefined;
  local(a, () => {
    op1 = a.appendLocal({ kind: "login", session: "sa", userName: "al", ttl: 60 }, T0 + 1);
    op2 = a.appendLocal({ kind: "open", session: "sa", groupName: "Lobby" }, T0 + 2);
  });
  assert.is(op1!.seq, 1);
  assert.is(op2!.seq, 2);
  assert.is(formatVector(op2!.deps), "b=1");
  assert.is(formatVector(a.vector()), "a=2,b=1");
  assert.ok(a.hasOp("a", 2) && a.hasOp("b", 1) && !a.hasOp("a", 3));
  assert.equal(a.takeLocalOps().map((o) => o.seq), [1, 2]);
});

test("opsAfter lists what a vector lacks in a causal order, limited", () => {
  const a = open("a");
  local(a, () => {
    a.appendLocal({ kind: "login", session: "s1", userName: "u1", ttl: 60 }, T0);
    a.appendLocal({ kind: "open", session: "s1", groupName: "r" }, T0);
  });
  applyAll(a, [{ origin: "b", seq: 1, deps: fromEntries([["a", 2]]), at: T0, session: "s2", kind: "login", userName: "u2", ttl: 60 }]);
  local(a, () => void a.appendLocal({ kind: "msg", session: "s1", tag: "t", groupName: "r", userName: "u1", msg: "x" }, T0));
  const all = a.opsAfter(fromEntries([]), 100).map((o) => `${o.origin}.${o.seq}`);
  assert.equal(all, ["a.1", "a.2", "b.1", "a.3"]);
  assert.equal(a.opsAfter(fromEntries([["a", 2]]), 100).map((o) => `${o.origin}.${o.seq}`), ["b.1", "a.3"]);
  assert.equal(a.opsAfter(fromEntries([]), 2).length, 2);
  const msg = a.opsAfter(fromEntries([["a", 2], ["b", 1]]), 10)[0];
  assert.equal({ ...msg, deps: formatVector(msg.deps) }, {
    origin: "a",
    seq: 3,
    deps: "b=1",
    at: T0,
    session: "s1",
    kind: "msg",
    tag: "t",
    groupName: "r",
    userName: "u1",
    msg: "x",
  });
});

// Concurrent ops made at a and b (neither saw the other): deps empty.
const loginA: Op = { origin: "a", seq: 1, deps: fromEntries([]), at: T0, session: "sa", kind: "login", userName: "Eve", ttl: 60 };
const loginB: Op = { origin: "b", seq: 1, deps: fromEntries([]), at: T0 + 5, session: "sb", kind: "login", userName: "eve", ttl: 60 };

test("name conflict: the login with the smaller key wins, in either order", () => {
  for (const order of [[loginA, loginB], [loginB, loginA]]) {
    const s = open("c");
    applyAll(s, order);
    assert.ok(isLive(s.session("sa")!, T0 + 10), "a's claim (key 1,a) wins");
    assert.not.ok(isLive(s.session("sb")!, T0 + 10), "b's claim loses");
    assert.is(s.sessions.liveHolder("EVE", T0 + 10)?.id, "sa");
  }
});

test("no conflict when the earlier claim had expired", () => {
  const s = open("c");
  applyAll(s, [loginA, { ...loginB, at: T0 + 61_000 }]);
  assert.ok(isLive(s.session("sb")!, T0 + 61_000));
});

test("concurrent room creation: one room, named by the smaller key, members of both", () => {
  const openA: Op = { origin: "a", seq: 2, deps: fromEntries([]), at: T0, session: "sa", kind: "open", groupName: "Lobby" };
  const openB: Op = { origin: "b", seq: 1, deps: fromEntries([]), at: T0, session: "sb", kind: "open", groupName: "LOBBY" };
  const la: Op = { ...loginA, userName: "al" };
  const lb: Op = { ...loginB, seq: 2, userName: "bo" };
  // b's open has key (1, b) < a's (2, a).
  for (const order of [[la, openA, openB, lb], [openB, la, lb, openA]]) {
    const s = open("c");
    applyAll(s, order);
    assert.is(s.rooms.name("lobby"), "LOBBY");
    assert.equal(s.rooms.after(null, 10), ["LOBBY"]);
    assert.ok(s.rooms.isMember("Lobby", "sa") && s.rooms.isMember("lobby", "sb"));
  }
});

test("msg (session, tag) duplicates: the smaller key is the visible one, in either order", () => {
  const setup: Op[] = [
    { ...loginA, userName: "al" },
    { origin: "a", seq: 2, deps: fromEntries([]), at: T0, session: "sa", kind: "open", groupName: "r" },
  ];
  const m = { session: "sa", kind: "msg", tag: "7", groupName: "r", userName: "al", msg: "hello" } as const;
  const onA: Op = { ...m, origin: "a", seq: 3, deps: fromEntries([]), at: T0 };
  const onB: Op = { ...m, origin: "b", seq: 1, deps: fromEntries([["a", 2]]), at: T0 }; // key (3, b) > (3, a)
  for (const order of [[onA, onB], [onB, onA]]) {
    const s = open("c");
    applyAll(s, [...setup, ...order]);
    const seen = [...s.uncovered("r", fromEntries([]))].map((e) => `${e.origin}.${e.seq}`);
    assert.equal(seen, ["a.3"]);
    assert.is(s.messages.byTag("sa", "7")?.origin, "a");
  }
});

test("a local add still finds a twin that arrived after addByTag found none", () => {
  // Only a caller that passes noTwin right after its own addByTag skips the twin query;
  // a plain appendLocal after another message arrived must still find the twin.
  const s = open("c");
  applyAll(s, [
    { ...loginA, userName: "al" },
    { origin: "a", seq: 2, deps: fromEntries([]), at: T0, session: "sa", kind: "open", groupName: "r" },
  ]);
  const m = { session: "sa", kind: "msg", tag: "7", groupName: "r", userName: "al", msg: "hello" } as const;
  assert.is(s.messages.byTag("sa", "7"), null);
  applyAll(s, [{ ...m, origin: "a", seq: 3, deps: fromEntries([]), at: T0 }]);
  local(s, () => void s.appendLocal(m, T0));
  assert.equal([...s.uncovered("r", fromEntries([]))].map((e) => `${e.origin}.${e.seq}`), ["a.3"]);
});

test("uncovered: per-origin suffixes in delivery order; unknown origins ignored", () => {
  const s = open("a");
  local(s, () => {
    s.appendLocal({ kind: "login", session: "s1", userName: "u1", ttl: 60 }, T0);
    s.appendLocal({ kind: "open", session: "s1", groupName: "r" }, T0);
    s.appendLocal({ kind: "msg", session: "s1", tag: "1", groupName: "r", userName: "u1", msg: "a3" }, T0);
  });
  applyAll(s, [
    { origin: "b", seq: 1, deps: fromEntries([["a", 3]]), at: T0, session: "s1", kind: "msg", tag: "2", groupName: "r", userName: "u1", msg: "b1" },
  ]);
  local(s, () => void s.appendLocal({ kind: "msg", session: "s1", tag: "3", groupName: "r", userName: "u1", msg: "a4" }, T0));
  const texts = (c: string) =>
    [...s.uncovered("R", fromEntries(c === "" ? [] : c.split(",").map((p) => [p.split("=")[0], Number(p.split("=")[1])])))]
      .map((e) => e.msg);
  assert.equal(texts(""), ["a3", "b1", "a4"]);
  assert.equal(texts("a=3"), ["b1", "a4"]);
  assert.equal(texts("b=1"), ["a3", "a4"]);
  assert.equal(texts("a=4,b=1,zz=9"), []);
});

test("state survives reopening; logout ends memberships", () => {
  const path = join(tempDir("distchat-store-"), "a.sqlite");
  const s = open("a", path);
  local(s, () => {
    s.appendLocal({ kind: "login", session: "s1", userName: "u1", ttl: 60 }, T0);
    s.appendLocal({ kind: "open", session: "s1", groupName: "Room" }, T0);
    s.appendLocal({ kind: "msg", session: "s1", tag: "1", groupName: "Room", userName: "u1", msg: "kept" }, T0);
    s.replies.save("k", "ok\n1\nopen\nRoom\n", T0);
  });
  s.close();
  const t = open("a", path);
  assert.is(formatVector(t.vector()), "a=3");
  assert.ok(t.rooms.isMember("room", "s1"));
  assert.equal([...t.uncovered("room", fromEntries([]))].map((e) => e.msg), ["kept"]);
  assert.is(t.replies.get("k"), "ok\n1\nopen\nRoom\n");
  local(t, () => void t.appendLocal({ kind: "logout", session: "s1" }, T0 + 1));
  assert.not.ok(t.rooms.isMember("room", "s1"));
  assert.not.ok(isLive(t.session("s1")!, T0 + 2));
});

test.run();
