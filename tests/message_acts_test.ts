/**
 * The message rules (lib/rules/message_acts.ts): delete wins whatever the
 * order, the edit with the largest key wins, reactions toggle per user with
 * the largest key, read markers keep the newest message; and every arrival
 * order of the same acts gives the same state (fast-check: a failure prints its seed).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { emptyMessage, foldMessage, type MessageAct, newestMark, reactionCounts, stepMessage, unreadAfter } from "../lib/rules/message_acts.ts";
import { REACTION } from "../lib/wire/names.ts";
import type { Key } from "../lib/rules/conflict.ts";

const act = (key: Key, action: MessageAct["action"], actor = "bob", text = ""): MessageAct => ({ key, action, actor, text });

test("delete before the message's other acts: still deleted, no text, no reactions", () => {
  const m = foldMessage([act([3, "b"], "del"), act([9, "a"], "edit", "bob", "later"), act([10, "c"], "react", "carl", "👍")]);
  assert.ok(m.deleted);
  assert.is(m.edit, null);
  assert.equal(reactionCounts(m), []);
});

test("edit vs edit: the larger key wins in either order; ties of sums go by origin", () => {
  const a = act([5, "a"], "edit", "bob", "from a");
  const b = act([5, "b"], "edit", "bob", "from b");
  const c = act([4, "c"], "edit", "bob", "older");
  for (const order of [[a, b, c], [c, b, a], [b, c, a]]) assert.is(foldMessage(order).edit?.text, "from b");
});

test("edit vs delete: delete wins whichever key is larger and whichever comes first", () => {
  const e = act([7, "a"], "edit", "bob", "edited");
  const d = act([6, "b"], "del");
  assert.ok(foldMessage([e, d]).deleted);
  assert.ok(foldMessage([d, e]).deleted);
  assert.is(foldMessage([e, d]).edit, null);
});

test("reactions toggle per user and text; counts are users on", () => {
  let m = emptyMessage();
  m = stepMessage(m, act([1, "a"], "react", "bob", "👍"));
  m = stepMessage(m, act([2, "a"], "react", "Carl", "👍"));
  m = stepMessage(m, act([3, "a"], "react", "bob", "ok"));
  assert.equal(reactionCounts(m), [["ok", 1], ["👍", 2]]);
  m = stepMessage(m, act([4, "b"], "unreact", "BOB", "👍")); // names compare case-folded
  assert.equal(reactionCounts(m), [["ok", 1], ["👍", 1]]);
  // An older react arriving late does not turn it back on.
  m = stepMessage(m, act([2, "c"], "react", "bob", "👍"));
  assert.equal(reactionCounts(m), [["ok", 1], ["👍", 1]]);
});

test("read markers: the newest message wins; unread counts what comes after it", () => {
  assert.equal(newestMark([[4, "a"], [9, "b"], [9, "a"], [2, "c"]]), [9, "b"]);
  assert.is(newestMark([]), null);
  const msgs: Key[] = [[1, "a"], [5, "b"], [9, "a"], [9, "b"], [12, "a"]];
  assert.is(unreadAfter([9, "a"], msgs), 2);
  assert.is(unreadAfter(null, msgs), 5);
});

test("reaction text: short, no spaces, commas or '='", () => {
  for (const ok of ["👍", "+1", "ok", "👨‍👩‍👧", "lgtm!"]) assert.ok(REACTION.test(ok), ok);
  for (const bad of ["", "two words", "a,b", "a=b", "x".repeat(33), "\u0001"]) assert.not.ok(REACTION.test(bad), bad);
});

const key = fc.tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom("a", "b", "c"));
const anyAct: fc.Arbitrary<MessageAct> = fc.record({
  key,
  action: fc.constantFrom("del" as const, "edit" as const, "react" as const, "unreact" as const, "react" as const, "edit" as const),
  actor: fc.constantFrom("bob", "Bob", "carl"),
  text: fc.constantFrom("👍", "ok", "x"),
}, { noNullPrototype: true });

test("any arrival order of the same acts gives the same state (property)", () => {
  fc.assert(
    fc.property(fc.uniqueArray(anyAct, { selector: (a) => `${a.key[0]} ${a.key[1]}`, maxLength: 30 }), fc.nat(), (acts, seed) => {
      const shuffled = [...acts];
      let s = seed;
      for (let i = shuffled.length - 1; i > 0; i--) {
        s = (s * 1103515245 + 12345) >>> 0;
        const j = s % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      const x = foldMessage(acts);
      const y = foldMessage(shuffled);
      assert.is(y.deleted, x.deleted);
      assert.equal(y.edit, x.edit);
      assert.equal(reactionCounts(y), reactionCounts(x));
    }),
    { numRuns: 300 },
  );
});

test.run();
