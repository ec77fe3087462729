/**
 * Issue 27, the chaos run's last slow listings: a server that starts while a
 * confirmer is down cannot know how long that confirmer has been silent, so
 * by its own hearing it counts it down only LIVENESS.confirmerDownMs (1.5 s)
 * after its start — and until then lists none of the copies naming it that
 * its peers, up all along, list already (stand-in acks and stable delivery:
 * docs/ARCHITECTURE.md "A confirmer that dies"). Since peer protocol
 * version 4 a `got` says which peers its sender has not heard from for 1.5 s
 * and for how long (`silent`), and a server that has not heard a confirmer
 * since its start takes the longest silence told (PeerLiveness.quietFor).
 * Pure rule tests, then the whole cluster in simulated time
 * (testing/memory_cluster.ts): the restarted server lists the copy at once
 * with its peers' word, and waits its own 1.5 s when the peers are of
 * version 3 (a cluster being upgraded), as before.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { HeldAcks } from "../lib/acks/confirm.ts";
import { LIVENESS, PeerLiveness } from "../lib/acks/liveness.ts";
import { createPeerVersions, SILENT_VERSION } from "../lib/replication/peer_versions.ts";
import type { Request } from "../lib/wire/messages.ts";
import { peerFits } from "../lib/wire/codec.ts";
import { EMPTY, fromEntries, type Vector } from "../lib/wire/vector.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";

const T0 = 1_000_000;
const DOWN = LIVENESS.confirmerDownMs;
const v = (entries: Record<string, number>): Vector => fromEntries(Object.entries(entries));
/** a's message 5, naming b its confirmer: held at c, a server that just started (c is not its origin: c's disk is the second). */
const copy = { origin: "a", seq: 5, conf: "b" };
const mine = v({ a: 5 });

function startedAtT0() {
  const liveness = new PeerLiveness();
  const acks = new HeldAcks({ self: "c", liveness, started: T0 });
  return { liveness, acks };
}

test("rule: a peer's word that the confirmer has been silent for 1.5 s lets a server just started count it down at once", () => {
  const { liveness, acks } = startedAtT0();
  assert.not.ok(acks.confirmed(copy, mine, T0 + 50), "no word yet: c's own 1.5 s from its start");
  liveness.got("d", v({ a: 5 }), T0 + 60, T0 + 60);
  liveness.told("d", v({ b: DOWN + 400 }), T0 + 60);
  assert.ok(acks.confirmed(copy, mine, T0 + 61), "d has not heard b for 1.9 s: down here too, the copy on c's disk and a's");
  assert.is(liveness.quietFor("b", T0 + 100, T0), DOWN + 400 + 40);
  // A held ack is released the same way.
  acks.hold("k", { session: "s", tag: "t", copy, until: T0 + 60_000, data: "release" });
  assert.equal(acks.due(T0 + 70, mine, () => copy).map((h) => h.data), ["release"]);
});

test("rule: no word (a got without `silent`: none silent, or a peer of version 3) — today's rule, 1.5 s from the start", () => {
  const { liveness, acks } = startedAtT0();
  liveness.got("d", v({ a: 5 }), T0 + 60, T0 + 60);
  liveness.told("d", EMPTY, T0 + 60);
  assert.not.ok(acks.confirmed(copy, mine, T0 + DOWN - 1));
  assert.ok(acks.confirmed(copy, mine, T0 + DOWN), "down by c's own hearing, as before");
});

test("rule: a silence shorter than 1.5 s is no word (the teller does not count it down itself)", () => {
  const { liveness, acks } = startedAtT0();
  liveness.told("d", v({ b: DOWN - 1 }), T0 + 60);
  assert.not.ok(acks.confirmed(copy, mine, T0 + 1000));
  assert.is(liveness.quietFor("b", T0 + 1000, T0), 1000);
});

test("rule: a confirmer heard here since the start is judged by this server's own hearing, whatever it is told", () => {
  const { liveness, acks } = startedAtT0();
  liveness.heard("b", T0 + 100);
  liveness.told("d", v({ b: 10_000 }), T0 + 200);
  assert.not.ok(acks.confirmed(copy, mine, T0 + 300), "b spoke to c 200 ms ago");
  assert.ok(acks.confirmed(copy, mine, T0 + 100 + DOWN), "1.5 s after c last heard it");
});

test("rule: a teller's next got replaces its word — without `silent` (it heard the confirmer again) the word is void", () => {
  const { liveness, acks } = startedAtT0();
  liveness.told("d", v({ b: 2000 }), T0 + 60);
  assert.ok(acks.confirmed(copy, mine, T0 + 70));
  liveness.told("d", EMPTY, T0 + 310);
  assert.not.ok(acks.confirmed(copy, mine, T0 + 320), "d heard b again");
  // The longest silence of those told counts; a teller's word about itself is none.
  liveness.told("e", v({ b: 1600, e: 9000 }), T0 + 400);
  liveness.told("a", v({ b: 1700 }), T0 + 400);
  assert.is(liveness.quietFor("b", T0 + 400, T0), 1700);
  assert.is(liveness.quietFor("e", T0 + 400, T0), 400);
});

test("what a server tells: its own hearing of each peer, from its start when never heard, only silences of 1.5 s or more", () => {
  const liveness = new PeerLiveness();
  liveness.heard("b", T0 + 100);
  liveness.heard("d", T0 + 1900);
  liveness.told("e", v({ a: 50_000 }), T0 + 1900); // words it was told are not passed on
  assert.equal(liveness.silences(["a", "b", "d"], T0 + 2000.7, T0), v({ a: 2000, b: 1900 }));
  assert.equal(liveness.silences(["a", "b", "d"], T0 + 1000, T0), EMPTY);
});

test("rule: a confirmer's last got passed on by a peer counts as its got, once this server has its own ops up to it — and only while it has not heard the confirmer itself", () => {
  const { liveness, acks } = startedAtT0();
  liveness.gotOf("b", v({ a: 5, b: 3 }));
  assert.not.ok(acks.confirmed(copy, mine, T0 + 10), "b's own ops up to 3 not delivered here yet");
  assert.ok(acks.confirmed(copy, v({ a: 5, b: 3 }), T0 + 20), "b's word, through d");
  const later = startedAtT0();
  later.liveness.heard("b", T0 + 5);
  later.liveness.gotOf("b", v({ a: 5, b: 3 }));
  assert.not.ok(later.acks.confirmed(copy, v({ a: 5, b: 3 }), T0 + 20), "b heard since the start: only its own got counts");
});

test("what a server passes on: the last got of each peer silent for 0.5 s and less than 3 s", () => {
  const liveness = new PeerLiveness();
  liveness.got("b", v({ a: 1 }), T0, T0);
  liveness.got("d", v({ a: 2 }), T0 + 600, T0 + 600);
  liveness.got("e", v({ a: 3 }), T0 - 5000, T0 - 5000);
  liveness.heard("a", T0);
  assert.equal([...liveness.gotsOf(["a", "b", "d", "e"], T0 + 700)], [["b", v({ a: 1 })]], "a sent no got, d spoke 100 ms ago, e is down (silent says so)");
});

test("a fan-out carries the words only where they fit: peerFits counts the longest nonce and a mac", () => {
  const op = { origin: "a", seq: 1, kind: "msg" as const, deps: EMPTY, at: 1, session: "0".repeat(64), tag: "t", groupName: "r", userName: "bob", msg: "x".repeat(2000) };
  const full = { verb: "add" as const, from: "a", nonce: "-", vector: v({ a: 4 }), ops: [1, 2, 3].map((seq) => ({ ...op, seq })), got: 1 };
  assert.ok(peerFits(full), "3 ops of 2,000 bytes fit");
  const gotsOf = new Map(["b", "c", "d", "e"].map((id) => [id, v(Object.fromEntries([...Array(25)].map((_, i) => [`server${i}`, 1e15])))]));
  assert.not.ok(peerFits({ ...full, silent: v({ b: 1600 }), gotsOf }), "…not with four 25-server vectors more");
});

test("versions: `silent` is sent to a peer only when both speak version 4", () => {
  const now = createPeerVersions();
  now.set("b", 4, 0);
  now.set("c", 3, 0);
  assert.ok(now.reads("b", SILENT_VERSION));
  assert.not.ok(now.reads("c", SILENT_VERSION), "c proved 3");
  assert.not.ok(now.reads("d", SILENT_VERSION), "d not proved yet");
  const old = createPeerVersions(3);
  old.set("b", 4, 0);
  assert.not.ok(old.reads("b", SILENT_VERSION), "a server of version 3 sends none");
});

// --- The whole cluster, simulated time ------------------------------------------------------

const add = (token: string, tag: string, msg: string): Request => ({ verb: "add", tag, token, groupName: "r", msg });

/** What a reader at server `id` may be shown of room `r`: settled copies only ("origin.seq text"). */
function settledListing(c: MemoryCluster, id: string): string[] {
  const store = c.node(id).store;
  return [...store.messages.uncovered("r", EMPTY, store.vector().keys(), false, store.settling)].map((m) => `${m.origin}.${m.seq} ${m.msg}`);
}

type Step = (c: MemoryCluster, token: string) => Promise<void>;

/**
 * Five servers, c killed; `faults` adds a's line and the faults; then c is
 * started again, `atStart` run right after its launch: ms from its start
 * until its readers are shown the line.
 */
async function shownAfterRestart(versions: Record<string, number> | undefined, faults: Step, atStart: Step): Promise<number> {
  const c = await memoryCluster({ ids: ["a", "b", "c", "d", "e"], versions });
  try {
    const token = c.loginAndOpen("a", "bob", "r");
    c.run(2000); // the version handshakes
    await c.kill("c");
    c.run(500);
    await faults(c, token);
    const started = c.clock.now();
    let shownAt: number | null = null;
    const stopWatch = c.clock.every(5, () => void (shownAt ??= settledListing(c, "c").length > 0 ? c.clock.now() : null));
    const starting = c.launch("c");
    await atStart(c, token);
    // Its start waits PEER_WAIT_MS for silent b; reads and settling go on meanwhile.
    for (let t = 0; t < 3000; t += 5) {
      c.clock.advance(5);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await starting;
    stopWatch();
    assert.ok(shownAt !== null, "c lists the line in the end");
    return shownAt! - started;
  } finally {
    c.close();
  }
}

/** b killed right after a stored a copy naming b: b never gets it; every live server lists it once b has been silent 1.5 s. */
const confirmerDown: Step = async (c, token) => {
  await c.kill("b"); // a heard b a moment ago: a's copy names b
  c.send("a", add(token, "t1", "held line"));
  c.run(DOWN + 500);
  for (const id of ["a", "d", "e"]) assert.equal(settledListing(c, id).length, 1, `${id} lists the copy on the stand-in rule`);
};

/** a's copy naming b is stored and confirmed by b (its `got` reaches a, d and e, not c). */
const confirmed: Step = async (c, token) => {
  c.send("a", add(token, "t1", "confirmed line"));
  c.run(300);
  assert.is(c.reply("t1")?.verb, "ok", "acked on b's got");
};

const nothing: Step = async () => {};
/** b is killed as c starts, before c's first datagram reaches it: c never hears b. */
const confirmerDies: Step = async (c) => await c.kill("b");

const CASES: [string, Step, Step][] = [
  ["c restarted while confirmer b has been down 2 s lists b's copy on its peers' word", confirmerDown, nothing],
  ["c restarted as confirmer b dies lists b's confirmed copy on b's last got, passed on by its peers", confirmed, confirmerDies],
];
for (const [name, faults, atStart] of CASES) {
  test(`cluster: ${name}, before its own 1.5 s; with peers of version 3 (no word), after it, as before`, async () => {
    const ms = await shownAfterRestart(undefined, faults, atStart);
    assert.ok(ms < DOWN - 500, `shown ${ms} ms after c's start`);
    const old = await shownAfterRestart({ a: 3, b: 3, d: 3, e: 3 }, faults, atStart);
    assert.ok(old >= DOWN, `version 3: shown ${old} ms after c's start`);
  });
}

test.after(removeTempDirs);
test.run();
