/**
 * The group commit and the client port on an injected clock (no sleeps, no
 * sockets): one commit per turn of writes, replies after the commit,
 * subscribers told what was committed, long polls woken by a message or
 * answered at their deadline, housekeeping on time.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startHousekeeping } from "../lib/server/housekeeping.ts";
import type { Op } from "../lib/wire/messages.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { ALICE, BOB, enter, setup, T0 } from "./_port.ts";

test.after(() => removeTempDirs());

test("writes of one turn share one commit and one sync; replies follow it", () => {
  const t = setup();
  try {
    t.say(ALICE, "login", 1, "alice");
    t.say(BOB, "login", 1, "bob");
    assert.equal(t.events, [], "nothing is sent before the commit");
    t.clock.runSoon();
    assert.is(t.events.length, 3);
    assert.is(t.events[0], "sync");
    assert.match(t.events[1], /^40001 ok\|1\|login\|alice\|/);
    assert.match(t.events[2], /^40002 ok\|1\|login\|bob\|/);
    assert.is(t.committed.length, 1);
    assert.equal(t.committed[0].localOps.map((o) => o.kind), ["login", "login"]);
  } finally {
    t.close();
  }
});

test("afterNextCommit with no write commits without waiting for the disk", () => {
  const t = setup();
  try {
    let ran = false;
    t.commit.afterNextCommit(() => (ran = true));
    t.clock.runSoon();
    assert.ok(ran);
    assert.equal(t.events, []);
  } finally {
    t.close();
  }
});

test("a batch that changed no row (a poll, re-armed) commits without a sync; one that did is synced", () => {
  const t = setup();
  try {
    const a = enter(t, ALICE, "alice", true);
    t.events.length = 0;
    t.say(ALICE, "request", "p1", a, "r", "0", 0);
    t.clock.runSoon();
    assert.equal(t.events.map((e) => e.split("|")[0]), ["40001 poll"]);
    t.events.length = 0;
    t.say(ALICE, "add", "m1", a, "hello", "r");
    t.clock.runSoon();
    assert.equal(t.events.map((e) => e.split("|")[0]), ["sync", "40001 ok"]);
  } finally {
    t.close();
  }
});

test("a held poll is answered by the commit that brings its room a message", () => {
  const t = setup();
  try {
    const a = enter(t, ALICE, "alice", true);
    const b = enter(t, BOB, "bob", false);
    t.events.length = 0;
    t.say(BOB, "request", "p1", b, "r", "0", 20000);
    t.clock.runSoon();
    assert.is(t.port.heldPolls, 1);
    assert.equal(t.events.filter((e) => !e.startsWith("sync")), []);
    t.say(ALICE, "add", "m1", a, "hello", "r");
    t.clock.runSoon();
    const sent = t.events.filter((e) => e !== "sync");
    assert.match(sent[0], /^40001 ok\|m1\|add\|hello\|r\|a\.\d+\|$/);
    assert.match(sent[1], /^40002 poll\|p1\|r\|a=\d+\|0\|1\|a\.\d+\|alice\|\d+\|hello\|$/);
    assert.is(t.port.heldPolls, 0);
  } finally {
    t.close();
  }
});

test("a `first` subscriber (the fan-out) hears a commit before those that subscribed earlier (the held polls); others keep their order", () => {
  const t = setup();
  try {
    const a = enter(t, ALICE, "alice", true);
    const b = enter(t, BOB, "bob", false);
    t.commit.subscribe((c) => void (c.localOps.length > 0 && t.events.push("last")));
    t.commit.subscribe((c) => void (c.localOps.length > 0 && t.events.push("fan-out")), { first: true });
    t.commit.subscribe((c) => void (c.localOps.length > 0 && t.events.push("fan-out 2")), { first: true });
    t.say(BOB, "request", "p1", b, "r", "0", 20000);
    t.clock.runSoon();
    t.events.length = 0;
    t.say(ALICE, "add", "m1", a, "hello", "r");
    t.clock.runSoon();
    const heads = t.events.map((e) => e.split("|")[0]);
    assert.equal(heads, ["sync", "40001 ok", "fan-out", "fan-out 2", "40002 poll", "last"], t.events.join(" / "));
  } finally {
    t.close();
  }
});

test("peers' ops wake a held poll between their commit and its sync; a local add only after the sync", () => {
  const t = setup();
  try {
    enter(t, ALICE, "alice", true);
    const b = enter(t, BOB, "bob", false);
    t.events.length = 0;
    t.say(BOB, "request", "p1", b, "r", "0", 20000);
    t.clock.runSoon();
    t.events.length = 0;
    // A message made at server z, already on z's disk, synced here for two-disk acks.
    const op: Op = { origin: "z", seq: 1, deps: t.store.vector(), at: T0, session: "5e".repeat(32), kind: "msg", tag: "z1", groupName: "r", userName: "zoe", msg: "from z" };
    t.commit.batch(() => t.store.applyRemote(op), { shownBeforeSync: true });
    t.clock.runSoon();
    assert.is(t.events.length, 2, t.events.join(" / "));
    assert.match(t.events[0], /^40002 poll\|p1\|r\|.*\|from z\|$/);
    assert.is(t.events[1], "sync", "the sync follows the answer");
    // The same write without the flag (a client's add, housekeeping): the sync first.
    t.say(BOB, "request", "p2", b, "r", "z=1", 20000);
    t.clock.runSoon();
    t.events.length = 0;
    t.commit.batch(() => t.store.applyRemote({ ...op, seq: 2, tag: "z2", msg: "again" }), {});
    t.clock.runSoon();
    assert.equal(t.events.map((e) => e.split("|")[0]), ["sync", "40002 poll"]);
  } finally {
    t.close();
  }
});

/** Bob (and Alice, with `alice`) in room r, Bob's poll held, then z's message committed and shown (one turn run): the tokens. */
function showFromZ(t: ReturnType<typeof setup>, alice: boolean, after?: () => void): { a: string; b: string } {
  const a = alice ? enter(t, ALICE, "alice", true) : "";
  const b = enter(t, BOB, "bob", !alice);
  t.say(BOB, "request", "p1", b, "r", "0", 20000);
  t.clock.runSoon();
  t.events.length = 0;
  const op: Op = { origin: "z", seq: 1, deps: t.store.vector(), at: T0, session: "5e".repeat(32), kind: "msg", tag: "z1", groupName: "r", userName: "zoe", msg: "from z" };
  t.commit.batch(() => t.store.applyRemote(op), { shownBeforeSync: true, after });
  t.clock.runTurn();
  return { a, b };
}

test("a shown commit (pipelined): its poll replies leave before its sync starts, its callbacks after the sync; a write of the meanwhile gets a sync of its own", () => {
  const t = setup({}, true);
  try {
    let after = false;
    const { a } = showFromZ(t, true, () => (after = true));
    assert.equal(t.events.map((e) => e.split("|")[0]), ["40002 poll", "sync"], "answered, then the sync started");
    assert.ok(!after, "its callbacks wait for the sync");
    assert.ok(t.commit.busy, "busy until the sync: a got or an ack waits for it");
    const committed = t.committed.length;
    t.say(ALICE, "add", "m1", a, "meanwhile", "r");
    t.clock.runSoon();
    assert.equal(t.events.length, 2, "the add ran; its commit waits for the running sync");
    t.endSync();
    assert.ok(after);
    assert.equal(t.events.map((e) => e.split("|")[0]), ["40002 poll", "sync", "sync"], "the add committed and its sync started");
    assert.is(t.committed.length, committed, "subscribers wait for a moment with nothing unsynced");
    t.endSync();
    assert.equal(t.events.map((e) => e.split("|")[0]), ["40002 poll", "sync", "sync", "40001 ok"]);
    assert.is(t.committed.length, committed + 1, "one news for both commits");
    assert.equal(t.committed.at(-1)!.localOps.map((o) => o.kind), ["msg"]);
    assert.ok(!t.commit.busy);
  } finally {
    t.close();
  }
});

test("a read-only request that came during a shown commit's sync is answered when it ends, with no sync of its own", () => {
  const t = setup({}, true);
  try {
    const { b } = showFromZ(t, false);
    t.say(BOB, "rooms", "x1", b);
    t.clock.runSoon();
    t.endSync();
    assert.equal(t.events.map((e) => e.split("|")[0]), ["40002 poll", "sync", "40002 ok"]);
    assert.ok(!t.commit.busy);
  } finally {
    t.close();
  }
});

test("one session holds at most 64 long polls; the next is rate-limited, another session's is held", () => {
  const t = setup();
  try {
    const a = enter(t, ALICE, "alice", true);
    const b = enter(t, BOB, "bob", false);
    t.events.length = 0;
    for (let i = 0; i < 65; i++) t.say(BOB, "request", `p${i}`, b, "r", "a=99", 20000);
    t.clock.runSoon();
    assert.is(t.port.heldPolls, 64);
    assert.equal(t.events.filter((e) => e !== "sync"), ["40002 error|p64|rate-limited|more than 64 long polls held for this session|"]);
    t.say(ALICE, "request", "q1", a, "r", "a=99", 20000);
    t.clock.runSoon();
    assert.is(t.port.heldPolls, 65);
  } finally {
    t.close();
  }
});

test("a held poll with nothing new is answered empty at its deadline, not before", () => {
  const t = setup();
  try {
    const b = enter(t, BOB, "bob", true);
    t.events.length = 0;
    t.say(BOB, "request", "p1", b, "r", "a=99", 5000);
    t.clock.runSoon();
    t.clock.advance(4999);
    assert.equal(t.events.filter((e) => e !== "sync"), []);
    t.clock.advance(2);
    assert.equal(t.events.filter((e) => e !== "sync"), ["40002 poll|p1|r|a=99|0|0|"]);
    assert.is(t.port.heldPolls, 0);
  } finally {
    t.close();
  }
});

test("housekeeping: the database watch stops the server once; tidying runs every 30 s", () => {
  const t = setup();
  const stop = startHousekeeping({ clock: t.clock, commit: t.commit, store: t.store, limiters: [t.port.limiter], checkDatabase: () => null, trimHeapWhenIdle: false });
  try {
    t.clock.advance(29_999);
    assert.equal(t.events, []);
    const writes = t.commit.writes;
    t.clock.advance(1);
    assert.is(t.commit.writes, writes + 1, "the tidy batch ran");
    assert.equal(t.events, [], "and, having changed no row, committed without a sync");
    t.setProblem("database file gone");
    t.say(ALICE, "login", 1, "alice");
    t.clock.runSoon();
    assert.equal(t.fatal, ["database file gone"]);
    assert.ok(t.commit.failed);
  } finally {
    stop();
    t.close();
  }
});

test.run();
