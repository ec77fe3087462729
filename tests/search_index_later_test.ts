/**
 * The search index during a catch-up (lib/server/housekeeping.ts
 * `indexLater`, docs/PROTOCOL.md "Search"): while the server catches up,
 * the housekeeping indexes nothing; once it has caught up, the backlog is
 * indexed a batch every 200 ms, as any backlog (never batches back to back:
 * they held a Deno server's loop for seconds); a server not catching up
 * indexes every 200 ms as before. On a manual clock
 * with a counted stand-in for the messages table.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startHousekeeping } from "../lib/server/housekeeping.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { setup } from "./_port.ts";

test.after(() => removeTempDirs());

/** A messages table with `pending` messages to index; `calls`: how many each indexPending took. */
function backlog(pending: number) {
  const calls: number[] = [];
  return {
    calls,
    get indexBehind() {
      return pending > 0;
    },
    indexPending(limit: number): number {
      const n = Math.min(limit, pending);
      pending -= n;
      calls.push(n);
      return n;
    },
  };
}

test("while catching up nothing is indexed; then the backlog goes a batch every 200 ms until none is left", () => {
  const t = setup();
  const messages = backlog(12_000);
  let catchingUp = true;
  const stop = startHousekeeping({
    clock: t.clock,
    commit: t.commit,
    store: { sessions: t.store.sessions, replies: t.store.replies, messages },
    limiters: [],
    trimHeapWhenIdle: false,
    indexLater: () => catchingUp,
  });
  try {
    t.clock.advance(1000);
    t.clock.runSoon();
    assert.equal(messages.calls, [], "nothing indexed while catching up");
    catchingUp = false;
    t.clock.advance(200);
    t.clock.runSoon();
    assert.equal(messages.calls, [5000], "one batch per 200 ms, not back to back");
    t.clock.advance(400);
    t.clock.runSoon();
    assert.equal(messages.calls, [5000, 5000, 2000]);
    assert.not.ok(messages.indexBehind);
    t.clock.advance(1000);
    t.clock.runSoon();
    assert.is(messages.calls.length, 3, "nothing more once caught up");
  } finally {
    stop();
    t.close();
  }
});

test("a server that is not catching up indexes every 200 ms; a stopped housekeeping indexes nothing more", () => {
  const t = setup();
  const messages = backlog(10_300);
  const house = (m: ReturnType<typeof backlog>) =>
    startHousekeeping({ clock: t.clock, commit: t.commit, store: { sessions: t.store.sessions, replies: t.store.replies, messages: m }, limiters: [], trimHeapWhenIdle: false });
  const stop = house(messages);
  try {
    t.clock.advance(199);
    assert.equal(messages.calls, []);
    t.clock.advance(1);
    assert.equal(messages.calls, [5000], "at 200 ms, one batch");
    t.clock.advance(400);
    assert.equal(messages.calls, [5000, 5000, 300], "a batch every 200 ms");
    stop();
    const more = backlog(10_000);
    const stopMore = house(more);
    t.clock.advance(200);
    stopMore();
    t.clock.advance(1000);
    assert.equal(more.calls, [5000], "no batch after the stop");
  } finally {
    t.close();
  }
});

test.run();
