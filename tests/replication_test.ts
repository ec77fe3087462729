import { GotSchedule } from "../lib/acks/gots.ts";
import { Ring } from "../lib/acks/ring.ts";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodePeer, opText } from "../lib/wire/codec.ts";
import type { Op, PeerDatagram } from "../lib/wire/messages.ts";
import { MAX_DATAGRAM } from "../lib/wire/messages.ts";
import { createPeerAuth } from "../lib/replication/peer_auth.ts";
import { mulberry32, randomBytes } from "../testing/prng.ts";
import { Replicator } from "../lib/replication/replicator.ts";
import type { Outgoing, ReplicatorOptions } from "../lib/replication/replicator.ts";
import type { Vector } from "../lib/wire/vector.ts";
import { EMPTY, formatVector, fromEntries } from "../lib/wire/vector.ts";
import { MemoryLog, nextOpHead } from "../testing/memory_log.ts";

const SESSION = "5e".repeat(32);
const prng = mulberry32(3);

/** An op of `origin` number `seq` with `deps`. */
function op(origin: string, seq: number, deps: Vector = EMPTY): Op {
  return {
    origin,
    seq,
    deps,
    at: 1,
    session: SESSION,
    kind: "msg",
    tag: `t${seq}`,
    groupName: "lobby",
    userName: "bob",
    msg: `${origin}${seq}`,
  };
}

/** Makes `n` local ops at `log` of `self`, with `msg` as text. */
function makeOps(log: MemoryLog, self: string, n: number, msg = (i: number) => `hello ${i}`): Op[] {
  const out: Op[] = [];
  for (let i = 0; i < n; i++) {
    const o: Op = {
      ...nextOpHead(log.vector(), self, 1, SESSION),
      kind: "msg",
      tag: `t${i}`,
      groupName: "lobby",
      userName: "bob",
      msg: msg(i),
    };
    log.appendLocal(o);
    out.push(o);
  }
  return out;
}

const auth = createPeerAuth({
  key: new TextEncoder().encode("k"),
  peers: ["a", "b", "c", "long-server-id-x"],
  now: () => 1_700_000_000_000,
  random: (n) => randomBytes(prng, n),
});

/** Sends through the real codec with a real mac: what arrives at `to`, in order. */
function wire(out: Outgoing[], to: string): PeerDatagram[] {
  const got: PeerDatagram[] = [];
  for (const o of out) {
    if (!o.to.includes(to)) continue;
    const bytes = auth.seal(o.datagram);
    assert.ok(bytes.length <= MAX_DATAGRAM, `a datagram of ${bytes.length} bytes`);
    const r = decodePeer(bytes);
    if (!r.ok) throw new Error(r.error.message);
    got.push(r.value.datagram);
  }
  return got;
}

function node(self: string, peers: string[], log = new MemoryLog(), options?: ReplicatorOptions) {
  return { log, r: new Replicator({ self, peers, log, options }) };
}

// --- causal buffer -----------------------------------------------------------------

test("ops arriving out of order are buffered and delivered in causal order", () => {
  const { log, r } = node("c", ["a", "b"]);
  const d = (ops: Op[]): PeerDatagram => ({ verb: "add", from: "a", nonce: "-", vector: EMPTY, ops });
  const b1 = op("b", 1, fromEntries([["a", 2]]));
  r.receive(d([op("a", 3), b1, op("a", 2)]), 0);
  assert.is(log.ops.length, 0);
  assert.is(r.status(0).buffered, 3);
  r.receive(d([op("a", 1)]), 1);
  assert.equal(log.ops.map((o) => `${o.origin}.${o.seq}`), ["a.1", "a.2", "a.3", "b.1"]);
  assert.is(r.status(1).buffered, 0);
  r.receive(d([op("a", 2), op("b", 1)]), 2);
  assert.is(r.status(2).dropped["duplicate-op"], 2);
  assert.is(log.ops.length, 4);
});

test("a duplicate of a buffered op and an op depending on itself are dropped", () => {
  const { r } = node("c", ["a"]);
  const d = (ops: Op[]): PeerDatagram => ({ verb: "add", from: "a", nonce: "-", vector: EMPTY, ops });
  r.receive(d([op("a", 2), op("a", 2), op("a", 1, fromEntries([["a", 1]]))]), 0);
  const s = r.status(0);
  assert.is(s.buffered, 1);
  assert.equal(s.dropped, { "duplicate-op": 1, "bad-op": 1 });
});

test("the buffer is bounded", () => {
  const { log, r } = node("c", ["a"], new MemoryLog(), { maxBuffered: 3 });
  r.receive({ verb: "add", from: "a", nonce: "-", vector: EMPTY, ops: [2, 3, 4, 5, 6].map((n) => op("a", n)) }, 0);
  assert.is(r.status(0).buffered, 3);
  assert.is(r.status(0).dropped["buffer-full"], 2);
  r.receive({ verb: "add", from: "a", nonce: "-", vector: EMPTY, ops: [op("a", 1)] }, 1);
  assert.is(log.vector().get("a"), 4, "the ready op is delivered even when the buffer is full");
});

test("one peer cannot fill the buffer: its share is bounded in ops and bytes; another peer's ops still wait", () => {
  const { log, r } = node("c", ["a", "b"], new MemoryLog(), { maxBufferedPerPeer: 3, maxBufferedBytesPerPeer: 100_000 });
  const add = (from: string, ops: Op[]): PeerDatagram => ({ verb: "add", from, nonce: "-", vector: EMPTY, ops });
  r.receive(add("a", [2, 3, 4, 5, 6].map((n) => op("a", n))), 0);
  assert.is(r.status(0).buffered, 3);
  assert.is(r.status(0).dropped["peer-buffer-full"], 2);
  r.receive(add("b", [op("b", 2)]), 0);
  assert.is(r.status(0).buffered, 4, "b's op is kept although a has its fill");
  const big = { ...op("b", 3), msg: "x".repeat(2000) };
  const { r: r2 } = node("c", ["a", "b"], new MemoryLog(), { maxBufferedBytesPerPeer: 3000 });
  r2.receive(add("b", [big, { ...big, seq: 4 }]), 0);
  assert.is(r2.status(0).buffered, 1);
  assert.is(r2.status(0).dropped["peer-buffer-full"], 1);
  r.receive(add("a", [op("a", 1)]), 1);
  assert.is(log.vector().get("a"), 4);
});

test("an op far past what its origin needs is dropped, not kept", () => {
  const { r } = node("c", ["a"], new MemoryLog(), { maxAhead: 100 });
  r.receive({ verb: "add", from: "a", nonce: "-", vector: EMPTY, ops: [op("a", 100), op("a", 102), op("a", 1e12)] }, 0);
  assert.is(r.status(0).buffered, 1);
  assert.is(r.status(0).dropped["too-far-ahead"], 2);
});

test("waiting ops expire; the gap is asked for again and filled", () => {
  const a = node("a", ["c"]);
  const c = node("c", ["a"], new MemoryLog(), { bufferTtlMs: 1000 });
  const ops = makeOps(a.log, "a", 3);
  // c gets a.2 and a.3 but not a.1.
  c.r.receive({ verb: "add", from: "a", nonce: "-", vector: a.log.vector(), ops: ops.slice(1) }, 0);
  assert.is(c.r.status(0).buffered, 2);
  c.r.tick(999);
  assert.is(c.r.status(999).buffered, 2);
  const asks = c.r.tick(1001);
  assert.is(c.r.status(1001).buffered, 0);
  assert.is(c.r.status(1001).dropped["buffer-expired"], 2);
  // Anti-entropy still finds the gap: c's ask is answered with all three.
  const ask = [...asks, ...c.r.tick(1200)].find((o) => o.datagram.verb === "ask");
  assert.ok(ask, "c asks a for what it lacks");
  for (const o of a.r.receive(ask!.datagram, 1201)) c.r.receive(o.datagram, 1202);
  assert.is(c.log.vector().get("a"), 3);
});

test("a hostile authenticated peer (random origins, huge vectors, far-future seqs, replays) neither stops honest replication nor grows the buffer past its bounds", () => {
  const rand = mulberry32(11);
  const isOrigin = (o: string) => ["a", "b", "m"].includes(o.split("~")[0]);
  const opts = { isOrigin, maxBufferedPerPeer: 500, maxBufferedBytesPerPeer: 200_000, maxAhead: 1000, bufferTtlMs: 5000 };
  const a = node("a", ["b", "m"], new MemoryLog(), opts);
  const b = node("b", ["a", "m"], new MemoryLog(), opts);
  const sent: Op[] = [];
  let now = 0;
  const honest: PeerDatagram[] = [];
  for (let round = 0; round < 200; round++) {
    now += 50;
    // a makes ops; its fan-out reaches b (some of it, late).
    const made = makeOps(a.log, "a", 3, (i) => `r${round} ${i}`);
    sent.push(...made);
    for (const o of a.r.localOps(made, now)) if (rand() < 0.7) honest.push(o.datagram);
    while (honest.length > 0 && rand() < 0.8) b.r.receive(honest.shift()!, now);
    // m floods b with junk: unknown origins, far-future seqs of real ones, vectors of thousands of entries, replays.
    const junk: Op[] = [];
    for (let k = 0; k < 50; k++) {
      const pick = rand();
      const origin = pick < 0.3 ? `x${Math.floor(rand() * 1e6)}` : pick < 0.6 ? "a" : "m";
      const seq = 1 + Math.floor(rand() * (pick < 0.45 ? 1e9 : 5000));
      const deps = fromEntries(Array.from({ length: 1 + Math.floor(rand() * 20) }, (_, i) => [`a~z${i}`, 1 + Math.floor(rand() * 1e6)] as [string, number]));
      junk.push(op(origin, seq, deps));
    }
    if (sent.length > 0) junk.push(sent[Math.floor(rand() * sent.length)]); // a replay of a real op
    const vector = fromEntries(Array.from({ length: 200 }, (_, i) => [`m~${i.toString(36)}`, 1e9] as [string, number]));
    b.r.receive({ verb: "add", from: "m", nonce: "-", vector, ops: junk }, now);
    const s = b.r.status(now);
    assert.ok(s.buffered <= 500 + 500, `buffered ${s.buffered}`);
    for (const o of b.r.tick(now)) if (o.to.includes("a")) for (const back of a.r.receive(o.datagram, now)) b.r.receive(back.datagram, now);
  }
  // The faults stop: b catches up with everything a made.
  for (let i = 0; i < 50 && b.log.vector().get("a") !== sent.length; i++) {
    now += 200;
    for (const o of [...a.r.tick(now), ...b.r.tick(now)]) {
      const to = o.to.includes("b") ? b : o.to.includes("a") ? a : null;
      if (!to || o.datagram.from === "m") continue;
      for (const back of to.r.receive(o.datagram, now)) (to === a ? b : a).r.receive(back.datagram, now);
    }
  }
  assert.is(b.log.vector().get("a"), sent.length, "honest replication went on");
  assert.ok(b.r.status(now).buffered <= 500);
});

test("asks get at most answerRate answer datagrams a second per peer, however many come", () => {
  const a = node("a", ["c"], new MemoryLog(), { answerRate: 100 });
  makeOps(a.log, "a", 5000, (i) => `op ${i} `.padEnd(400, "x"));
  let sent = 0;
  // 1,000 asks a second for 2 s, each from a different vector (so none is a duplicate).
  for (let i = 0; i < 2000; i++) {
    const vector = fromEntries([["a", i % 5000]]);
    sent += a.r.receive({ verb: "ask", from: "c", nonce: "-", vector }, i).filter((o) => o.datagram.verb === "ok").length;
  }
  assert.ok(sent <= 100 + 2 * 100, `${sent} answer datagrams in 2 s`);
  assert.ok((a.r.status(2000).dropped["answer-budget"] ?? 0) > 1000);
});

test("datagrams from a server that is not a peer are dropped", () => {
  const { r } = node("c", ["a"]);
  assert.equal(r.receive({ verb: "ask", from: "x", nonce: "-", vector: EMPTY }, 0), []);
  assert.equal(r.status(0).dropped, { "unknown-peer": 1 });
  assert.is(r.status(0).received, 0);
});

test("ops of origins that are not servers are dropped; their vector entries ignored; no op waits for them", () => {
  const known = new Set(["a", "b", "c"]);
  const isOrigin = (o: string) => known.has(o.split("~")[0]);
  const { log, r } = node("c", ["a"], new MemoryLog(isOrigin), { isOrigin });
  const junk = Array.from({ length: 450 }, (_, i) => op(`evil${i}`, 1));
  const vector = fromEntries([["a", 2], ...junk.map((o): [string, number] => [o.origin, 1])]);
  // A legitimate op made by a server that had accepted junk before: its deps name a junk origin.
  const a2 = op("a", 2, fromEntries([["evil7", 1]]));
  r.receive({ verb: "add", from: "a", nonce: "-", vector, ops: [...junk, op("a", 1), a2, op("a~m3k2x1c", 1)] }, 0);
  assert.equal(log.ops.map((o) => `${o.origin}.${o.seq}`), ["a.1", "a.2", "a~m3k2x1c.1"]);
  const s = r.status(0);
  assert.is(s.dropped["foreign-origin"], 450);
  assert.is(s.dropped["foreign-origin-entry"], 450);
  assert.equal(formatVector(s.peers[0].vector), "a=2", "the peer's vector without junk");
  assert.not.ok([...log.vector().keys()].some((k) => k.startsWith("evil")));
});

// --- batching ------------------------------------------------------------------------

test("worst-case ops never make a datagram larger than 8192 bytes", () => {
  const ids = ["long-server-id-x", "b", "c"];
  const { log, r } = node(ids[0], ids.slice(1));
  // Deps with 16-digit counters (the largest safe integers), and the longest fields there are.
  const deps = new Map([["b", Number.MAX_SAFE_INTEGER], ["c", Number.MAX_SAFE_INTEGER - 1]]);
  const big = (i: number): Op => ({
    origin: ids[0],
    seq: 1_000_000_000_000_000 + i,
    deps,
    at: Number.MAX_SAFE_INTEGER,
    session: SESSION,
    kind: "msg",
    tag: "T".repeat(16),
    groupName: "g".repeat(64),
    userName: "u".repeat(32),
    msg: i % 2 ? "\n".repeat(2000) : "😀".repeat(500), // 4000 bytes once escaped / 2000 bytes of 4-byte chars
  });
  const ops = Array.from({ length: 40 }, (_, i) => big(i));
  void log;
  const out = r.localOps(ops, 0);
  const got = wire(out, "b");
  assert.equal(got.flatMap((d) => (d.verb === "add" ? d.ops : [])).map(opText), ops.map(opText));
  assert.ok(got.length >= 20, `${got.length} datagrams`);
  for (const o of out) assert.equal([...o.to], ["b", "c"]);
});

test("small ops are packed densely", () => {
  const { log, r } = node("a", ["b"]);
  const ops = makeOps(log, "a", 1000);
  const out = r.localOps(ops, 0);
  const sizes = out.map((o) => auth.seal(o.datagram).length);
  assert.ok(sizes.every((n) => n <= MAX_DATAGRAM));
  assert.ok(sizes.slice(0, -1).every((n) => n > MAX_DATAGRAM - 200), `sizes ${sizes}`);
  assert.is(wire(out, "b").reduce((n, d) => n + (d.verb === "add" ? d.ops.length : 0), 0), 1000);
});

// --- asking and answering --------------------------------------------------------------

test("ask/ok paging: a catch-up runs one round trip per answer until done", () => {
  // Small answers (16 datagrams, not the default 64) so the catch-up takes several rounds.
  const a = node("a", ["b"], undefined, { answerDatagrams: 16 });
  const b = node("b", ["a"], undefined, { answerDatagrams: 16 });
  makeOps(a.log, "a", 5000, (i) => `message ${i} ${"x".repeat(i % 50)}`);
  let now = 0;
  // b learns a's vector from a's heartbeat, then asks once the gap grace passed.
  for (const d of wire(a.r.tick(now), "b")) b.r.receive(d, now);
  now += 25;
  let toA = wire(b.r.tick(now), "a");
  let rounds = 0, datagrams = 0;
  while (toA.length > 0) {
    const asks = toA.filter((d) => d.verb === "ask");
    assert.is(asks.length, 1, "one ask at a time");
    rounds++;
    const answer = wire(a.r.receive(asks[0], now), "b").filter((d) => d.verb === "ok");
    assert.ok(answer.length <= 16, `${answer.length} datagrams in one answer`);
    datagrams += answer.length;
    const vectors = new Set(answer.map((d) => (d.verb === "ok" ? formatVector(d.vector) : "")));
    assert.is(vectors.size, 1, "every datagram of an answer carries the same vector");
    toA = answer.flatMap((d) => wire(b.r.receive(d, now), "a"));
    now += 1;
  }
  assert.is(b.log.vector().get("a"), 5000);
  assert.ok(rounds >= 5 && rounds <= 12, `${rounds} rounds`);
  assert.equal(b.r.status(now).dropped, {});
});

test("pipelined catch-up: half-way through an answer the next ask goes out with that answer's vector; every op comes once", () => {
  const a = node("a", ["b"], undefined, { answerDatagrams: 16 });
  const b = node("b", ["a"], undefined, { answerDatagrams: 16 });
  makeOps(a.log, "a", 5000, (i) => `message ${i} ${"x".repeat(i % 50)}`);
  for (const d of wire(a.r.tick(0), "b")) b.r.receive(d, 0);
  let ask: PeerDatagram | undefined = wire(b.r.tick(25), "a").find((d) => d.verb === "ask");
  let received = 0, answers = 0;
  for (let now = 26; ask !== undefined && now < 1000; now++) {
    assert.is(ask.verb, "ask");
    const answer = wire(a.r.receive(ask, now), "b").filter((d) => d.verb === "ok");
    answers++;
    ask = undefined;
    answer.forEach((d, i) => {
      if (d.verb !== "ok") return;
      received += d.ops.length;
      const asks = wire(b.r.receive(d, now), "a").filter((x) => x.verb === "ask");
      if (asks.length === 0) return;
      assert.is(asks.length, 1);
      assert.is(ask, undefined, "one ask per answer");
      assert.ok(d.more && i < answer.length - 1, `asked at datagram ${i + 1} of ${answer.length}, more=${d.more}`);
      assert.is(asks[0].verb === "ask" && formatVector(asks[0].vector), formatVector(d.vector), "asked from the answer's vector");
      ask = asks[0];
    });
  }
  assert.is(b.log.vector().get("a"), 5000);
  assert.is(received, 5000, "no op twice");
  assert.ok(answers >= 5, `${answers} answers`);
  assert.equal(b.r.status(1000).dropped, {});
});

test("during a pipelined catch-up no other peer is asked, even when its late answer to an older ask completes", () => {
  const a = node("a", ["b", "c"], undefined, { answerDatagrams: 16 });
  const b = node("b", ["a", "c"], undefined, { answerDatagrams: 16 });
  const c = node("c", ["a", "b"], undefined, { answerDatagrams: 16 });
  for (const o of makeOps(a.log, "a", 5000, (i) => `line ${i} ${"y".repeat(i % 40)}`)) b.log.applyRemote(o);
  for (const d of [...wire(a.r.tick(0), "c"), ...wire(b.r.tick(0), "c")]) c.r.receive(d, 0);
  const asks = (out: Outgoing[], to: string) => wire(out, to).filter((d) => d.verb === "ask");
  const [toA] = asks(c.r.tick(25), "a");
  assert.ok(toA, "c asks a first");
  // a is slow: after askRetryMs c asks b as well; both answer the same vector.
  const [toB] = asks(c.r.tick(130), "b");
  assert.ok(toB, "then b");
  const fromA = wire(a.r.receive(toA, 131), "c").filter((d) => d.verb === "ok");
  const fromB = wire(b.r.receive(toB, 131), "c").filter((d) => d.verb === "ok");
  let pipelined: PeerDatagram | undefined;
  for (const d of fromA.slice(0, 10)) pipelined ??= asks(c.r.receive(d, 132), "a")[0];
  assert.ok(pipelined, "a pipelined ask to a");
  // b's answer to the older ask arrives whole (all duplicates now or soon): no ask to anyone while a's is out.
  const askedAnyone = (out: Outgoing[]) => [...asks(out, "a"), ...asks(out, "b")];
  for (const d of fromB) assert.equal(askedAnyone(c.r.receive(d, 133)), []);
  assert.equal(askedAnyone(c.r.tick(134)), []);
  for (const d of fromA.slice(10)) c.r.receive(d, 135);
  assert.equal([...asks(c.r.tick(136), "b")], [], "b is not asked while a's pipelined answer is due");
});

test("a lost answer datagram is asked for again askRetryMs after the answer's latest datagram, not before", () => {
  const a = node("a", ["b"]);
  const b = node("b", ["a"]);
  makeOps(a.log, "a", 600);
  const ask = wire(b.r.receive(wire(a.r.tick(0), "b")[0], 0), "a").filter((d) => d.verb === "ask");
  assert.equal(ask, [], "no ask within the gap grace");
  const [q] = wire(b.r.tick(20), "a").filter((d) => d.verb === "ask");
  assert.is(q?.verb, "ask");
  const answer = wire(a.r.receive(q, 20), "b").filter((d) => d.verb === "ok");
  assert.ok(answer.length >= 2);
  // The first datagram is lost.
  for (const d of answer.slice(1)) assert.equal(wire(b.r.receive(d, 21), "a"), []);
  assert.ok(b.r.status(21).buffered > 0);
  assert.equal(wire(b.r.tick(120), "a"), [], "still waiting for the answer (its latest datagram came at 21)");
  const [again] = wire(b.r.tick(121), "a");
  assert.is(again?.verb, "ask");
  for (const d of wire(a.r.receive(again, 121), "b")) b.r.receive(d, 122);
  assert.is(b.log.vector().get("a"), 600);
  assert.is(b.r.status(122).buffered, 0);
});

test("a catch-up from two peers that both have everything brings each op about once, even when an answer takes longer than askRetryMs to apply", () => {
  const a = node("a", ["b", "c"]);
  const b = node("b", ["a", "c"]);
  const c = node("c", ["a", "b"]);
  // a and b each made 6,000 and have each other's.
  const fromA = makeOps(a.log, "a", 6000, (i) => `catch-up line ${i} with some text to fill the datagram`);
  const fromB = makeOps(b.log, "b", 6000, (i) => `catch-up line ${i} with some text to fill the datagram`);
  for (const o of fromA) b.log.applyRemote(o);
  for (const o of fromB) a.log.applyRemote(o);
  const nodes = { a, b, c };
  let queue: [string, PeerDatagram][] = [];
  const post = (from: string, out: Outgoing[]) => {
    for (const id of ["a", "b", "c"]) if (id !== from) for (const d of wire(out, id)) queue.push([id, d]);
  };
  let received = 0;
  // As a server's event loop does: c reads at most 32 datagrams a turn, and applying them takes 90 ms (a and b answer at once).
  const done = () => c.log.vector().get("a") === 6000 && c.log.vector().get("b") === 6000;
  for (let now = 0; now < 60_000 && !done(); now += 90) {
    for (const [id, n] of Object.entries(nodes)) post(id, n.r.tick(now));
    const arrived = queue;
    queue = [];
    let forC = 0;
    for (const [to, d] of arrived) {
      if (to === "c" && forC++ >= 32) {
        queue.push([to, d]);
        continue;
      }
      if (to === "c" && d.verb === "ok") received += d.ops.length;
      post(to, nodes[to as "a" | "b" | "c"].r.receive(d, now));
    }
  }
  assert.ok(done(), "c has everything");
  assert.ok(received <= 1.3 * 12_000, `${received} ops received for 12,000`);
});

test("a duplicated ask is answered once; an ask for nothing gets no answer", () => {
  const a = node("a", ["b"]);
  makeOps(a.log, "a", 10);
  const q: PeerDatagram = { verb: "ask", from: "b", nonce: "-", vector: fromEntries([["a", 4]]) };
  const first = a.r.receive(q, 0).filter((o) => o.datagram.verb === "ok");
  assert.is(first.length, 1);
  assert.equal(first[0].datagram.verb === "ok" && first[0].datagram.ops.map((o) => o.seq), [5, 6, 7, 8, 9, 10]);
  assert.equal(a.r.receive(q, 10).filter((o) => o.datagram.verb === "ok"), []);
  assert.is(a.r.receive(q, 200).filter((o) => o.datagram.verb === "ok").length, 1, "a real re-ask is answered");
  const full: PeerDatagram = { verb: "ask", from: "b", nonce: "-", vector: fromEntries([["a", 10]]) };
  assert.equal(a.r.receive(full, 300).filter((o) => o.datagram.verb === "ok"), []);
});

test("a gap known to several peers is asked of one of them", () => {
  const { r } = node("d", ["a", "b", "c"]);
  const v = fromEntries([["a", 3]]);
  for (const from of ["a", "b", "c"]) r.receive({ verb: "add", from, nonce: "-", vector: v, ops: [] }, 0);
  const asks = r.tick(30).filter((o) => o.datagram.verb === "ask");
  assert.is(asks.length, 1);
  assert.is(r.status(30).asksSent, 1);
});

test("ops held waiting for a gap count as had: the gap is asked of one peer, not of every peer whose vector shows the held ops", () => {
  const { r } = node("d", ["a", "b", "c"]);
  // a.1 was lost: a.2 and b.1 (which follows a.2) wait here.
  r.receive({ verb: "add", from: "a", nonce: "-", vector: fromEntries([["a", 2]]), ops: [op("a", 2)] }, 0);
  r.receive({ verb: "add", from: "b", nonce: "-", vector: fromEntries([["a", 2], ["b", 1]]), ops: [op("b", 1, fromEntries([["a", 2]]))] }, 0);
  r.receive({ verb: "add", from: "c", nonce: "-", vector: fromEntries([["a", 2], ["b", 1]]), ops: [] }, 0);
  const asks = r.tick(30).filter((o) => o.datagram.verb === "ask");
  assert.is(asks.length, 1, "one ask for a.1");
  // Its answer brings a.1; the held ops follow.
  const log = new MemoryLog();
  for (const o of [op("a", 1), op("a", 2), op("b", 1, fromEntries([["a", 2]]))]) log.applyRemote(o);
  const asked = asks[0].to[0];
  const answerer = new Replicator({ self: asked, peers: ["d"], log });
  for (const d of wire(answerer.receive(wire(asks, asked)[0], 130), "d")) r.receive(d, 230);
  assert.equal(formatVector(r.status(230).vector), "a=2,b=1");
});

test("a peer that does not answer yields to another that has the same ops", () => {
  const { r } = node("d", ["a", "b"]);
  const v = fromEntries([["a", 3]]);
  for (const from of ["a", "b"]) r.receive({ verb: "add", from, nonce: "-", vector: v, ops: [] }, 0);
  const asked = (out: Outgoing[]) => out.filter((o) => o.datagram.verb === "ask").flatMap((o) => o.to);
  const first = asked(r.tick(30));
  assert.is(first.length, 1);
  assert.equal(asked(r.tick(100)), [], "within askRetryMs");
  const second = asked(r.tick(130));
  assert.is(second.length, 1);
  assert.is.not(second[0], first[0]);
});

test("heartbeats go to every peer once per period; a long-silent peer gets one at once", () => {
  const { r } = node("a", ["b", "c"], new MemoryLog(), { antiEntropyMs: 1000 });
  const beats = (out: Outgoing[]) => out.filter((o) => o.datagram.verb === "add").flatMap((o) => o.to);
  assert.equal(beats(r.tick(0)), ["b", "c"]);
  assert.equal(beats(r.tick(500)), []);
  assert.equal(beats(r.tick(1000)), ["b", "c"]);
  // b was never heard from: its first datagram is answered with a heartbeat.
  assert.equal(beats(r.receive({ verb: "add", from: "b", nonce: "-", vector: EMPTY, ops: [] }, 1100)), ["b"]);
  assert.equal(beats(r.receive({ verb: "add", from: "b", nonce: "-", vector: EMPTY, ops: [] }, 1200)), []);
});

test("a fan-out of new ops stands for the heartbeat: the next is due a period after it", () => {
  const { log, r } = node("a", ["b", "c"], new MemoryLog(), { antiEntropyMs: 1000 });
  const beats = (out: Outgoing[]) => out.filter((o) => o.datagram.verb === "add" && o.datagram.ops.length === 0).flatMap((o) => o.to);
  assert.equal(beats(r.tick(0)), ["b", "c"]);
  assert.is(r.localOps(makeOps(log, "a", 1), 700).length, 1);
  assert.equal(beats(r.tick(1000)), [], "the add at 700 carried the vector");
  assert.equal(beats(r.tick(1699)), []);
  assert.equal(beats(r.tick(1700)), ["b", "c"]);
});

test("delivered messages naming this node confirmer give their origins and the near servers (stable delivery), once", () => {
  // The engine hands each op it delivers to its hook; lib/acks/gots.ts decides who must hear a `got`.
  const gots = new GotSchedule(new Ring(["a", "b", "c"], "b"), "b");
  const log = new MemoryLog();
  const b = { log, r: new Replicator({ self: "b", peers: ["a", "c"], log, onDelivered: (op) => gots.delivered(op) }) };
  const named = { ...op("a", 1), conf: "b" };
  const other = { ...op("c", 1), conf: "a" };
  b.r.receive({ verb: "add", from: "a", nonce: "-", vector: fromEntries([["a", 1]]), ops: [named] }, 0);
  b.r.receive({ verb: "add", from: "c", nonce: "-", vector: fromEntries([["c", 1]]), ops: [other] }, 0);
  assert.equal(gots.afterCommit(0).sort(), ["a", "c"]);
  assert.equal(gots.afterCommit(0), []);
});

test("periodic got: near peers every 250 ms, the rest every second, and a peer told after a commit is not told again within its period", () => {
  // Nine servers, more than LIVENESS.gotAllAfterCommitUpTo: near to c: i, a, b; far: d to h.
  const gots = new GotSchedule(new Ring(["a", "b", "c", "d", "e", "f", "g", "h", "i"], "c"), "c");
  assert.equal(gots.tick(0), ["a", "b", "d", "e", "f", "g", "h", "i"]);
  assert.is(gots.tick(100), null);
  assert.equal(gots.tick(250), ["a", "b", "i"]);
  gots.delivered({ ...op("b", 1), conf: "c" } as Op);
  assert.equal(gots.afterCommit(400).sort(), ["a", "b", "i"]);
  assert.is(gots.tick(500), null, "told at 400");
  assert.equal(gots.tick(650), ["a", "b", "i"]);
  assert.is(gots.tick(800), null);
  assert.equal(gots.tick(900), ["a", "b", "i"]);
  assert.equal(gots.tick(1000), ["d", "e", "f", "g", "h"], "the far ones once a second");
  assert.equal(gots.tick(2000), ["a", "b", "d", "e", "f", "g", "h", "i"]);
});

test("a small cluster (at most LIVENESS.gotAllAfterCommitUpTo servers): the got after a confirming commit goes to the far peers too", () => {
  const gots = new GotSchedule(new Ring(["a", "b", "c", "d", "e", "f"], "c"), "c"); // near to c: f, a, b; far: d, e
  assert.equal(gots.tick(0), ["a", "b", "d", "e", "f"]);
  gots.delivered({ ...op("b", 1), conf: "c" } as Op);
  assert.equal(gots.afterCommit(400).sort(), ["a", "b", "d", "e", "f"]);
  assert.equal(gots.tick(650), ["a", "b", "f"]);
  assert.equal(gots.tick(1000), ["a", "b", "f"], "the far ones were told at 400");
  assert.equal(gots.tick(2000), ["a", "b", "d", "e", "f"]);
  assert.equal(gots.afterCommit(2100), [], "nothing delivered since");
});

test("a fan-out carrying the got tells every peer: no one is due, the timer waits a period from it", () => {
  const gots = new GotSchedule(new Ring(["a", "b", "c", "d", "e", "f"], "c"), "c"); // near to c: f, a, b; far: d, e
  assert.equal(gots.tick(0), ["a", "b", "d", "e", "f"]);
  gots.delivered({ ...op("b", 1), conf: "c" } as Op);
  gots.toldAll(400);
  assert.equal(gots.afterCommit(400), [], "the fan-out carried it");
  assert.is(gots.tick(500), null);
  assert.equal(gots.tick(650), ["a", "b", "f"]);
  assert.equal(gots.tick(900), ["a", "b", "f"]);
  assert.is(gots.tick(1000), null, "the far ones were told at 400");
  assert.equal(gots.tick(2000), ["a", "b", "d", "e", "f"]);
});

test("status: vector, last heard, counters", () => {
  const a = node("a", ["b"]);
  const b = node("b", ["a"]);
  const ops = makeOps(a.log, "a", 3);
  for (const d of wire(a.r.localOps(ops, 0), "b")) b.r.receive(d, 10);
  const s = b.r.status(250);
  assert.is(formatVector(s.vector), "a=3");
  assert.equal(s.peers.map((p) => [p.id, p.lastHeardMsAgo, formatVector(p.vector), p.ahead]), [[
    "a",
    240,
    "a=3",
    false,
  ]]);
  assert.is(s.received, 1);
  assert.is(s.opsDelivered, 3);
  assert.is(a.r.status(0).sent, 1);
  assert.is(a.r.status(0).opsSent, 3);
});

test("greet: a heartbeat with this node's vector to that peer alone (a restarted peer's new session); none to a server not in the cluster", () => {
  const { log, r } = node("a", ["b", "c"]);
  r.localOps(makeOps(log, "a", 2), 0);
  const out = r.greet("b");
  assert.equal(out, [{ to: ["b"], datagram: { verb: "add", from: "a", nonce: "-", vector: fromEntries([["a", 2]]), ops: [] } }]);
  assert.equal(r.greet("zz"), []);
});

test.run();
