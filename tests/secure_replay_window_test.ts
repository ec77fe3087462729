/**
 * lib/secure/replay_window.ts: the RFC 6479 window at its edges, and under
 * fast-check against a model that remembers every counter (a counter is
 * accepted once; above the top always; at or beyond `span` below the top
 * never).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ReplayWindow } from "../lib/secure/replay_window.ts";

test("a fresh window takes 0 and any counter; each once", () => {
  const w = new ReplayWindow(64);
  assert.is(w.top, -1);
  assert.is(w.check(0), "ok");
  w.accept(0);
  assert.is(w.check(0), "replay");
  assert.is(w.check(1), "ok");
  assert.is(w.span, 32);
});

test("edges: span − 1 below the top is judged, span below is stale", () => {
  for (const size of [64, 1024, 4096]) {
    const w = new ReplayWindow(size);
    const top = 10 * size + 17;
    w.accept(top);
    assert.is(w.check(top - (w.span - 1)), "ok", `size ${size}: oldest in the window`);
    assert.is(w.check(top - w.span), "stale", `size ${size}: just out`);
    w.accept(top - (w.span - 1));
    assert.is(w.check(top - (w.span - 1)), "replay");
    assert.is(w.check(top + 1), "ok");
    assert.is(w.check(top), "replay");
  }
});

test("a jump far ahead forgets old bits; those counters are stale, not wrongly seen", () => {
  const w = new ReplayWindow(64);
  for (let c = 0; c < 40; c++) w.accept(c);
  w.accept(1000);
  for (let c = 0; c < 40; c++) assert.is(w.check(c), "stale");
  for (let c = 969; c < 1000; c++) assert.is(w.check(c), "ok", `${c} was never received`);
  // A jump of exactly one block boundary keeps the bits still in the window.
  const v = new ReplayWindow(64);
  v.accept(31);
  v.accept(32);
  assert.is(v.check(31), "replay");
  assert.is(v.check(1), "ok");
});

test("bad sizes are refused", () => {
  for (const s of [0, 32, 65, 100, 1.5]) assert.throws(() => new ReplayWindow(s), RangeError);
});

test("matches a model that remembers everything (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(64, 128, 1024),
      fc.array(fc.oneof(fc.nat(300), fc.integer({ min: -70, max: 70 })), { maxLength: 400 }),
      (size, steps) => {
        const w = new ReplayWindow(size);
        const seen = new Set<number>();
        let top = -1;
        for (const step of steps) {
          // Non-negative steps are absolute counters; negative ones are relative to the top.
          const c = step >= 0 && step % 2 === 0 ? step * 7 : Math.max(0, top + step);
          const expected = c > top ? "ok" : top - c >= w.span ? "stale" : seen.has(c) ? "replay" : "ok";
          assert.is(w.check(c), expected, `counter ${c}, top ${top}`);
          if (expected === "ok") {
            w.accept(c);
            seen.add(c);
            top = Math.max(top, c);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test.run();
