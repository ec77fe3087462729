import { test } from "uvu";
import * as assert from "uvu/assert";
import { advance, covers, EMPTY, formatVector, fromEntries, get, merge, sum } from "../lib/wire/vector.ts";

test("formats sorted, drops zeros, empty is 0", () => {
  assert.is(formatVector(fromEntries([["b", 2], ["a", 1], ["c", 0]])), "a=1,b=2");
  assert.is(formatVector(EMPTY), "0");
});

test("merge is the component-wise max and covers both", () => {
  const a = fromEntries([["a", 3], ["b", 1]]);
  const b = fromEntries([["b", 4], ["c", 2]]);
  const m = merge(a, b);
  assert.is(formatVector(m), "a=3,b=4,c=2");
  assert.ok(covers(m, a) && covers(m, b));
  assert.not.ok(covers(a, b));
});

test("advance only raises; sum and get", () => {
  const a = fromEntries([["a", 3]]);
  assert.is(advance(a, "a", 2), a);
  assert.is(get(advance(a, "z", 5), "z"), 5);
  assert.is(sum(fromEntries([["a", 3], ["b", 4]])), 7);
});

test.run();
