/**
 * Issue 27, a restarted server's listings: the ack rule (lib/acks/confirm.ts)
 * counts a confirmer's `got` only once this server has delivered that
 * confirmer's own ops up to it. A server catching up with a busy confirmer
 * (it makes ops all the time, each `got` names its newest) lags every new
 * `got`; it used to read only the last one and so waited — acks and stable
 * delivery alike — for a `got` that came after it had caught up. It now uses
 * the newest `got` it can (PeerLiveness.usableGot), and still never one whose
 * own ops it has not delivered. Pure, simulated time.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { HeldAcks } from "../lib/acks/confirm.ts";
import { LIVENESS, PeerLiveness } from "../lib/acks/liveness.ts";
import { fromEntries, type Vector } from "../lib/wire/vector.ts";

const T0 = 1_000_000;
const copy = (origin: string, seq: number) => ({ origin, seq, conf: "b" });
const v = (entries: Record<string, number>): Vector => fromEntries(Object.entries(entries));

function setup() {
  const liveness = new PeerLiveness();
  const acks = new HeldAcks({ self: "a", liveness, started: T0 });
  return { liveness, acks };
}

test("an older got whose own ops are delivered here counts when a newer one is still ahead", () => {
  const { liveness, acks } = setup();
  liveness.got("b", v({ "b~1": 3, c: 7 }), T0 + 10, T0 + 10); // b's own ops up to 3: delivered here
  liveness.got("b", v({ "b~1": 6, c: 8 }), T0 + 20, T0 + 20); // b made more ops since: not yet here
  const mine = v({ "b~1": 3, c: 8 });
  assert.ok(acks.confirmed(copy("c", 7), mine, T0 + 30), "c.7 is covered by the usable got");
  assert.not.ok(acks.confirmed(copy("c", 8), mine, T0 + 30), "c.8 only by the one whose own ops are not delivered");
  // Once b's own ops up to 6 are delivered, the newer got counts.
  assert.ok(acks.confirmed(copy("c", 8), v({ "b~1": 6, c: 8 }), T0 + 40));
});

test("the usable got is checked when the ack rule reads it, not when it came", () => {
  const { liveness, acks } = setup();
  liveness.got("b", v({ "b~1": 3, c: 7 }), T0, T0);
  liveness.got("b", v({ "b~1": 6, c: 8 }), T0 + 5, T0 + 5);
  // Nothing of b delivered yet: no word at all.
  assert.not.ok(acks.confirmed(copy("c", 7), v({ c: 8 }), T0 + 10));
  // b's ops up to 3 arrive (catch-up): the older got counts now, with no new got.
  assert.ok(acks.confirmed(copy("c", 7), v({ "b~1": 3, c: 8 }), T0 + 20));
  assert.not.ok(acks.confirmed(copy("c", 8), v({ "b~1": 5, c: 8 }), T0 + 20));
});

test("gots out of order: the greatest usable one counts", () => {
  const { liveness, acks } = setup();
  liveness.got("b", v({ "b~1": 4, c: 9 }), T0, T0);
  liveness.got("b", v({ "b~1": 2, c: 5 }), T0 + 1, T0 + 1); // an older datagram, late
  assert.ok(acks.confirmed(copy("c", 9), v({ "b~1": 4, c: 9 }), T0 + 2));
});

test("due() releases a held ack on an older usable got", () => {
  const { liveness, acks } = setup();
  const c7 = copy("c", 7);
  acks.hold("k", { session: "s", tag: "t", copy: c7, until: T0 + 10_000, data: "release" });
  liveness.got("b", v({ "b~1": 3, c: 7 }), T0 + 10, T0 + 10);
  liveness.got("b", v({ "b~1": 6, c: 7 }), T0 + 20, T0 + 20);
  const out = acks.due(T0 + 30, v({ "b~1": 3, c: 7 }), () => c7);
  assert.equal(out.map((h) => h.data), ["release"]);
});

test("waiting gots are bounded; the oldest (first usable) are kept", () => {
  const { liveness, acks } = setup();
  for (let i = 1; i <= LIVENESS.maxWaitingGots + 20; i++) liveness.got("b", v({ "b~1": i, c: i }), T0 + i, T0 + i);
  assert.ok(acks.confirmed(copy("c", 1), v({ "b~1": 1 }), T0 + 100));
  assert.ok(acks.confirmed(copy("c", 36), v({ "b~1": 36 }), T0 + 100), "the newest is kept too");
});

test("a got below the word kept (the peer lost its disk) drops the word: its old got no longer counts", () => {
  const { liveness, acks } = setup();
  liveness.got("b", v({ "b~1": 4, c: 9 }), T0, T0);
  const mine = v({ "b~1": 4, c: 9 });
  assert.ok(acks.confirmed(copy("c", 9), mine, T0 + 1), "the word is in");
  liveness.got("b", v({ "b~2": 1, c: 3 }), T0 + 2, T0 + 2); // b back on an empty disk, a new incarnation
  assert.not.ok(acks.confirmed(copy("c", 9), v({ "b~1": 4, "b~2": 1, c: 9 }), T0 + 3), "c.9 is no longer on b's disk");
  assert.ok(acks.confirmed(copy("c", 3), v({ "b~1": 4, "b~2": 1, c: 9 }), T0 + 3), "what b says now counts");
});

test.run();
