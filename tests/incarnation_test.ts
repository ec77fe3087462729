/**
 * lib/rules/incarnation.ts on its own: when a server keeps its origin and
 * when it must write under a new incarnation so that no op id is reused.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chooseOrigin, incarnationTime, newIncarnation, type OriginFacts, serverOf } from "../lib/rules/incarnation.ts";
import { fromEntries } from "../lib/wire/vector.ts";

const NOW = 1_733_100_000_000;
const v = (...pairs: [string, number][]) => fromEntries(pairs);
const facts = (f: Partial<OriginFacts>): OriginFacts => ({
  id: "a",
  stored: "a",
  local: v(["a", 9], ["b", 4]),
  hwm: { origin: "a", seq: 9 },
  peers: [],
  allPeersHeard: false,
  newCluster: false,
  now: NOW,
  ...f,
});
const fresh = (origin: string) => origin.startsWith("a~") && incarnationTime(origin) >= NOW;

test("an intact database keeps its origin when every peer answered and none has more", () => {
  const heard = { allPeersHeard: true };
  assert.equal(chooseOrigin(facts({ ...heard, peers: [v(["a", 9], ["b", 5])] })), { origin: "a", reason: null });
  assert.equal(chooseOrigin(facts({ ...heard, hwm: null })), { origin: "a", reason: null });
  const later = facts({ ...heard, stored: "a~zz", local: v(["a", 9], ["a~zz", 3]), hwm: { origin: "a~zz", seq: 3 }, peers: [v(["a", 9])] });
  assert.equal(chooseOrigin(later), { origin: "a~zz", reason: null });
});

test("files restored together look current to themselves: without every peer's word, a new incarnation", () => {
  // The database and its high-water mark from one old copy agree (a.9), the peers that have a.10… are down.
  for (const peers of [[], [v(["a", 9])]]) {
    const c = chooseOrigin(facts({ peers, allPeersHeard: false }));
    assert.ok(fresh(c.origin), c.origin);
    assert.match(c.reason ?? "", /not every peer answered/);
  }
});

test("a database behind its own high-water mark is an older copy: new incarnation", () => {
  const c = chooseOrigin(facts({ local: v(["a", 5]), hwm: { origin: "a", seq: 9 } }));
  assert.ok(fresh(c.origin), c.origin);
  assert.match(c.reason ?? "", /older than its own high-water mark/);
});

test("a peer that has more of our origin, or a later incarnation of us: new incarnation", () => {
  const more = chooseOrigin(facts({ peers: [v(["a", 12])] }));
  assert.ok(fresh(more.origin));
  assert.match(more.reason ?? "", /a peer has a\.12/);
  const later = chooseOrigin(facts({ peers: [v(["a", 9], ["a~zzzzzzzz", 2])] }));
  assert.match(later.reason ?? "", /later incarnation a~zzzzzzzz/);
  assert.ok(incarnationTime(later.origin) > incarnationTime("a~zzzzzzzz"), "newer than every one known");
});

test("a new database: plain id only when nobody has our ops and every peer said so (or --new-cluster)", () => {
  const base = { stored: null, local: v(), hwm: null };
  assert.equal(chooseOrigin(facts({ ...base, allPeersHeard: true, peers: [v(["b", 3])] })).origin, "a");
  assert.equal(chooseOrigin(facts({ ...base, newCluster: true })).origin, "a");
  assert.ok(fresh(chooseOrigin(facts({ ...base, peers: [v(["b", 3])] })).origin), "a peer did not answer");
  const known = chooseOrigin(facts({ ...base, allPeersHeard: true, newCluster: true, peers: [v(["a", 7])] }));
  assert.ok(fresh(known.origin), "peers have ops of ours: the disk was replaced, whatever the flag says");
  assert.match(known.reason ?? "", /the peers know ops of this server/);
});

test("incarnation names are new, later than any known, and belong to their server", () => {
  const taken = new Set(["a", `a~${(NOW + 5).toString(36)}`]);
  const n = newIncarnation("a", NOW, taken);
  assert.ok(!taken.has(n));
  assert.is(incarnationTime(n), NOW + 6);
  assert.is(serverOf(n), "a");
  assert.is(serverOf("b"), "b");
  assert.match(n, /^a~[0-9a-z]{1,12}$/);
});

test.run();
