import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { advance, covers, EMPTY, formatVector, fromEntries, get, merge, sum } from "../lib/wire/vector.ts";

test("formats sorted, drops zeros, empty is 0", () => {
  assert.is(formatVector(fromEntries([["b", 2], ["a", 1], ["c", 0]])), "a=1,b=2");
  assert.is(formatVector(EMPTY), "0");
});

test("formatVector: the same text in any insertion order, zeros (in any place) dropped, as sorting the ids gives", () => {
  // The reference: the form docs/PEER_PROTOCOL.md gives, written the plain way.
  const reference = (v: ReadonlyMap<string, number>) => {
    const keys = [...v.keys()].filter((k) => (v.get(k) ?? 0) > 0).sort();
    return keys.length === 0 ? "0" : keys.map((k) => `${k}=${v.get(k)}`).join(",");
  };
  const id = fc.stringMatching(/^[a-z0-9][a-z0-9_~-]{0,5}$/);
  fc.assert(fc.property(fc.array(fc.tuple(id, fc.nat({ max: 3 })), { maxLength: 8 }), fc.boolean(), (pairs, sorted) => {
    const v = new Map(sorted ? [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) : pairs);
    assert.is(formatVector(v), reference(v));
  }), { numRuns: 2000 });
  assert.is(formatVector(new Map([["a", 1], ["b", 0], ["c", 2]])), "a=1,c=2");
  assert.is(formatVector(new Map([["b", 0], ["a", 0]])), "0");
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
