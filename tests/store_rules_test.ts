/**
 * The conflict rules of lib/rules/conflict.ts, on their own (no database):
 * keys, liveness, name settlement, room names and twin messages.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { byKey, type Claim, follows, isLive, keyLess, opensFirst, opKey, remoteSlack, settle, visibleTwin } from "../lib/rules/conflict.ts";
import { fromEntries } from "../lib/wire/vector.ts";

const T0 = 1_700_000_000_000;

test("opKey sums the full timestamp; keyLess orders by sum, then origin", () => {
  assert.equal(opKey({ origin: "b", seq: 3, deps: fromEntries([["a", 4], ["b", 99]]) }), [7, "b"]);
  assert.ok(keyLess([1, "z"], [2, "a"]));
  assert.ok(keyLess([2, "a"], [2, "b"]));
  assert.not.ok(keyLess([2, "b"], [2, "b"]));
  assert.equal(byKey([{ ksum: 2, korigin: "a" }, { ksum: 1, korigin: "c" }, { ksum: 2, korigin: "0" }]), [
    { ksum: 1, korigin: "c" },
    { ksum: 2, korigin: "0" },
    { ksum: 2, korigin: "a" },
  ]);
});

test("isLive: ttl after local activity, ttl + slack after remote activity, never once ended", () => {
  const s = { ended: false, ttl: 60, lastActive: T0, remoteActive: 0 };
  assert.ok(isLive(s, T0 + 60_000));
  assert.not.ok(isLive(s, T0 + 60_001));
  const remote = { ...s, remoteActive: T0 };
  assert.is(remoteSlack(60), 7000);
  assert.ok(isLive(remote, T0 + 67_000));
  assert.not.ok(isLive(remote, T0 + 67_001));
  assert.not.ok(isLive({ ...s, ended: true }, T0));
});

const claim = (id: string, ksum: number, born: number, seen: [string, number][] = []): Claim => ({
  id,
  ksum,
  korigin: "a",
  born,
  seen: () => fromEntries(seen),
});

test("follows: a claim that saw the holder's logout, or came after it expired", () => {
  const holder = { logouts: ["b.7"], lastActive: T0, ttl: 60 };
  assert.ok(follows(claim("x", 9, T0, [["b", 7]]), holder));
  assert.not.ok(follows(claim("x", 9, T0, [["b", 6]]), holder));
  assert.not.ok(follows(claim("x", 9, T0 + 60_000), { ...holder, logouts: [] }));
  assert.ok(follows(claim("x", 9, T0 + 60_001), { ...holder, logouts: [] }));
});

test("settle: the first claim holds; later ones lose unless they follow the holder", () => {
  const holders = new Map([
    ["1", { logouts: [], lastActive: T0, ttl: 60 }],
    ["2", { logouts: [], lastActive: T0 + 1, ttl: 60 }],
    ["3", { logouts: [], lastActive: T0 + 70_000, ttl: 60 }],
  ]);
  const claims = [claim("1", 1, T0), claim("2", 2, T0 + 1), claim("3", 3, T0 + 61_000)];
  const r = settle(claims, (c) => holders.get(c.id)!);
  assert.is(r.holder?.id, "3");
  assert.equal(r.losers.map((c) => c.id), ["2"]);
  assert.is(settle([], () => holders.get("1")!).holder, null);
});

test("room names: the smaller key's open names the room; twins: the smaller key stays visible", () => {
  assert.ok(opensFirst([1, "b"], [2, "a"]));
  assert.not.ok(opensFirst([2, "b"], [2, "a"]));
  assert.is(visibleTwin([3, "a"], [3, "b"]), "new");
  assert.is(visibleTwin([3, "b"], [3, "a"]), "old");
});

test.run();
