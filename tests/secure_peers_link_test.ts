/**
 * lib/server/secure_peers.ts in memory: three servers' links over a
 * hand-delivered network (time by hand). Fan-outs go per peer until every
 * peer has a session and the group key, then as one group datagram each
 * receiver opens; a datagram whose `from` is not its session's peer, and a
 * plaintext peer datagram, are dropped and counted; a `stat` passes and
 * only a `state` leaves unsealed; a restarted receiver gets the group key
 * on its new session; with --allow-plaintext a peer of the earlier release
 * (a rolling upgrade) is read and answered in plaintext; the first data
 * datagram of a peer's new session (a restarted peer) makes the link greet
 * it (the peer port answers with a heartbeat at once).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { securePeers } from "../lib/server/secure_peers.ts";
import type { Address } from "../lib/wire/address.ts";
import { formatAddress } from "../lib/wire/address.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { createPeerAuth } from "../lib/replication/peer_auth.ts";
import { decodePeer, encodePeer } from "../lib/wire/codec.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { read, seeded, staticKey, text } from "./_secure.ts";

const IDS = ["a", "b", "c"] as const;
const PEER: Record<string, Address> = { a: { host: "127.0.0.1", port: 7101 }, b: { host: "127.0.0.1", port: 7102 }, c: { host: "127.0.0.1", port: 7103 } };
const GROUP: Address = { host: "239.255.0.1", port: 7200 };
const KEYS = Object.fromEntries(IDS.map((id) => [id, staticKey(id)]));

type Wire = { to: string; group: boolean; bytes: Uint8Array; from: string };

function cluster() {
  const clock = new ManualClock(1000);
  const wire: Wire[] = [];
  const got: Record<string, string[]> = { a: [], b: [], c: [] };
  const drops: Record<string, string[]> = { a: [], b: [], c: [] };
  const greeted: Record<string, string[]> = { a: [], b: [], c: [] };
  const make = (id: string, seed: number) => {
    const peers = new Map(IDS.filter((p) => p !== id).map((p) => [p, PEER[p]] as const));
    const port = { onDatagram: (b: Uint8Array) => got[id].push(read(b)!), greet: (p: string) => greeted[id].push(p), replicator: { noteDropped: (r: string) => drops[id].push(r) } };
    const link = securePeers({
      self: id,
      secure: { staticKey: KEYS[id], peerKeys: new Map([...peers.keys()].map((p) => [p, KEYS[p].publicKey])) },
      clusterKey: text("cluster key\n"),
      random: seeded(seed).random,
      clock,
      peers,
      multicast: GROUP,
      port,
    })!;
    const toId = (a: Address) => IDS.find((p) => formatAddress(PEER[p]) === formatAddress(a)) ?? "elsewhere";
    link.start({ send: (bytes, to) => wire.push({ to: toId(to), group: false, bytes, from: id }) }, { send: (bytes) => wire.push({ to: "group", group: true, bytes, from: id }) });
    return link;
  };
  const links = Object.fromEntries(IDS.map((id) => [id, make(id, IDS.indexOf(id) + 1)]));
  /** Server `id` restarted: new links, no sessions, no group keys. */
  const restart = (id: string) => {
    links[id] = make(id, 100 + (IDS as readonly string[]).indexOf(id));
    got[id] = [];
    drops[id] = [];
  };
  /** Delivers until the network is quiet (group datagrams to every server, the sender's own included). */
  const run = () => {
    for (let n = 0; wire.length > 0 && n < 10_000; n++) {
      const w = wire.shift()!;
      if (w.group) for (const id of IDS) links[id].receiveGroup(w.bytes, PEER[w.from]);
      else if (w.to in links) links[w.to].receive(w.bytes, PEER[w.from]);
    }
  };
  return { clock, wire, got, drops, greeted, links, run, restart };
}

const fanOut = (c: ReturnType<typeof cluster>, from: string, s: string) => c.links[from].groupOut.send(text(s), GROUP);

test("fan-outs go per peer until every peer holds the group key, then as one group datagram", () => {
  const c = cluster();
  fanOut(c, "a", "add\na\n1\n");
  assert.ok(c.wire.every((w) => !w.group && w.bytes[0] === 0x05), "initiations first; the datagram waits");
  c.run();
  assert.equal([c.got.b, c.got.c], [["add\na\n1\n"], ["add\na\n1\n"]]);
  assert.equal(c.links.a.counts, { groupSent: 0, groupFallback: 1, groupOpened: 0 });
  c.clock.advance(10);
  fanOut(c, "a", "add\na\n2\n");
  assert.is(c.wire.length, 1);
  assert.ok(c.wire[0].group && c.wire[0].bytes[0] === 0x07);
  c.run();
  assert.equal([c.got.b.at(-1), c.got.c.at(-1)], ["add\na\n2\n", "add\na\n2\n"]);
  assert.is(c.got.a.length, 0, "its own group datagram, looped back, is ignored");
  assert.is(c.links.b.counts.groupOpened + c.links.c.counts.groupOpened, 2);
  assert.equal(c.drops, { a: [], b: [], c: [] });
});

test("a datagram naming another sender, a plaintext peer datagram and a forged group datagram are dropped; a stat passes", () => {
  const c = cluster();
  fanOut(c, "a", "got\na\n0\n");
  c.run();
  c.links.a.out.send(text("add\nc\n-\n"), PEER.b); // a claims to be c, inside its own session with b
  c.run();
  assert.equal(c.drops.b, ["wrong-sender"]);
  c.links.b.receive(text("ask\nc\n-\n0\n-\n"), PEER.c);
  c.links.b.receive(text("stat\nstatus\n-\n-\n"), { host: "127.0.0.1", port: 9999 });
  assert.equal(c.drops.b, ["wrong-sender", "plaintext"]);
  assert.equal(c.got.b.slice(1), ["stat\nstatus\n-\n-\n"]);
  const g = (() => {
    c.clock.advance(10);
    fanOut(c, "a", "add\na\n3\n");
    return c.wire.shift()!.bytes;
  })();
  const flipped = g.slice();
  flipped[20] ^= 1;
  c.links.b.receiveGroup(flipped, PEER.a);
  c.links.b.receiveGroup(g, PEER.a);
  c.links.b.receiveGroup(g, PEER.a);
  assert.equal(c.drops.b.slice(2), ["bad-tag", "replay"]);
  assert.equal(c.got.b.at(-1), "add\na\n3\n");
});

test("through `out`, only a state answer goes unsealed, to a non-peer address; nothing goes to a server without a link", () => {
  const c = cluster();
  const tool = { host: "127.0.0.1", port: 9999 };
  c.links.a.out.send(text("state\na\n-\n{}\n-\n"), tool);
  c.links.a.out.send(text("add\na\n-\n0\n0\n-\n"), tool);
  c.links.a.out.send(text("add\na\n-\n0\n0\n-\n"), { host: "127.0.0.1", port: 7199 });
  assert.equal(c.wire.map((w) => [w.to, read(w.bytes)]), [["elsewhere", "state\na\n-\n{}\n-\n"]]);
  assert.equal(c.drops.a, ["no-link", "no-link"]);
});

test("a restarted receiver drops group datagrams until its new session brings the key; then they open, no fan-out lost for good", () => {
  const c = cluster();
  fanOut(c, "a", "add\na\n1\n");
  c.run();
  c.clock.advance(10);
  c.restart("c");
  fanOut(c, "a", "add\na\n2\n");
  c.run();
  assert.equal(c.got.c, [], "c has no key yet");
  assert.equal(c.drops.c, ["unknown-group-key"]);
  assert.equal(c.got.b.at(-1), "add\na\n2\n");
  // c speaks first (a heartbeat, as every server does within a tick): a new session, then a's grants on it.
  c.links.c.out.send(text("add\nc\n-\n0\n0\n-\n"), PEER.a);
  c.run();
  assert.equal(c.got.a.at(-1), "add\nc\n-\n0\n0\n-\n");
  c.clock.advance(10);
  fanOut(c, "a", "add\na\n3\n");
  const sent = c.wire.length;
  c.run();
  assert.is(sent, 1, "one group datagram again");
  assert.equal(c.got.c, ["add\na\n3\n"]);
});

test("a restarted peer's first datagram on its new session is greeted (once, by the server it reached); the same session's next is not", () => {
  const c = cluster();
  c.links.a.out.send(text("add\na\n1\n"), PEER.c);
  c.run();
  assert.equal(c.got.c, ["add\na\n1\n"], "a session between a and c");
  c.restart("c");
  for (const id of IDS) c.greeted[id] = [];
  const heartbeat = "add\nc\n-\n0\n0\n-\n";
  c.links.c.out.send(text(heartbeat), PEER.a);
  c.run();
  assert.equal(c.got.a.at(-1), heartbeat);
  assert.equal(c.greeted, { a: ["c"], b: [], c: [] });
  c.clock.advance(10);
  c.links.c.out.send(text(heartbeat), PEER.a);
  c.run();
  assert.equal(c.greeted, { a: ["c"], b: [], c: [] }, "not again on the same session");
  // A datagram naming another sender on a new session: dropped, not greeted.
  c.restart("b");
  c.links.b.out.send(text("add\nc\n-\n0\n0\n-\n"), PEER.a);
  c.run();
  assert.equal(c.drops.a.at(-1), "wrong-sender");
  assert.equal(c.greeted.a, ["c"]);
});

test("with --allow-plaintext, a peer of the earlier release (plaintext, HMAC) is read once it proves its epoch and answered in plaintext; initiations go too", () => {
  const clock = new ManualClock(1000);
  const sent: { to: string; bytes: Uint8Array }[] = [];
  const got: string[] = [], drops: string[] = [];
  const cluster = text("cluster key\n");
  const a = securePeers({
    self: "a",
    secure: { staticKey: KEYS.a, peerKeys: new Map([["b", KEYS.b.publicKey], ["c", KEYS.c.publicKey]]), allowPlaintext: true },
    clusterKey: cluster,
    random: seeded(9).random,
    clock,
    peers: new Map([["b", PEER.b], ["c", PEER.c]]),
    multicast: null,
    port: { onDatagram: (b: Uint8Array) => got.push(read(b)!), replicator: { noteDropped: (r: string) => drops.push(r) } },
  })!;
  a.start({ send: (bytes, to) => sent.push({ to: formatAddress(to), bytes }) });
  const old = createPeerAuth({ key: cluster, peers: ["a"], now: () => clock.now(), random: seeded(10).random });
  const ask = { verb: "ask" as const, from: "b", nonce: "-", vector: fromEntries([]) };
  a.receive(old.seal(ask), PEER.b);
  assert.equal(drops, ["unknown-epoch"]);
  const hello = decodePeer(sent.pop()!.bytes);
  assert.ok(hello.ok && hello.value.datagram.verb === "hello", "a hello, in plaintext, to b");
  const v = old.verify(hello.value);
  assert.ok(!v.ok && v.answer !== undefined);
  a.receive(old.seal({ ...v.answer!, from: "b" }), PEER.b);
  a.receive(old.seal(ask), PEER.b);
  assert.is(got.length, 1, "b's ask, once its epoch is proved");
  assert.ok(got[0].startsWith("ask\nb\n"));
  a.out.send(encodePeer({ ...ask, from: "a" }), PEER.b);
  const toB = sent.filter((w) => w.to === formatAddress(PEER.b));
  assert.ok(toB.some((w) => w.bytes[0] === 0x05), "an initiation (it finds b once upgraded)");
  const plain = toB.map((w) => decodePeer(w.bytes)).find((d) => d.ok && d.value.datagram.verb === "ask");
  assert.ok(plain?.ok && plain.value.mac !== "-", "the ask in plaintext, under the cluster key's mac");
  // Garbage and an unkeyed datagram are still refused.
  a.receive(encodePeer(ask), PEER.b);
  a.receive(text("not a datagram"), PEER.b);
  assert.equal(drops.slice(1), ["unauthenticated", "malformed"]);
});

test.run();
