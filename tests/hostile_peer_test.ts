/**
 * Hostile input on the peer port of real, keyed servers (SECURITY.md):
 * - an authenticated peer (it holds the cluster key and its own key=, and
 *   speaks the encrypted peer transport) sends 100,000 ops that
 *   can never be delivered: the causal buffer keeps at most its per-peer
 *   share, the server's memory stays bounded, clients are served and honest
 *   replication goes on;
 * - forged `ask`s and `stat`s from a source without the key get nothing back.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPeerAuth } from "../lib/replication/peer_auth.ts";
import { encodePeer } from "../lib/wire/codec.ts";
import type { Op } from "../lib/wire/messages.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { readStaticKeyFile } from "../lib/config/static_key.ts";
import { PeerTransport } from "../lib/secure/peer_transport.ts";
import { generateKeyPair } from "../lib/secure/suite.ts";
import { formatAddress } from "../lib/wire/address.ts";
import { add, askState, enter, login, readAll, sleep, within } from "../testing/cluster_ops.ts";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { groupUsage } from "../testing/processes.ts";

const groupRssMiB = (pgid: number) => groupUsage(pgid).rssMiB;

const PER_PEER_BUFFER = 20_000;

test("an authenticated peer's 100,000 undeliverable ops: the buffer keeps its share, memory stays bounded, replication goes on", async () => {
  const dir = tempDir("distchat-hostile-");
  const key = randomBytes(32);
  const keyFile = join(dir, "cluster.key");
  writeFileSync(keyFile, key, { mode: 0o600 });
  // m is in servers.txt but no server runs there: the test plays it.
  const { file, entries } = await makeCluster(["a", "b", "m"], dir);
  const m = entries.find((e) => e.id === "m")!;
  const running: ServerHandle[] = [];
  const u = await udpClient();
  // m speaks the encrypted peer transport with its own key= (the servers' links are encrypted): a server that holds it.
  const link = new PeerTransport({
    selfId: "m",
    staticKey: readStaticKeyFile(join(dir, "m.server.key")).keyPair,
    peers: entries.filter((e) => e.id !== "m").map((e) => ({ id: e.id, publicKey: e.key! })),
    clusterKey: key,
    random: (n) => randomBytes(n),
    newKeyPair: generateKeyPair,
    now: Date.now(),
  });
  const peerAt = (id: string | null) => entries.find((e) => e.id === id)?.peer;
  // Answer the servers' handshakes, ignore the rest.
  const sock = await bindUdp(m.peer, (bytes, from) => {
    const r = link.receive(bytes, formatAddress(from), Date.now());
    for (const b of r.toPeer) sock.send(b, peerAt(r.peer)!);
    if (r.toSource) sock.send(r.toSource, from);
  });
  const toA = (d: Parameters<typeof encodePeer>[0]) => link.seal("a", encodePeer(d), Date.now()).forEach((b) => sock.send(b, peerAt("a")!));
  try {
    for (const id of ["a", "b"]) running.push(await startServer({ id, servers: file, db: join(dir, `${id}.sqlite`), extraArgs: ["--cluster-key", keyFile] }));
    const [a, b] = running;
    const ann = await login(u, a.clientAddr, "ann");
    await enter(u, a.clientAddr, ann, "r");
    await add(u, a.clientAddr, ann, "r", "before");
    await sleep(500);
    // seq 1 never comes: nothing of the flood can be delivered.
    const session = "e".repeat(64);
    const at = Date.now();
    // The flood must come once m has a session with a (datagrams sealed before wait, 256 at most): one datagram starts it.
    toA({ verb: "add", from: "m", nonce: "-", vector: fromEntries([["m", 2]]), ops: [{ origin: "m", seq: 2, kind: "touch", deps: fromEntries([]), at, session }] });
    assert.ok((await within(10_000, async () => link.established("a", Date.now()))) !== null, "m has a session with a");
    await sleep(200);
    const rssBefore = groupRssMiB(a.pid);
    let seq = 2;
    const TOTAL = 100_000;
    const PER_DATAGRAM = 70;
    let datagrams = 0;
    while (seq < TOTAL + 2) {
      for (let k = 0; k < 20 && seq < TOTAL + 2; k++) {
        const ops: Op[] = [];
        for (let i = 0; i < PER_DATAGRAM && seq < TOTAL + 2; i++) ops.push({ origin: "m", seq: seq++, kind: "touch", deps: fromEntries([]), at, session });
        toA({ verb: "add", from: "m", nonce: "-", vector: fromEntries([["m", seq - 1]]), ops });
        datagrams++;
      }
      await sleep(2);
    }
    await sleep(1000);
    // a drains the flood first (3-5 s under Deno at load 17-20, sealed or not): asked again for up to 10 s.
    let s: Awaited<ReturnType<typeof askState>> = null;
    for (let i = 0; i < 10 && s === null; i++) s = await askState(u, a.peerAddr, key, 1000);
    assert.ok(s !== null, "a answers status");
    assert.ok(s!.gapsPending <= PER_PEER_BUFFER, `buffered ${s!.gapsPending}`);
    const refused = Object.entries(s!.dropped).filter(([k]) => !["unknown-epoch"].includes(k)).reduce((n, [, v]) => n + v, 0);
    const rss = groupRssMiB(a.pid);
    console.log(`    ${TOTAL} ops in ${datagrams} datagrams: ${s!.gapsPending} buffered, drops ${JSON.stringify(s!.dropped)}; RSS ${rssBefore.toFixed(0)} → ${rss.toFixed(0)} MiB`);
    assert.ok(s!.gapsPending + refused >= TOTAL * 0.5, "most of the flood was seen (buffered or refused)");
    // Unbounded, the buffer alone grew RSS by 193 MiB; bounded, what grows is the garbage of decoding the flood.
    assert.ok(rss < 260, `RSS ${rss.toFixed(0)} MiB`);
    // Clients are served and replication a → b goes on.
    const t0 = performance.now();
    const bob = await login(u, a.clientAddr, "bob");
    assert.ok(performance.now() - t0 < 500, "a login is answered promptly");
    const id = await add(u, a.clientAddr, ann, "r", "after the flood");
    assert.ok(await within(5000, async () => (await readAll(u, b.clientAddr, ann, "r").catch(() => ({ ids: [] as string[] }))).ids.includes(id)), "b got the new line");
    assert.ok(bob.length > 0);
  } finally {
    await Promise.all(running.map((s) => s.stop()));
    await sock.close();
    await u.close();
  }
});

test("forged asks and stats from a source without the key get nothing back", async () => {
  const dir = tempDir("distchat-hostile-");
  const keyFile = join(dir, "cluster.key");
  writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  const { file } = await makeCluster(["a", "b"], dir);
  // b never runs: acks on a's disk alone.
  const a = await startServer({ id: "a", servers: file, db: join(dir, "a.sqlite"), extraArgs: ["--cluster-key", keyFile, "--one-disk-acks"] });
  const u = await udpClient();
  const wrong = randomBytes(32);
  try {
    const ann = await login(u, a.clientAddr, "ann");
    await enter(u, a.clientAddr, ann, "r");
    for (let i = 0; i < 20; i++) await add(u, a.clientAddr, ann, "r", `line ${i} ${"x".repeat(500)}`);
    const spy = await udpClient();
    let sent = 0;
    const forged = [
      encodePeer({ verb: "ask", from: "b", nonce: "-", vector: fromEntries([]) }),
      encodePeer({ verb: "stat", from: "status", nonce: "-" }),
      createPeerAuth({ key: wrong, peers: ["a"], now: Date.now, random: randomBytes }).seal({ verb: "ask", from: "b", nonce: "-", vector: fromEntries([]) }),
    ];
    for (let i = 0; i < 20; i++) {
      for (const d of forged) {
        spy.send(a.peerAddr, d);
        sent += d.length;
      }
    }
    const back = await spy.next(1000);
    assert.is(back, null, `nothing back to the forger (it sent ${sent} bytes)`);
    await spy.close();
  } finally {
    await a.stop();
    await u.close();
  }
});

test.after(removeTempDirs);
test.run();
