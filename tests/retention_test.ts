/**
 * The retention limit (lib/store/retention.ts, docs/OPERATIONS.md
 * "Retention"): old messages are expunged in bounded batches, their ops stay
 * as tombstones with empty text, catch-up carries the tombstones, and a
 * message younger than an hour is never expunged. The last test runs real
 * servers two hours in the future (libfaketime) after their messages were sent.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Op } from "../lib/wire/messages.ts";
import { decodePeer, encodePeer } from "../lib/wire/codec.ts";
import { Store } from "../lib/store/store.ts";
import type { RetentionLimits } from "../lib/store/retention.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { add, enter, login, readAll, within } from "../testing/cluster_ops.ts";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { movableClock } from "../testing/movable_clock.ts";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SESSION = "5".repeat(64);
const stores: Store[] = [];

function open(self: string, retention?: RetentionLimits): Store {
  const s = Store.open(join(tempDir("distchat-retention-"), `${self}.sqlite`), self, { sync: "normal", retention });
  stores.push(s);
  return s;
}

function tx<T>(s: Store, fn: () => T): T {
  s.begin();
  const r = fn();
  s.commit();
  return r;
}

/** A session in rooms r and s; then `n` messages to `room` at the given times. */
function seed(s: Store, msgs: { room: string; at: number; text: string }[]): void {
  tx(s, () => {
    s.appendLocal({ kind: "login", session: SESSION, userName: "ann", ttl: 300 }, T0 - 10 * DAY);
    s.appendLocal({ kind: "open", session: SESSION, groupName: "r" }, T0 - 10 * DAY);
    s.appendLocal({ kind: "open", session: SESSION, groupName: "s" }, T0 - 10 * DAY);
    msgs.forEach((m, i) => s.appendLocal({ kind: "msg", session: SESSION, tag: `t${i}`, groupName: m.room, userName: "ann", msg: m.text }, m.at));
  });
}

const listed = (s: Store, room: string) => [...s.uncovered(room, fromEntries([]))].map((m) => m.msg);
const texts = (n: number, room: string, at: (i: number) => number, prefix = "m") =>
  Array.from({ length: n }, (_, i) => ({ room, at: at(i), text: `${prefix}${i}` }));

test.after.each(() => {
  for (const s of stores.splice(0)) {
    try {
      s.close();
    } catch { /* closed */ }
  }
});
test.after(removeTempDirs);

test("the age limit expunges old messages in batches; their ops stay as tombstones that catch-up carries and a peer stores as nothing", () => {
  const a = open("a", { maxAgeMs: 2 * DAY, maxPerRoom: 0 });
  seed(a, [...texts(10, "r", (i) => T0 - 5 * DAY + i), ...texts(5, "r", (i) => T0 - DAY + i, "new")]);
  a.takeLocalOps();
  assert.is(tx(a, () => a.retention.sweep(T0, 4)), 4, "a batch is bounded");
  assert.is(tx(a, () => a.retention.sweep(T0, 4)), 4);
  assert.is(tx(a, () => a.retention.sweep(T0, 4)), 2, "fewer than the batch: caught up");
  assert.is(tx(a, () => a.retention.sweep(T0, 4)), 0);
  assert.is(a.retention.expunged, 10);
  assert.equal(listed(a, "r"), ["new0", "new1", "new2", "new3", "new4"]);
  const withText = (a.db.prepare("SELECT count(*) AS n FROM ops WHERE kind = 'msg' AND msg <> ''").get() as { n: number }).n;
  assert.is(withText, 5, "the expunged texts are gone from the op log");
  // Catch-up from nothing: every op, the 10 tombstones with empty text.
  const ops = a.opsAfter(fromEntries([]), 100);
  assert.is(ops.length, 18, "seqs stay dense: 3 + 15 ops");
  assert.is(ops.filter((o) => o.kind === "msg" && o.msg === "").length, 10);
  // The tombstones cross the peer wire.
  const wire = decodePeer(encodePeer({ verb: "add", from: "a", nonce: "-", vector: a.vector(), ops }));
  assert.ok(wire.ok, wire.ok ? "" : wire.error.message);
  const b = open("b"); // no limit of its own
  tx(b, () => {
    for (const op of (wire.ok && wire.value.datagram.verb === "add" ? wire.value.datagram.ops : []) as Op[]) b.applyRemote(op);
  });
  assert.equal(b.vector(), a.vector());
  assert.equal(listed(b, "r"), ["new0", "new1", "new2", "new3", "new4"]);
  assert.is(b.messages.count(), 5);
});

test("the count limit keeps the newest N of each room, never a message younger than an hour", () => {
  const a = open("a", { maxAgeMs: 0, maxPerRoom: 3 });
  seed(a, [...texts(20, "r", (i) => T0 - 3 * HOUR + i), ...texts(2, "s", (i) => T0 - 3 * HOUR + i, "s"), ...texts(5, "r", (i) => T0 - 60_000 + i, "young")]);
  assert.is(tx(a, () => a.retention.sweep(T0, 1000)), 20, "the 20 old ones of r go; the 5 young ones stay although only 3 may");
  assert.equal(listed(a, "r"), ["young0", "young1", "young2", "young3", "young4"]);
  assert.equal(listed(a, "s"), ["s0", "s1"], "a room within the limit is untouched");
  assert.is(tx(a, () => a.retention.sweep(T0 + 2 * HOUR, 1000)), 2, "an hour later the extra ones go too");
  assert.equal(listed(a, "r"), ["young2", "young3", "young4"]);
  // A new message past the limit, once old enough: the oldest goes.
  tx(a, () => a.appendLocal({ kind: "msg", session: SESSION, tag: "late", groupName: "r", userName: "ann", msg: "late" }, T0 + 2 * HOUR));
  assert.is(tx(a, () => a.retention.sweep(T0 + 4 * HOUR, 1000)), 1);
  assert.equal(listed(a, "r"), ["young3", "young4", "late"]);
});

test("no limit: nothing is expunged", () => {
  const a = open("a");
  seed(a, texts(5, "r", (i) => T0 - 100 * DAY + i));
  assert.not.ok(a.retention.active);
  assert.is(tx(a, () => a.retention.sweep(T0, 1000)), 0);
  assert.is(listed(a, "r").length, 5);
});

test("real servers: --retain-messages expunges on restart two hours later; a server whose disk was lost catches up to the same 10 messages", async () => {
  const dir = tempDir("distchat-retention-");
  const { file } = await makeCluster(["a", "b"], dir);
  const db = (id: string) => join(dir, `${id}.sqlite`);
  const running: ServerHandle[] = [];
  const u = await udpClient();
  // libfaketime preloaded (not the faketime wrapper, whose semaphores a killed run leaves behind to clash with later ones).
  const clock = movableClock(dir);
  const start = async (id: string, o: { later?: boolean; extra?: string[]; newCluster?: boolean } = {}) => {
    if (o.later) clock.move("+2h");
    const s = await startServer({
      id, servers: file, db: db(id), newCluster: o.newCluster, extraArgs: o.extra ?? [],
      wrap: o.later ? clock.wrap : [],
    });
    running.push(s);
    return s;
  };
  try {
    let a = await start("a");
    let b = await start("b");
    const ann = await login(u, a.clientAddr, "ann");
    await enter(u, a.clientAddr, ann, "r");
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await add(u, a.clientAddr, ann, "r", `line ${i}`));
    assert.ok(await within(5000, async () => (await readAll(u, b.clientAddr, ann, "r")).ids.length === 30), "b has all 30");
    await Promise.all(running.splice(0).map((s) => s.stop()));
    // Two hours later: a keeps 10 per room; b's disk is lost.
    rmSync(db("b"), { force: true });
    for (const side of ["-wal", "-shm", ".hwm", ".key"]) rmSync(db("b") + side, { force: true });
    a = await start("a", { later: true, extra: ["--retain-messages", "10"] });
    b = await start("b", { later: true, newCluster: false });
    const zed = await login(u, a.clientAddr, "zed");
    await enter(u, a.clientAddr, zed, "r");
    const count = (s: ServerHandle) => readAll(u, s.clientAddr, zed, "r").then((l) => l.ids.length, () => -1); // -1: not there yet
    const kept = await within(10_000, async () => (await count(a)) === 10);
    assert.ok(kept !== null, `a lists ${(await readAll(u, a.clientAddr, zed, "r")).ids.length}`);
    assert.equal((await readAll(u, a.clientAddr, zed, "r")).ids, ids.slice(20));
    assert.ok(await within(10_000, async () => (await count(b)) === 10), "b caught up");
    assert.equal((await readAll(u, b.clientAddr, zed, "r")).msgs, ids.slice(20).map((_, i) => `line ${20 + i}`));
    await Promise.all(running.splice(0).map((s) => s.stop()));
    for (const id of ["a", "b"]) {
      const d = new DatabaseSync(db(id), { readOnly: true, timeout: 10_000 });
      const n = (sql: string) => (d.prepare(sql).get() as { n: number }).n;
      assert.is(n("SELECT count(*) AS n FROM ops WHERE kind = 'msg' AND msg <> ''"), 10, `${id}: 10 texts in the op log`);
      assert.is(n("SELECT count(*) AS n FROM ops WHERE kind = 'msg'"), 30, `${id}: 30 msg ops (20 tombstones)`);
      d.close();
    }
  } finally {
    await Promise.all(running.map((s) => s.stop()));
    await u.close();
  }
});

test.run();
