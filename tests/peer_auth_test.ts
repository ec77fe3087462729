import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodePeer, encodePeer } from "../lib/wire/codec.ts";
import type { PeerDatagram, SignedPeerDatagram } from "../lib/wire/messages.ts";
import { createPeerAuth, peerMac } from "../lib/replication/peer_auth.ts";
import type { PeerAuthOptions } from "../lib/replication/peer_auth.ts";
import { mulberry32, randomBytes } from "../testing/prng.ts";
import { Replicator } from "../lib/replication/replicator.ts";
import { EMPTY, fromEntries } from "../lib/wire/vector.ts";
import { MemoryLog } from "./_memory_log.ts";

const KEY = new TextEncoder().encode("correct horse battery staple, a cluster key");
const prng = mulberry32(1);

function setup(options: Partial<PeerAuthOptions> = {}) {
  const clock = { t: 1_700_000_000_000 };
  const base = { key: KEY, peers: ["a", "b"], now: () => clock.t, random: (n: number) => randomBytes(prng, n) };
  const sender = createPeerAuth({ ...base, peers: ["c"], ...options });
  const receiver = createPeerAuth({ ...base, ...options });
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

test("with a key: sealed datagrams verify, once", () => {
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
  const other = createPeerAuth({
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
  const fresh = createPeerAuth({ key: KEY, peers: ["a"], now: () => clock.t, random: (n) => randomBytes(prng, n) });
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
  const other = createPeerAuth({ key: bytes("x"), peers: [], now: () => clock.t, random: (n) => randomBytes(prng, n) });
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

test.run();
