/**
 * Held long polls on an injected clock (no sleeps): found by key and room,
 * expired through the deadline heap in deadline order, one timer at a time.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Held, HeldPolls, type Waiter } from "../lib/server/held_polls.ts";
import { ManualClock } from "../testing/manual_clock.ts";

const FROM = { host: "127.0.0.1", port: 5000 };
const VIA = { name: "", proven: false, send() {} };

function waiter(key: string, room: string, deadline: number): Waiter {
  return { key, tag: key, session: "s", groupName: room, cursor: new Map(), deadline };
}

test("due polls come out in deadline order when their timer fires, and only they", () => {
  const clock = new ManualClock(1000);
  const due: Held[][] = [];
  const polls = new HeldPolls(clock, () => due.push(polls.takeDue(clock.now())));
  polls.hold(waiter("c", "r", 1300), FROM, VIA);
  polls.hold(waiter("a", "r", 1100), FROM, VIA);
  polls.hold(waiter("b", "R", 1200), FROM, VIA);
  assert.is(polls.size, 3);
  assert.is(clock.pending, 1, "one timer, for the earliest deadline");
  clock.advance(99);
  assert.equal(due, []);
  clock.advance(2);
  assert.equal(due.map((d) => d.map((h) => h.key)), [["a"]]);
  clock.advance(300);
  assert.equal(due.map((d) => d.map((h) => h.key)), [["a"], ["b"], ["c"]]);
  assert.is(polls.size, 0);
  assert.is(clock.pending, 0);
});

test("released and replaced polls never expire; rooms fold case", () => {
  const clock = new ManualClock(0);
  const taken: string[] = [];
  const polls = new HeldPolls(clock, () => taken.push(...polls.takeDue(clock.now()).map((h) => h.key)));
  polls.hold(waiter("a", "Lobby", 100), FROM, VIA);
  polls.hold(waiter("b", "lobby", 200), FROM, VIA);
  assert.equal(polls.inRoom("lobby").map((h) => h.key).sort(), ["a", "b"]);
  polls.release(polls.get("a")!);
  polls.hold(waiter("b", "lobby", 500), FROM, VIA); // a retransmission held anew
  clock.advance(400);
  assert.equal(taken, []);
  assert.equal(polls.inRoom("lobby").map((h) => h.key), ["b"]);
  clock.advance(101);
  assert.equal(taken, ["b"]);
  assert.equal(polls.inRoom("lobby"), []);
});

test("100,000 held, 10 due: exactly those expire, through the heap", () => {
  const clock = new ManualClock(0);
  let n = 0;
  const polls = new HeldPolls(clock, () => (n += polls.takeDue(clock.now()).length));
  for (let i = 0; i < 100_000; i++) polls.hold(waiter(`k${i}`, `r${i % 50}`, i < 10 ? 10 : 1_000_000 + i), FROM, VIA);
  clock.advance(11);
  assert.is(n, 10);
  assert.is(polls.size, 99_990);
  polls.clear();
  assert.is(clock.pending, 0);
});

test.run();
