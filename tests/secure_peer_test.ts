/**
 * lib/secure/peer_transport.ts: servers link with Noise_KKpsk0 over an
 * in-memory network (time by hand). One side starting, both at once, a
 * wrong cluster key or static key, an unknown id, a restart (reset), a
 * replayed initiation, rekeying; every datagram delivered exactly once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PeerTransport, type PeerTransportOptions } from "../lib/secure/peer_transport.ts";
import { read, seeded, staticKey, text } from "./_secure.ts";

const ADDRESS: Record<string, string> = { a: "127.0.0.1:7101", b: "127.0.0.1:7102", c: "127.0.0.1:7103" };
const KEYS = { a: staticKey("a"), b: staticKey("b"), c: staticKey("c") };
const CLUSTER = text("0123456789abcdef0123456789abcdef\n");

function node(id: "a" | "b" | "c", seed: number, o: Partial<PeerTransportOptions> = {}): PeerTransport {
  const peers = (["a", "b", "c"] as const).filter((p) => p !== id).map((p) => ({ id: p, publicKey: KEYS[p].publicKey }));
  return new PeerTransport({ selfId: id, staticKey: KEYS[id], peers, clusterKey: CLUSTER, ...seeded(seed), now: 0, ...o });
}

type Wire = { to: string; from: string; bytes: Uint8Array };

/** Delivers datagrams until none are left; returns what each server received, as "from: text". */
function run(nodes: Record<string, PeerTransport>, wire: Wire[], now: number): string[] {
  const got: string[] = [];
  while (wire.length > 0) {
    const { to, from, bytes } = wire.shift()!;
    const r = nodes[to].receive(bytes, ADDRESS[from], now);
    if (r.plaintext) got.push(`${to}<${r.peer}: ${read(r.plaintext)}`);
    for (const b of r.toPeer) wire.push({ to: r.peer!, from: to, bytes: b });
    if (r.toSource) wire.push({ to: from, from: to, bytes: r.toSource });
  }
  return got;
}

const send = (nodes: Record<string, PeerTransport>, from: string, to: string, s: string, now: number): Wire[] =>
  nodes[from].seal(to, text(s), now).map((bytes) => ({ to, from, bytes }));

test("a starts: its datagrams wait for the handshake, then everything arrives once, both ways", () => {
  const nodes = { a: node("a", 1), b: node("b", 2) };
  const wire = [...send(nodes, "a", "b", "add 1", 0), ...send(nodes, "a", "b", "add 2", 0)];
  assert.is(wire.length, 1, "one initiation; the datagrams wait");
  assert.equal(run(nodes, wire, 0), ["b<a: add 1", "b<a: add 2"]);
  assert.ok(nodes.a.established("b", 0) && nodes.b.established("a", 0));
  assert.equal(run(nodes, send(nodes, "b", "a", "ok", 1), 1), ["a<b: ok"]);
  assert.equal(nodes.a.counts.handshakes + nodes.b.counts.handshakes, 1);
});

test("both start at once: both handshakes complete and no datagram is lost or doubled", () => {
  const nodes = { a: node("a", 3), b: node("b", 4) };
  const wire = [...send(nodes, "a", "b", "from a", 0), ...send(nodes, "b", "a", "from b", 0)];
  assert.equal(run(nodes, wire, 0).sort(), ["a<b: from b", "b<a: from a"]);
  const more: Wire[] = [];
  for (let i = 0; i < 5; i++) more.push(...send(nodes, "a", "b", `a${i}`, 1), ...send(nodes, "b", "a", `b${i}`, 1));
  assert.is(more.length, 10, "no more handshakes");
  assert.equal(run(nodes, more, 1).length, 10);
});

test("a different cluster key, a key not pinned, or an unknown id: no session", () => {
  const other = { a: node("a", 5), b: node("b", 6, { clusterKey: text("another cluster key\n") }) };
  const r1 = other.b.receive(other.a.seal("b", text("x"), 0)[0], ADDRESS.a, 0);
  assert.equal([r1.kind, r1.reason], ["drop", "bad-handshake"]);
  const unkeyed = { a: node("a", 7, { clusterKey: null }), b: node("b", 8, { clusterKey: null }) };
  assert.equal(run(unkeyed, send(unkeyed, "a", "b", "no psk", 0), 0), ["b<a: no psk"], "without a cluster key both use 32 zero bytes");
  const mixed = { a: node("a", 9, { clusterKey: null }), b: node("b", 10) };
  assert.is(mixed.b.receive(mixed.a.seal("b", text("x"), 0)[0], ADDRESS.a, 0).reason, "bad-handshake");
  // c claims to be a (its initiation names "a"), but has only its own static key.
  const impostor = new PeerTransport({ selfId: "a", staticKey: KEYS.c, peers: [{ id: "b", publicKey: KEYS.b.publicKey }], clusterKey: CLUSTER, ...seeded(11), now: 0 });
  const b = node("b", 12);
  assert.is(b.receive(impostor.seal("b", text("x"), 0)[0], ADDRESS.c, 0).reason, "bad-handshake");
  // A server b does not know.
  const stranger = new PeerTransport({ selfId: "d", staticKey: staticKey("d"), peers: [{ id: "b", publicKey: KEYS.b.publicKey }], clusterKey: CLUSTER, ...seeded(13), now: 0 });
  assert.is(b.receive(stranger.seal("b", text("x"), 0)[0], "127.0.0.1:7104", 0).reason, "unknown-peer");
  assert.is(b.counts.handshakes, 1, "the impostor cost one handshake, the stranger none");
});

test("b restarts: a's next datagram gets a reset, a handshakes again and later datagrams arrive", () => {
  const nodes: Record<string, PeerTransport> = { a: node("a", 14), b: node("b", 15) };
  run(nodes, send(nodes, "a", "b", "before", 0), 0);
  nodes.b = node("b", 16);
  const lost = send(nodes, "a", "b", "lost in the restart", 1000);
  assert.equal(run(nodes, lost, 1000), [], "the reset made a handshake; the datagram itself is gone (asks repair that)");
  assert.ok(nodes.a.established("b", 1000));
  assert.equal(run(nodes, send(nodes, "a", "b", "after", 1001), 1001), ["b<a: after"]);
});

test("a replayed initiation makes only a session that is never used; the link carries on", () => {
  const nodes = { a: node("a", 17), b: node("b", 18) };
  const [init] = nodes.a.seal("b", text("first"), 0);
  run(nodes, [{ to: "b", from: "a", bytes: init }], 0);
  const replay = nodes.b.receive(init, ADDRESS.a, 5);
  assert.is(replay.kind, "handshake", "b cannot tell a replay (it costs one handshake)");
  const r = nodes.a.receive(replay.toPeer[0], ADDRESS.b, 5);
  assert.equal([r.kind, r.reason], ["drop", "stale-handshake"]);
  assert.equal(run(nodes, [...send(nodes, "a", "b", "still", 6), ...send(nodes, "b", "a", "fine", 6)], 6).sort(), ["a<b: fine", "b<a: still"]);
});

test("the initiator rekeys at 120 s, a responder that sends at 150 s; old sessions receive until 180 s", () => {
  const nodes = { a: node("a", 19), b: node("b", 20) };
  run(nodes, send(nodes, "a", "b", "x", 0), 0);
  assert.is(send(nodes, "a", "b", "y", 119_999).length, 1);
  assert.is(send(nodes, "b", "a", "y", 149_999).length, 1, "b was the responder: not yet");
  const rekey = send(nodes, "a", "b", "z", 120_000);
  assert.is(rekey.length, 2, "an initiation beside the datagram");
  const old = send(nodes, "b", "a", "on the old session", 120_000);
  assert.equal(run(nodes, [...rekey, ...old], 120_000).sort(), ["a<b: on the old session", "b<a: z"]);
  assert.equal(nodes.a.counts.handshakes + nodes.b.counts.handshakes, 2);
});

test("three servers: each pair links once, datagrams go only where they are sent", () => {
  const nodes = { a: node("a", 21), b: node("b", 22), c: node("c", 23) };
  const wire = [...send(nodes, "a", "b", "ab", 0), ...send(nodes, "a", "c", "ac", 0), ...send(nodes, "c", "b", "cb", 0)];
  assert.equal(run(nodes, wire, 0).sort(), ["b<a: ab", "b<c: cb", "c<a: ac"]);
  assert.throws(() => nodes.a.seal("a", text("x"), 0), RangeError);
});

test.run();
