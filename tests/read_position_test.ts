/**
 * The read-position rule behind IRC's replay after failover
 * (lib/rules/read_position.ts, docs/IRC.md "Failover"): a logout's vector
 * timestamp when there is one, else the vector the dead server last told,
 * else this server's own; null when nothing is known.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readPosition } from "../lib/rules/read_position.ts";

const v = (o: Record<string, number>) => new Map(Object.entries(o));
const own = v({ a: 9, b: 9 });
const told = new Map([["a", v({ a: 4, b: 7 })]]);
const facts = { self: "b", own, peer: (id: string) => told.get(id) ?? null };

test("a logout says exactly what the session's server had", () => {
  assert.equal(readPosition({ origin: "a", logout: v({ a: 3, b: 2 }) }, facts), v({ a: 3, b: 2 }));
});

test("no logout: the vector its server (any incarnation) last told; here: ours; a server not heard: null", () => {
  assert.equal(readPosition({ origin: "a~m3k2x1c", logout: null }, facts), v({ a: 4, b: 7 }));
  assert.equal(readPosition({ origin: "b", logout: null }, facts), own);
  assert.is(readPosition({ origin: "c", logout: null }, facts), null);
  assert.is(readPosition(null, facts), null);
});

test.run();
