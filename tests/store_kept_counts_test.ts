/**
 * The message and room counts of /metrics are kept by SQLite triggers
 * (lib/store/kept_counts.ts), not counted per scrape: after every kind of
 * write — adds, notices, twins hidden and shown, a confirmer's hide,
 * retention, dropped origins, a rolled-back transaction, a reopen — they
 * equal what `count(*)` finds. The visible messages' count is noted by
 * their writer and flushed at BEGIN and COMMIT (no insert trigger): read
 * inside a transaction, and after a ROLLBACK that a new transaction
 * follows before any read, it is still exact.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import type { Op } from "../lib/wire/messages.ts";
import { Store } from "../lib/store/store.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const stores: Store[] = [];

function open(self: string, path = join(tempDir("distchat-kept-"), `${self}.sqlite`), retention = { maxAgeMs: 0, maxPerRoom: 0 }): Store {
  const s = Store.open(path, self, { sync: "normal", retention });
  s.setOrigin(self);
  stores.push(s);
  return s;
}

const tx = (s: Store, fn: () => void) => (s.begin(), fn(), s.commit());

/** The kept counts equal count(*); returns the message count. */
function agrees(s: Store, what: string): number {
  const messages = (s.db.prepare("SELECT count(*) AS n FROM messages WHERE hidden = 0 AND notice = 0").get() as { n: number }).n;
  const rooms = (s.db.prepare("SELECT count(*) AS n FROM rooms").get() as { n: number }).n;
  assert.is(s.messages.count(), messages, `${what}: messages`);
  assert.is(s.rooms.count(), rooms, `${what}: rooms`);
  return messages;
}

// Stores still open when a test ends (a failed one) are closed, then the files go.
test.after.each(() => stores.splice(0).forEach((s) => s.db.isOpen && s.close()));
test.after(() => removeTempDirs());

test("adds, notices, a twin hidden then shown by a confirmer's hide, a rolled-back transaction, a reopen", () => {
  const path = join(tempDir("distchat-kept-"), "c.sqlite");
  const c = open("c", path);
  tx(c, () => {
    c.appendLocal({ kind: "login", session: "s9", userName: "ann", ttl: 300 }, T0);
    c.appendLocal({ kind: "open", session: "s9", groupName: "r" }, T0);
    c.appendLocal({ kind: "open", session: "s9", groupName: "q" }, T0);
    for (let i = 0; i < 5; i++) c.appendLocal({ kind: "msg", session: "s9", tag: `t${i}`, groupName: "r", userName: "ann", msg: `m${i}` }, T0);
    c.appendLocal({ kind: "leave", session: "s9", groupName: "q" }, T0);
  });
  assert.is(agrees(c, "adds and a leave notice"), 5);
  const msg = (origin: string, seq: number, conf?: string): Op => ({
    origin, seq, deps: fromEntries([]), at: T0, session: "s1", kind: "msg", tag: "7", groupName: "r", userName: "u1", msg: "hi",
    ...(conf ? { conf } : {}),
  });
  const b = open("b");
  tx(b, () => (b.applyRemote(msg("b", 1, "c")), b.applyRemote(msg("a", 1, "b"))));
  const hide = b.takeLocalOps();
  assert.is(agrees(b, "the later copy took the place of the first, then its confirmer refused it"), 1);
  tx(c, () => (c.applyRemote(msg("a", 1, "b")), c.applyRemote(msg("b", 1, "c"))));
  assert.is(agrees(c, "two copies of one add: one shows"), 6);
  tx(c, () => void hide.forEach((op) => c.applyRemote(op)));
  assert.is(agrees(c, "the confirmer's hide: the other copy shows"), 6);
  c.begin();
  c.appendLocal({ kind: "msg", session: "s9", tag: "gone", groupName: "r", userName: "ann", msg: "rolled back" }, T0);
  c.db.exec("ROLLBACK");
  assert.is(agrees(c, "rolled back"), 6);
  c.close();
  stores.splice(stores.indexOf(c), 1);
  assert.is(agrees(open("c", path), "reopened"), 6);
});

test("retention and dropped origins take their messages out of the count", () => {
  const a = open("a", undefined, { maxAgeMs: 2 * DAY, maxPerRoom: 0 });
  tx(a, () => {
    a.appendLocal({ kind: "login", session: "s1", userName: "ann", ttl: 300 }, T0 - 10 * DAY);
    a.appendLocal({ kind: "open", session: "s1", groupName: "r" }, T0 - 10 * DAY);
    for (let i = 0; i < 10; i++) a.appendLocal({ kind: "msg", session: "s1", tag: `o${i}`, groupName: "r", userName: "ann", msg: `old${i}` }, T0 - 5 * DAY);
    for (let i = 0; i < 3; i++) a.appendLocal({ kind: "msg", session: "s1", tag: `n${i}`, groupName: "r", userName: "ann", msg: `new${i}` }, T0);
    a.applyRemote({ origin: "zz", seq: 1, deps: fromEntries([]), at: T0, session: "s2", kind: "msg", tag: "1", groupName: "r", userName: "eve", msg: "junk" });
  });
  assert.is(agrees(a, "seeded"), 14);
  tx(a, () => void a.retention.sweep(T0, 100));
  assert.is(agrees(a, "after retention"), 4);
  a.dropForeignOrigins((o) => o === "a");
  assert.is(agrees(a, "after dropping origin zz"), 3);
});

test("the noted message count: read inside a transaction, a rollback followed at once by a new transaction, a row outside any", () => {
  const a = open("a");
  const add = (tag: string) => a.appendLocal({ kind: "msg", session: "s1", tag, groupName: "r", userName: "ann", msg: tag }, T0);
  tx(a, () => (a.appendLocal({ kind: "login", session: "s1", userName: "ann", ttl: 300 }, T0), a.appendLocal({ kind: "open", session: "s1", groupName: "r" }, T0)));
  a.begin();
  add("1"), add("2");
  agrees(a, "two noted in the open transaction");
  a.commit();
  assert.is(agrees(a, "committed"), 2);
  a.begin();
  add("3");
  a.db.exec("ROLLBACK");
  tx(a, () => add("4"));
  assert.is(agrees(a, "a rollback, then a transaction of one more before any read"), 3);
  a.db.exec("BEGIN");
  add("5");
  a.db.exec("COMMIT"); // past the store's commit: nothing flushed
  assert.is(agrees(a, "committed without the store"), 4);
  a.messages.insert({ origin: "zz", seq: 1, session: "s1", tag: "x" }, "r", 10_000, [1, "zz"], true);
  assert.is(agrees(a, "a row outside any transaction"), 5);
});

test.run();
