/**
 * The pipelined group commit (lib/server/commit.ts): a commit's fsync runs
 * off the event loop while the next batch's writes run, and nothing leaves
 * early — a reply only after the end of an fsync that started after its
 * COMMIT, subscribers (held polls, fan-out, the ack gate) only when the
 * connection holds nothing newer than what is synced, the high-water mark
 * at the synced commit's seq. Syncs are ended by hand (tests/_port.ts
 * `pipelined`): no disk, no sleeps.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { removeTempDirs } from "../testing/harness.ts";
import { ALICE, BOB, enter, settle, setup } from "./_port.ts";

test.after(() => removeTempDirs());

const heads = (events: string[]) => events.map((e) => e.split("|").slice(0, 2).join("|"));

test("a reply waits for the end of the sync that started after its commit", () => {
  const t = setup({}, true);
  try {
    t.say(ALICE, "login", "l1", "alice");
    t.clock.runSoon();
    assert.equal(t.events, ["sync"], "committed, the sync running, no reply");
    assert.ok(t.commit.busy);
    t.clock.runSoon();
    assert.equal(t.events, ["sync"], "turns pass: still no reply");
    t.endSync();
    assert.equal(heads(t.events), ["sync", "40001 ok|l1"]);
    assert.ok(!t.commit.busy);
  } finally {
    t.close();
  }
});

test("writes that arrive during a sync run at once; their replies wait for a sync of their own, and one sync runs at a time", () => {
  const t = setup({}, true);
  try {
    const a = enter(t, ALICE, "alice", true);
    t.events.length = 0;
    t.say(ALICE, "add", "m1", a, "one", "r");
    t.clock.runSoon();
    const seq = t.store.vector().get("a")!;
    t.say(ALICE, "add", "m2", a, "two", "r");
    t.clock.runSoon();
    assert.is(t.store.vector().get("a"), seq + 1, "m2 ran in the next transaction");
    assert.equal(t.events, ["sync"], "no second sync while one runs");
    assert.is(t.running.length, 1);
    t.endSync();
    assert.equal(heads(t.events), ["sync", "40001 ok|m1", "sync"], "m1 acked; m2's batch committed and its sync started");
    t.endSync();
    assert.equal(heads(t.events), ["sync", "40001 ok|m1", "sync", "40001 ok|m2"]);
  } finally {
    t.close();
  }
});

test("subscribers and held polls wait until nothing newer than the synced state is written: a poll never lists an unsynced message", () => {
  const t = setup({}, true);
  try {
    const a = enter(t, ALICE, "alice", true);
    const b = enter(t, BOB, "bob", false);
    t.say(BOB, "request", "p1", b, "r", "0", 20000);
    settle(t);
    assert.is(t.port.heldPolls, 1);
    t.events.length = 0;
    const committed = t.committed.length;
    t.say(ALICE, "add", "m1", a, "one", "r");
    t.clock.runSoon();
    t.say(ALICE, "add", "m2", a, "two", "r");
    t.clock.runSoon();
    t.endSync(); // m1 on disk, m2 written (open batch): m2's batch commits, its sync starts
    assert.equal(heads(t.events), ["sync", "40001 ok|m1", "sync"]);
    assert.is(t.port.heldPolls, 1, "the poll waits: m2 is committed, not synced");
    assert.is(t.committed.length, committed, "no subscriber ran");
    const before = t.store.vector().get("a")!;
    t.say(ALICE, "add", "m3", a, "three", "r");
    t.clock.runSoon();
    assert.is(t.store.vector().get("a"), before, "m3 waits (queued): the subscribers must read nothing newer than m2");
    t.endSync(); // m2 on disk, nothing newer written: subscribers run, then m3 (queued) runs
    const poll = t.events.find((e) => e.startsWith("40002 poll"));
    assert.ok(poll, "the poll was answered");
    assert.match(poll!, /\|one\|/);
    assert.match(poll!, /\|two\|/);
    assert.not.match(poll!, /three/, "m3 ran only after the subscribers");
    assert.is(t.committed.length, committed + 1, "one news for the two commits");
    assert.equal(t.committed.at(-1)!.localOps.map((o) => (o as { msg?: string }).msg), ["one", "two"]);
    assert.is(t.store.vector().get("a"), before + 1, "m3 ran after them, in a batch of its own");
    assert.equal(heads(t.events).slice(3), ["40001 ok|m2", "40002 poll|p1"], "m2's reply, then the poll; m3 waits for its commit");
    settle(t);
    assert.match(t.events.at(-1)!, /^40001 ok\|m3\|/);
  } finally {
    t.close();
  }
});

test("the high-water mark is the synced commit's seq, not the next batch's", () => {
  const t = setup({}, true);
  try {
    const a = enter(t, ALICE, "alice", true);
    t.say(ALICE, "add", "m1", a, "one", "r");
    t.clock.runSoon();
    const synced = t.store.vector().get("a")!;
    t.say(ALICE, "add", "m2", a, "two", "r");
    t.clock.runSoon();
    assert.is(t.store.vector().get("a"), synced + 1, "m2 is written");
    t.endSync();
    assert.equal(t.store.readHighWater(), { origin: "a", seq: synced });
    t.endSync();
    assert.equal(t.store.readHighWater(), { origin: "a", seq: synced + 1 });
  } finally {
    t.close();
  }
});

test("a failed sync stops the server once and sends nothing of that commit", () => {
  const t = setup({}, true);
  try {
    t.say(ALICE, "login", "l1", "alice");
    t.clock.runSoon();
    t.endSync(new Error("EIO: i/o error, fsync"));
    assert.equal(t.events, ["sync"]);
    assert.equal(t.fatal, ["database sync failed: EIO: i/o error, fsync"]);
    assert.ok(t.commit.failed);
  } finally {
    t.close();
  }
});

test("close() waits for a running sync in place, then commits and syncs what is open", () => {
  const t = setup({}, true);
  const a = enter(t, ALICE, "alice", true);
  t.events.length = 0;
  t.say(ALICE, "add", "m1", a, "one", "r");
  t.clock.runSoon();
  t.say(ALICE, "add", "m2", a, "two", "r");
  t.clock.runSoon();
  t.close();
  assert.equal(heads(t.events), ["sync", "sync", "40001 ok|m1", "sync", "40001 ok|m2"], "m1's sync redone in place, then m2's");
  assert.ok(t.endSync(new Error("late")), "the pool's answer to m1's first sync comes after the close");
  assert.equal(t.fatal, [], "and is ignored");
});

test.run();
