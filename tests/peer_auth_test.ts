import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodePeer, encodePeer } from "../lib/wire/codec.ts";
import type { PeerDatagram, SignedPeerDatagram } from "../lib/wire/messages.ts";
import { createPeerAuth, createStatAuth, peerMac } from "../lib/replication/peer_auth.ts";
import type { PeerAuth, PeerAuthOptions } from "../lib/replication/peer_auth.ts";
import { mulberry32, randomBytes } from "../testing/prng.ts";
import { Replicator } from "../lib/replication/replicator.ts";
import { EMPTY, fromEntries } from "../lib/wire/vector.ts";
import { MemoryLog } from "../testing/memory_log.ts";

const KEY = new TextEncoder().encode("correct horse battery staple, a cluster key");
const prng = mulberry32(1);

/** The `stat` authenticator (lib/replication/peer_auth.ts createStatAuth): a time window. */
function setup(options: Partial<PeerAuthOptions> = {}) {
  const clock = { t: 1_700_000_000_000 };
  const base = { key: KEY, peers: ["a", "b"], now: () => clock.t, random: (n: number) => randomBytes(prng, n) };
  const sender = createStatAuth({ ...base, peers: ["c"], ...options });
  const receiver = createStatAuth({ ...base, ...options });
  return { clock, sender, receiver };
}

const ask = (from = "a"): PeerDatagram => ({ verb: "ask", from, nonce: "-", vector: fromEntries([["a", 3]]) });
const add = (from = "a"): PeerDatagram => ({
  verb: "add",
  from,
  nonce: "-",
  vector: fromEntries([["a", 1]]),
  ops: [{ origin: "a", seq: 1, deps: EMPTY, at: 5, session: "ab".repeat(32), kind: "touch" }],
});

function decode(bytes: Uint8Array): SignedPeerDatagram {
  const r = decodePeer(bytes);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

// --- the stat authenticator (time window) ------------------------------------------

test("stat auth, with a key: sealed datagrams verify, once", () => {
  const { sender, receiver } = setup();
  const d = decode(sender.seal(add()));
  assert.match(d.datagram.nonce, /^1700000000000\.[0-9a-f]{16}$/);
  assert.is(d.mac, peerMac(KEY, d.signed));
  assert.equal(receiver.verify(d), { ok: true });
  assert.equal(receiver.verify(d), { ok: false, reason: "replay" });
  assert.equal(receiver.verify(decode(sender.seal(add()))), { ok: true }, "a fresh nonce passes");
});

test("forged, altered, unauthenticated, stale and unknown-peer datagrams are refused", () => {
  const { clock, sender, receiver } = setup();
  const other = createStatAuth({
    key: bytes("another key"),
    peers: [],
    now: () => clock.t,
    random: (n) => randomBytes(prng, n),
  });
  assert.equal(receiver.verify(decode(other.seal(ask()))), { ok: false, reason: "bad-mac" }, "forged");

  const good = text(sender.seal(add()));
  const altered = good.replace("\na.1\n", "\na.2\n");
  assert.is.not(altered, good);
  assert.equal(receiver.verify(decode(bytes(altered))), { ok: false, reason: "bad-mac" }, "altered op");
  const renonced = good.replace(/\n(\d+)\.([0-9a-f]{16})\n/, (_m, ms, r) => `\n${Number(ms) + 1}.${r}\n`);
  assert.equal(receiver.verify(decode(bytes(renonced))), { ok: false, reason: "bad-mac" }, "altered nonce");

  const bare = decode(encodePeer(ask()));
  assert.equal(receiver.verify(bare), { ok: false, reason: "unauthenticated" });
  const noMac = decode(bytes(good.replace(/[0-9a-f]{64}\n$/, "-\n")));
  assert.equal(receiver.verify(noMac), { ok: false, reason: "unauthenticated" });

  const old = decode(sender.seal(ask()));
  clock.t += 30_001;
  assert.equal(receiver.verify(old), { ok: false, reason: "stale" }, "too old");
  const future = decode(sender.seal(ask()));
  clock.t -= 30_001;
  assert.equal(receiver.verify(future), { ok: false, reason: "stale" }, "too far ahead");

  assert.equal(receiver.verify(decode(sender.seal(ask("z")))), { ok: false, reason: "unknown-peer" });
  assert.equal(receiver.verify(decode(sender.seal(ask()))), { ok: true });
});

test("a restarted receiver refuses datagrams sealed before it started", () => {
  const { clock, sender } = setup();
  const before = decode(sender.seal(ask()));
  clock.t += 10;
  const fresh = createStatAuth({ key: KEY, peers: ["a"], now: () => clock.t, random: (n) => randomBytes(prng, n) });
  assert.equal(fresh.verify(before), { ok: false, reason: "stale" });
  assert.equal(fresh.verify(decode(sender.seal(ask()))), { ok: true });
});

test("remembered nonces are bounded; forgotten ones cannot be replayed", () => {
  const { clock, sender, receiver } = setup({ maxNonces: 10 });
  const sent: SignedPeerDatagram[] = [];
  for (let i = 0; i < 25; i++) {
    clock.t += 1;
    const d = decode(sender.seal(ask()));
    sent.push(d);
    assert.equal(receiver.verify(d), { ok: true });
    assert.ok(receiver.rememberedNonces <= 10, `${receiver.rememberedNonces} remembered`);
  }
  for (const d of sent) assert.not.ok(receiver.verify(d).ok, "no replay gets through");
});

test("remembered nonces are forgotten once older than the window", () => {
  const { clock, sender, receiver } = setup();
  for (let i = 0; i < 5; i++) assert.ok(receiver.verify(decode(sender.seal(ask()))).ok);
  assert.is(receiver.rememberedNonces, 5);
  clock.t += 31_000;
  assert.ok(receiver.verify(decode(sender.seal(ask()))).ok);
  assert.is(receiver.rememberedNonces, 1);
});

test("without a key: '-' is produced and accepted; peers are still checked", () => {
  const { sender, receiver } = setup({ key: null });
  const raw = sender.seal(add());
  assert.ok(text(raw).endsWith("\n-\n"));
  const d = decode(raw);
  assert.is(d.datagram.nonce, "-");
  assert.equal(receiver.verify(d), { ok: true });
  assert.equal(receiver.verify(decode(sender.seal(ask("q")))), { ok: false, reason: "unknown-peer" });
});

test("refused datagrams are counted by reason in the replicator's status", () => {
  const { clock, sender, receiver } = setup();
  const r = new Replicator({ self: "b", peers: ["a"], log: new MemoryLog() });
  const other = createStatAuth({ key: bytes("x"), peers: [], now: () => clock.t, random: (n) => randomBytes(prng, n) });
  const ok = decode(sender.seal(add()));
  const inputs = [
    decode(other.seal(add())), // forged
    decode(bytes(text(sender.seal(add())).replace("\ntouch\n", "\nlogout\n"))), // altered
    decode(encodePeer(add())), // unauthenticated
    ok,
    ok, // replayed
    decode(sender.seal(ask("zz"))), // unknown peer
  ];
  for (const d of inputs) {
    const v = receiver.verify(d);
    if (v.ok) r.receive(d.datagram, clock.t);
    else r.noteDropped(v.reason);
  }
  const s = r.status(clock.t);
  assert.equal(s.dropped, { "bad-mac": 2, unauthenticated: 1, replay: 1, "unknown-peer": 1 });
  assert.is(s.received, 1);
  assert.is(s.vector.get("a"), 1);
});

// --- the peer authenticator (epochs, no clock) --------------------------------------

/** Two servers' authenticators, a and b, with clocks that disagree by a day (each moves 100 ms per reading). */
function peers(seed = 5) {
  const r = mulberry32(seed);
  const rand = (n: number) => randomBytes(r, n);
  let ta = 1_700_000_000_000, tb = 1_700_086_400_000;
  const a = createPeerAuth({ key: KEY, peers: ["b"], now: () => (ta += 100), random: rand });
  const b = createPeerAuth({ key: KEY, peers: ["a"], now: () => (tb += 100), random: rand });
  return { a, b };
}

/** Delivers `bytes` from `from` to `to`, running the hello/proof exchange it starts; returns the first verdict. */
function deliver(bytes: Uint8Array, fromId: string, toId: string, auths: Record<string, PeerAuth>) {
  const first = auths[toId].verify(decode(bytes));
  let answer = first.ok ? undefined : first.answer;
  let [src, dst] = [toId, fromId];
  for (let hops = 0; answer && hops < 4; hops++) {
    const v = auths[dst].verify(decode(auths[src].seal({ ...answer, from: src })));
    answer = v.ok ? undefined : v.answer;
    [src, dst] = [dst, src];
  }
  return first;
}

test("peer auth: the first datagram of an unknown epoch starts a hello/proof exchange; after it datagrams pass once, whatever the clocks say", () => {
  const { a, b } = peers();
  const auths = { a, b };
  const first = deliver(a.seal(add("a")), "a", "b", auths);
  assert.is(first.ok, false);
  assert.is(!first.ok && first.reason, "unknown-epoch");
  assert.is(!first.ok && first.answer?.verb, "hello");
  const d = decode(a.seal(add("a")));
  assert.match(d.datagram.nonce, /^\d+\.[0-9a-f]{16}$/);
  assert.equal(b.verify(d), { ok: true });
  assert.equal(b.verify(d), { ok: false, reason: "replay" });
  assert.equal(b.verify(decode(a.seal(ask("a")))), { ok: true });
});

test("peer auth: nothing sent before a restart of either side passes after it", () => {
  const { a, b } = peers(6);
  deliver(a.seal(ask("a")), "a", "b", { a, b });
  const before = decode(a.seal(add("a")));
  const unsent = decode(a.seal(add("a"))); // recorded by an attacker, never delivered
  assert.equal(b.verify(before), { ok: true });
  // b restarts: it knows no epoch; a's next datagram starts the exchange, and the recorded ones are refused.
  let t2 = 0;
  const b2 = createPeerAuth({ key: KEY, peers: ["a"], now: () => (t2 += 100), random: (n) => randomBytes(prng, n) });
  deliver(a.seal(ask("a")), "a", "b", { a, b: b2 });
  assert.equal(b2.verify(before), { ok: false, reason: "stale" });
  assert.equal(b2.verify(unsent), { ok: false, reason: "stale" });
  assert.equal(b2.verify(decode(a.seal(ask("a")))), { ok: true });
  // a restarts: a new epoch; its old datagrams never pass again.
  const a2 = createPeerAuth({ key: KEY, peers: ["b"], now: () => (t2 += 100), random: (n) => randomBytes(prng, n) });
  const v = deliver(a2.seal(ask("a")), "a", "b", { a: a2, b: b2 });
  assert.is(!v.ok && v.reason, "unknown-epoch");
  assert.equal(b2.verify(decode(a2.seal(ask("a")))), { ok: true });
  const old = b2.verify(decode(a.seal(ask("a"))));
  assert.is(old.ok, false, "the old run's epoch is refused");
});

test("peer auth: a proof must answer this receiver's challenge; hellos are answered at a bounded rate", () => {
  const { a, b } = peers(7);
  const v = b.verify(decode(a.seal(ask("a"))));
  assert.is(!v.ok && v.answer?.verb, "hello");
  const forged = decode(a.seal({ verb: "proof", from: "a", nonce: "-", challenge: "0".repeat(32) }));
  assert.equal(b.verify(forged), { ok: false, reason: "bad-proof" });
  const hello = decode(b.seal({ verb: "hello", from: "b", nonce: "-", challenge: "1".repeat(32) }));
  const frozen = createPeerAuth({ key: KEY, peers: ["b"], now: () => 5, random: (n) => randomBytes(prng, n) });
  const answered = [0, 1, 2].map(() => frozen.verify(hello)).filter((r) => !r.ok && r.answer).length;
  assert.is(answered, 1, "a burst of hellos gets one proof");
});

test("peer auth: reordering within the window passes; memory stays bounded", () => {
  const { a, b } = peers(8);
  deliver(a.seal(ask("a")), "a", "b", { a, b });
  const batch = Array.from({ length: 20_000 }, () => decode(a.seal(ask("a"))));
  for (let i = 0; i < batch.length; i += 2) {
    assert.ok(b.verify(batch[i + 1]).ok);
    assert.ok(b.verify(batch[i]).ok, "an earlier counter arriving late");
  }
  assert.ok(b.rememberedNonces <= 2 * 4096 + 1, `${b.rememberedNonces} remembered`);
  assert.is(b.verify(batch[0]).ok, false);
});

test.run();
