/**
 * The incremental folds (lib/store/_fold_cache.ts with lib/moderation/rules.ts
 * `foldMod` and lib/accounts/ledger.ts `foldAccount`): whatever order ops
 * arrive in, and whenever the state is read, it equals the full fold of the
 * ops that arrived (fast-check: a failure prints its seed). And a room's new
 * ops, each sorting after the last, are folded without reading the room again.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { ACCOUNT_ACTIONS, MOD_ACTIONS } from "../lib/wire/messages.ts";
import { foldMod, type ModOp, type RoomMod, settleRoom } from "../lib/moderation/rules.ts";
import { type AccountOp, foldAccount, type Ledger, settleLedger } from "../lib/accounts/ledger.ts";
import { FoldCache, lastKey } from "../lib/store/_fold_cache.ts";

const NAMES = ["owner", "Bob", "bob", "carl", "dave"];
const ORIGINS = ["a", "b", "c"];

/** Ops with distinct keys (a key names one op), in arrival order, each with a flag: read the state after it arrives. */
const arrivals = <O extends { key: readonly [number, string] }>(op: fc.Arbitrary<O>) =>
  fc.uniqueArray(fc.tuple(op, fc.boolean()), { selector: ([o]) => `${o.key[0]} ${o.key[1]}`, minLength: 1, maxLength: 40 });

const key = fc.tuple(fc.integer({ min: 1, max: 30 }), fc.constantFrom(...ORIGINS));

const modOp: fc.Arbitrary<ModOp> = fc.record({
  key,
  action: fc.constantFrom(...MOD_ACTIONS),
  actor: fc.constantFrom(...NAMES),
  target: fc.constantFrom(...NAMES, "-", "+i", "-i"),
  text: fc.constantFrom("", "why", "topic one", "topic two"),
  at: fc.nat(1000),
}, { noNullPrototype: true });

const K = (c: string) => c.repeat(43) + "=";
const VERIFIER = `c2FsdHNhbHRzYWx0 4096 ${K("A")} ${K("B")}`;
const accountOp: fc.Arbitrary<AccountOp> = fc.record({
  key,
  action: fc.constantFrom(...ACCOUNT_ACTIONS),
  // The registration a change names: one of a few ids keys may have, so that some changes apply.
  reg: fc.constantFrom("a.1", "a.2", "b.1", "b.3", "c.2"),
  good: fc.boolean(),
}).map(({ key, action, reg, good }) => ({
  id: `${key[1]}.${key[0] % 4}`,
  key,
  action,
  userName: good ? "Zed" : "zed",
  data: action === "reg" ? (good ? `${VERIFIER} -` : "junk") : action === "key" ? `${reg} ${good ? K("C") : "-"}` : action === "pass" ? `${reg} ${VERIFIER}` : reg,
}));

/**
 * Feeds `ops` in their order to a FoldCache of two entries (so entries are
 * evicted and read again now and then) and checks the state after each
 * flagged arrival against the full fold of what arrived so far.
 */
function checkFold<S, O extends { key: readonly [number, string] }>(
  steps: [O, boolean][],
  full: (ops: O[]) => S,
  step: (s: S, o: O) => S,
  show: (s: S) => unknown,
): void {
  const arrived = new Map<string, O[]>([["x", []], ["y", []]]);
  const cache = new FoldCache<S, O>({ load: (k) => ({ state: full(arrived.get(k)!), last: lastKey(arrived.get(k)!.map((o) => o.key)) }), step, max: 1 });
  steps.forEach(([op, read], i) => {
    const room = i % 3 === 2 ? "y" : "x";
    arrived.get(room)!.push(op);
    cache.applied(room, op);
    if (read) assert.equal(show(cache.get(room)), show(full(arrived.get(room)!)), `after ${i + 1} arrivals`);
  });
  for (const room of ["x", "y"]) assert.equal(show(cache.get(room)), show(full(arrived.get(room)!)));
}

/** A room's state as plain values (maps sorted), to compare. */
const roomText = (r: RoomMod) => ({
  ...r,
  ops: [...r.ops].sort(),
  bans: [...r.bans].sort(),
  invites: [...r.invites].sort(),
  kicks: [...r.kicks].sort(),
  banWhy: [...r.banWhy].sort(),
});

test("moderation: the incremental fold equals the full fold, in any arrival order, read at any time", () => {
  fc.assert(
    fc.property(arrivals(modOp), (steps) => checkFold(steps, (ops) => settleRoom(ops, "Owner"), foldMod, roomText)),
    { numRuns: 400 },
  );
});

test("accounts: the incremental fold equals the full fold, in any arrival order, read at any time", () => {
  fc.assert(
    fc.property(arrivals(accountOp), (steps) => checkFold<Ledger, AccountOp>(steps, settleLedger, foldAccount, (a) => a)),
    { numRuns: 400 },
  );
});

test("ops that sort after the last one folded are one step each; one that lands in the past reads the entry again", () => {
  const ops: ModOp[] = [];
  let loads = 0;
  const cache = new FoldCache<RoomMod, ModOp>({
    load: () => {
      loads++;
      return { state: settleRoom(ops, "owner"), last: lastKey(ops.map((o) => o.key)) };
    },
    step: foldMod,
  });
  const arrive = (op: ModOp) => {
    ops.push(op);
    cache.applied("r", op);
  };
  cache.get("r");
  for (let i = 1; i <= 1000; i++) {
    arrive({ key: [i * 2, "a"], action: "topic", actor: "owner", target: "-", text: `t${i}`, at: i });
    assert.is(cache.get("r").topic?.text, `t${i}`);
  }
  assert.is(loads, 1, "1,000 new ops in order: the room was read once");
  arrive({ key: [1, "b"], action: "op", actor: "owner", target: "bob", text: "", at: 0 }); // a concurrent op, early in the order
  assert.ok(cache.get("r").ops.has("bob"));
  assert.is(cache.get("r").topic?.text, "t1000");
  assert.is(loads, 2, "an op in the past: read again, once");
});

test.run();
