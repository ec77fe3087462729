/**
 * lib/store/settling.ts: a held room is woken (`take`) once a copy its
 * listing found not settled is settled — not after every commit and `got`
 * while nothing it waits on changed — and on every `take` when what it
 * waits on is not known.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Settling } from "../lib/store/settling.ts";

/** A Settling whose rule says settled exactly the copies in `settled` ("origin.seq"). */
function settlingOf(settled: Set<string>): Settling {
  const s = new Settling();
  s.rule = () => (origin, seq) => settled.has(`${origin}.${seq}`);
  return s;
}

test("a held room is woken once a copy it waits on settles, and only then", () => {
  const settled = new Set<string>();
  const s = settlingOf(settled);
  const t = s.test();
  assert.not.ok(t("a", 3, "b"));
  s.held("lobby", t);
  assert.ok(s.waiting);
  assert.equal([...s.take()], [], "nothing settled: not read again");
  assert.equal([...s.take()], []);
  settled.add("a.9");
  assert.equal([...s.take()], [], "another copy settled");
  settled.add("a.3");
  assert.equal([...s.take()], ["lobby"]);
  assert.not.ok(s.waiting, "taken: no longer held");
});

test("listings of one room add up what it waits on; each test's failures go to its own held", () => {
  const settled = new Set<string>();
  const s = settlingOf(settled);
  const t1 = s.test(), t2 = s.test();
  t1("a", 1, "b");
  t2("c", 7, "a");
  s.held("r2", t2);
  s.held("r1", t1);
  settled.add("c.7");
  assert.equal([...s.take()], ["r2"], "r1 waits on a.1 alone");
  const t3 = s.test();
  t3("b", 2, "c");
  s.held("r1", t3);
  settled.add("b.2");
  assert.equal([...s.take()], ["r1"], "r1 now waits on a.1 or b.2");
});

test("not known what a room waits on: woken at every take", () => {
  const s = settlingOf(new Set());
  s.held("x");
  assert.equal([...s.take()], ["x"], "no test");
  const t = s.test();
  s.held("y", t);
  assert.equal([...s.take()], ["y"], "its test found every copy settled (a hidden copy without a visible twin)");
  const t2 = s.test();
  for (let i = 1; i <= 70; i++) t2("a", i, "b");
  s.held("z", t2);
  assert.equal([...s.take()], ["z"], "past 64 copies");
});

test("without a rule every copy is settled and nothing is held", () => {
  const s = new Settling();
  assert.ok(s.test()("a", 1, "b"));
  assert.equal([...s.take()], []);
});

test.run();
