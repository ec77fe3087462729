/**
 * A fan-out carries its sender's `got` (peer protocol version 3, issue 27):
 * on the in-memory cluster (testing/memory_cluster.ts), once the servers
 * know each other's versions, the `add`s a server sends after a commit of
 * its own ops end with `got <at>`, the peers read them as its `got` (its
 * disk vector and clock: with every stand-alone `got` of that server lost,
 * they still learn its clock and ack what it confirms), and a server that
 * keeps making ops sends hardly any `got` of its own.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodePeer } from "../lib/wire/codec.ts";
import type { PeerDatagram } from "../lib/wire/messages.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";

/** Logs `user` in at `at` and opens (bob) or joins room "r"; returns the token. */
function login(c: MemoryCluster, user: string, at: string): string {
  c.send(at, { verb: "login", tag: `L${user}`, userName: user });
  c.run(50);
  const token = (c.reply(`L${user}`) as { token: string }).token;
  c.send(at, { verb: user === "bob" ? "open" : "connect", tag: `O${user}`, token, groupName: "r" });
  c.run(200);
  return token;
}

const peerDatagram = (bytes: Uint8Array): PeerDatagram | null => {
  const r = decodePeer(bytes);
  return r.ok ? r.value.datagram : null;
};

test("fan-outs carry the got; peers read it as one; a busy server sends few gots of its own", async () => {
  const c = await memoryCluster({ ids: ["a", "b", "c"] });
  try {
    const fromA: PeerDatagram[] = [];
    // Every stand-alone `got` of a is lost, from the start: only its fan-outs can tell b and c its disk and clock.
    c.setDrop((from, _to, bytes) => {
      const d = from === "a" ? peerDatagram(bytes) : null;
      if (d) fromA.push(d);
      return d?.verb === "got";
    });
    const bob = login(c, "bob", "a");
    login(c, "carol", "b");
    c.run(2000); // the version handshakes
    fromA.length = 0;
    // 20 adds at a, 100 ms apart: each fanned out with the got.
    for (let i = 0; i < 20; i++) {
      c.send("a", { verb: "add", tag: `t${i}`, token: bob, groupName: "r", msg: `line ${i}` });
      c.run(100);
    }
    c.run(500);
    for (let i = 0; i < 20; i++) assert.is(c.reply(`t${i}`)?.verb, "ok", `add ${i} acked`);
    const fanOuts = fromA.filter((d) => d.verb === "add" && d.ops.length > 0);
    assert.ok(fanOuts.length >= 40, `${fanOuts.length} fan-out datagrams`);
    assert.ok(fanOuts.every((d) => d.verb === "add" && typeof d.got === "number"), "every fan-out carries the got");
    for (const id of ["b", "c"]) assert.type(c.node(id).status().peers.a.clockOffsetMs, "number", `${id} read a's got from its fan-outs`);
    // a would have told b and c its disk every 250 ms (16 gots in 2.5 s); the fan-outs stood for them.
    const own = fromA.filter((d) => d.verb === "got").length;
    assert.ok(own <= 4, `${own} stand-alone gots of a`);
    assert.equal(c.listing("c", "r"), c.listing("a", "r"));
  } finally {
    c.close();
  }
});

test("a confirmer whose stand-alone gots are all lost still lets its origin ack, by the got its fan-outs carry", async () => {
  const c = await memoryCluster({ ids: ["a", "b", "c"] });
  try {
    const bob = login(c, "bob", "a");
    const carol = login(c, "carol", "b");
    c.run(2000);
    // b confirms a's messages (the first live server after a); from now on every stand-alone `got` of b is lost
    // (for less than LIVENESS.confirmerDownMs, after which c's disk would stand in for b's).
    c.setDrop((from, _to, bytes) => from === "b" && peerDatagram(bytes)?.verb === "got");
    c.send("a", { verb: "add", tag: "x1", token: bob, groupName: "r", msg: "from a" });
    c.run(400);
    assert.is(c.reply("x1"), undefined, "held: b's got never came");
    // b makes an op of its own: its fan-out tells a what b has on disk, a's message included.
    c.send("b", { verb: "add", tag: "y1", token: carol, groupName: "r", msg: "from b" });
    c.run(300);
    assert.is(c.reply("x1")?.verb, "ok", "acked once b's fan-out came");
    assert.is(c.reply("y1")?.verb, "ok");
  } finally {
    c.close();
  }
});

test.after(() => removeTempDirs());
test.run();
