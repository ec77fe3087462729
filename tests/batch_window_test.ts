/**
 * The group commit's batch window (lib/server/commit.ts): while datagrams
 * keep arriving, a batch waits up to twice what the last synced commit took
 * (2–10 ms), so a slow disk gets bigger batches; a turn with no arrival
 * commits at once. A fake store whose sync takes a set time on a hand-driven
 * clock: no disk, no sleeps.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GroupCommit } from "../lib/server/commit.ts";
import { batchWindowMs } from "../lib/server/batch_window.ts";
import type { Transactional } from "../lib/server/commit.ts";
import type { Clock } from "../lib/server/clock.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { ALICE, BOB, setup } from "./_port.ts";

test.after(() => removeTempDirs());

/** A clock whose time moves only when told, and whose `soon` queue runs one turn at a time. */
function handClock() {
  let ms = 0;
  let queue: (() => void)[] = [];
  const clock: Clock = {
    now: () => 1_700_000_000_000 + ms,
    monotonic: () => ms,
    after: () => () => {},
    every: () => () => {},
    soon: (fn) => void queue.push(fn),
  };
  return {
    clock,
    pass: (d: number) => void (ms += d),
    /** Runs the callbacks queued so far; true when there were any. */
    turn(): boolean {
      const q = queue;
      queue = [];
      for (const fn of q) fn();
      return q.length > 0;
    },
  };
}

/** A store whose synced commit takes `syncMs` of the hand clock; counts commits. */
function slowStore(pass: (ms: number) => void, syncMs: () => number) {
  const s = { commits: 0 };
  const store: Transactional = {
    begin() {},
    commit(sync) {
      s.commits++;
      if (sync) pass(syncMs());
    },
    commitUnsynced() {
      s.commits++;
    },
    syncCommitted() {
      pass(syncMs());
    },
    syncCommittedAsync(done) {
      pass(syncMs());
      done(null);
    },
    takeLocalOps: () => [],
    takeDirty: () => ({ rooms: new Set(), notices: new Set() }),
    close() {},
  };
  return Object.assign(s, { store });
}

/** `perTurn` writes per turn, each turn `stepMs` long with datagrams arriving: the ms until the batch commits. */
function openFor(h: ReturnType<typeof handClock>, commit: GroupCommit, s: { commits: number }, stepMs: number, perTurn = 8): number {
  const before = s.commits;
  commit.batch(() => {});
  let waited = 0;
  for (let i = 0; i < 1000 && s.commits === before; i++) {
    h.pass(stepMs);
    waited += stepMs;
    for (let w = 0; w < perTurn; w++) {
      commit.noteArrival();
      commit.batch(() => {});
    }
    h.turn();
  }
  while (h.turn()); // what the last turn queued
  return waited;
}

test("the window is twice the last sync, from 2 to 10 ms, for a batch of 32 writes or more; 2 ms below that", () => {
  assert.is(batchWindowMs(0), 2);
  assert.is(batchWindowMs(0.5), 2);
  assert.is(batchWindowMs(3), 6);
  assert.is(batchWindowMs(4.5, 32), 9);
  assert.is(batchWindowMs(40, 500), 10);
  assert.is(batchWindowMs(4.5, 31), 2);
  assert.is(batchWindowMs(4.5, 1), 2);
});

test("a batch waits longer for arrivals after a slow sync, 2 ms after a fast one", () => {
  let sync = 4;
  const h = handClock();
  const s = slowStore(h.pass, () => sync);
  const commit = new GroupCommit({ store: s.store, clock: h.clock });
  commit.batch(() => {});
  h.turn(); // the first commit: its sync takes 4 ms
  assert.is(s.commits, 1);
  const slow = openFor(h, commit, s, 0.5);
  assert.ok(slow >= 8 && slow <= 8.5, `after a 4 ms sync the batch stayed open ${slow} ms`);
  sync = 0.1;
  openFor(h, commit, s, 0.5); // a fast sync halves the remembered one (4 → 2, then 1, …)
  openFor(h, commit, s, 0.5);
  const fast = openFor(h, commit, s, 0.5);
  assert.ok(fast >= 2 && fast <= 2.5, `after fast syncs the batch stayed open ${fast} ms`);
});

test("a batch of few writes waits 2 ms at most, even after a slow sync (a sync is worth waiting for when many share it)", () => {
  const h = handClock();
  const s = slowStore(h.pass, () => 4);
  const commit = new GroupCommit({ store: s.store, clock: h.clock });
  commit.batch(() => {});
  h.turn();
  const few = openFor(h, commit, s, 0.5, 1);
  assert.ok(few >= 2 && few <= 2.5, `one write per turn: the batch stayed open ${few} ms`);
});

test("a turn with no arrival commits at once, whatever the window", () => {
  const h = handClock();
  const s = slowStore(h.pass, () => 5);
  const commit = new GroupCommit({ store: s.store, clock: h.clock });
  commit.batch(() => {});
  h.turn();
  let replied = false;
  commit.batch(() => {}, { after: () => (replied = true) });
  h.pass(0.1);
  h.turn();
  assert.is(s.commits, 2, "committed in the next turn");
  assert.ok(replied);
});

test("after a sync on the thread pool, a batch of 32 writes commits at the next turn though requests keep arriving; a smaller one still gathers up to 2 ms", () => {
  const h = handClock();
  const ends: (() => void)[] = [];
  let commits = 0;
  const store: Transactional = {
    begin() {},
    commit() {},
    commitUnsynced: () => void commits++,
    syncCommitted() {},
    syncCommittedAsync: (done) => void ends.push(() => done(null)), // ends when the test says
    takeLocalOps: () => [],
    takeDirty: () => ({ rooms: new Set(), notices: new Set() }),
    close() {},
  };
  const commit = new GroupCommit({ store, clock: h.clock, pipelineFrom: 2 }); // (Deno's default syncs in place)
  for (let i = 0; i < 2; i++) commit.batch(() => {});
  h.turn();
  assert.is(commits, 1);
  h.pass(5); // a slow sync, but on the pool: it held the loop for nothing
  ends.shift()!();
  const turnsUntilCommit = (writes: number) => {
    const before = commits;
    for (let i = 0; i < writes; i++) (commit.noteArrival(), commit.batch(() => {}));
    let turns = 0;
    for (; commits === before && turns < 100; turns++) {
      h.pass(0.25);
      commit.noteArrival();
      commit.batch(() => {});
      h.turn();
    }
    h.pass(5);
    ends.shift()!();
    return turns;
  };
  assert.is(turnsUntilCommit(32), 1, "a burst: committed in the next turn");
  assert.is(turnsUntilCommit(2), 8, "a few: kept open 2 ms (8 turns of 0.25 ms) while requests arrive");
});

test("datagrams that join no batch (malformed, refused) do not hold a batch open; a request that joins it does", () => {
  const t = setup();
  try {
    t.say(ALICE, "login", 1, "alice");
    t.port.onDatagram(new TextEncoder().encode("no such verb\n"), BOB, { name: "", proven: false, send: () => {} });
    t.clock.runTurn();
    assert.is(t.committed.length, 1, "the login committed in the next turn despite the garbage");
    t.say(ALICE, "login", 2, "carol");
    t.say(BOB, "login", 3, "bob");
    t.clock.runTurn();
    assert.is(t.committed.length, 1, "a turn that brought another request waits one more turn");
    t.clock.runTurn();
    assert.is(t.committed.length, 2);
    assert.equal(t.committed[1].localOps.map((o) => o.kind), ["login", "login"]);
  } finally {
    t.close();
  }
});

test.run();
