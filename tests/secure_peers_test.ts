/**
 * Encrypted peer links between real servers (lib/server/secure_peers.ts,
 * docs/PEER_PROTOCOL.md "Encrypted transport"): each server's servers.txt
 * peer address is a UDP proxy in front of its real peer port, which
 * captures every peer datagram both ways.
 * - The capture holds no message text, token, user or room name; a
 *   captured data datagram replayed, replayed in reverse order, truncated
 *   or bit-flipped is dropped (counted by reason) and changes nothing.
 * - A peer killed and restarted handshakes again and replication resumes
 *   both ways.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bindUdp } from "../lib/net/udp_node.ts";
import { KIND } from "../lib/secure/envelope.ts";
import { type Address, formatAddress } from "../lib/wire/address.ts";
import { add, askState, connectWhenThere, enter, login, readAll, sleep, tag, within } from "../testing/cluster_ops.ts";
import { freePort, lines, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { startUdpProxy, type UdpProxy } from "../testing/udp_proxy.ts";

const IDS = ["a", "b"] as const;

/** Two keyed servers behind capturing proxies on their peer ports. */
async function proxiedPair() {
  const dir = tempDir("distchat-secure-peers-");
  const key = randomBytes(32);
  const keyFile = join(dir, "cluster.key");
  writeFileSync(keyFile, key, { mode: 0o600 });
  const { file, entries } = await makeCluster([...IDS], dir);
  const captured: { to: string; direction: "forward" | "back"; bytes: Uint8Array }[] = [];
  const proxies: UdpProxy[] = [];
  const real = new Map<string, Address>();
  for (const e of entries) {
    const r = { host: "127.0.0.1", port: await freePort() };
    real.set(e.id, r);
    proxies.push(await startUdpProxy({ listen: e.peer, target: r, onDatagram: (bytes, direction) => captured.push({ to: e.id, direction, bytes: bytes.slice() }) }));
  }
  const start = (id: string) =>
    startServer({ id, servers: file, db: join(dir, `${id}.sqlite`), extraArgs: ["--cluster-key", keyFile, "--peer-listen", formatAddress(real.get(id)!)] });
  const servers = new Map<string, ServerHandle>();
  for (const [id, s] of await Promise.all(IDS.map(async (id) => [id, await start(id)] as const))) servers.set(id, s);
  const close = async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await Promise.all(proxies.map((p) => p.close()));
  };
  return { key, captured, real, servers, start, close };
}

test("the capture between two servers holds no text, token or name; tampered datagrams are dropped and change nothing", async () => {
  const p = await proxiedPair();
  const u = await udpClient();
  const spy = await bindUdp({ host: "127.0.0.1", port: 0 }, () => {});
  try {
    const a = p.servers.get("a")!, b = p.servers.get("b")!;
    const token = await login(u, a.clientAddr, "walrusowner");
    await enter(u, a.clientAddr, token, "zebraroom");
    for (let i = 0; i < 20; i++) await add(u, a.clientAddr, token, "zebraroom", `walrus number ${i}`);
    const id = await add(u, a.clientAddr, token, "zebraroom", "the quick secret walrus");
    await connectWhenThere(u, b.clientAddr, token, "zebraroom");
    assert.ok(await within(10_000, async () => (await readAll(u, b.clientAddr, token, "zebraroom")).ids.includes(id)) !== null, "b has the message");

    const wire = Buffer.concat(p.captured.map((d) => d.bytes));
    assert.ok(p.captured.some((d) => d.to === "a") && p.captured.some((d) => d.to === "b"), "peer traffic both ways captured");
    for (const secret of ["the quick secret walrus", token, "zebraroom", "walrusowner", "add\n", "got\n"]) {
      assert.is(wire.indexOf(Buffer.from(secret)), -1, `${JSON.stringify(secret)} on the wire between servers`);
    }
    assert.ok(p.captured.every((d) => d.bytes[0] < 0x20), "every peer datagram is a transport datagram");

    // Tamper with what was sent to b, straight to its real peer port.
    const before = (await askState(u, b.peerAddr, p.key, 3000))!;
    const data = p.captured.filter((d) => d.to === "b" && d.direction === "forward" && d.bytes[0] === KIND.data).map((d) => d.bytes).slice(-40);
    assert.ok(data.length >= 20, `${data.length} data datagrams to b`);
    const to = p.real.get("b")!;
    const flipped = (x: Uint8Array, at: number) => {
      const y = x.slice();
      y[at] ^= 0x04;
      return y;
    };
    const forged: Uint8Array[] = [
      ...data, // replayed
      ...data.slice().reverse(), // replayed, reordered
      ...data.map((x) => x.subarray(0, x.length - 1)), // truncated
      ...data.map((x) => flipped(x, x.length - 3)), // bit flip in the tag
      ...data.map((x) => flipped(x, 7)), // bit flip in the counter: a counter not seen (about 2^18 on), which does not authenticate
      ...data.map((x) => flipped(x, 11)), // a counter past 2^41, which no session may use
    ];
    for (const x of forged) spy.send(x, to);
    await sleep(500);
    const after = (await askState(u, b.peerAddr, p.key, 3000))!;
    assert.is(after.messages, before.messages);
    const grew = (r: string) => (after.dropped[r] ?? 0) - (before.dropped[r] ?? 0);
    const drops = JSON.stringify(after.dropped);
    // The replay window is checked before the AEAD: a replayed counter is dropped as a replay whatever else was changed.
    assert.ok(grew("replay") >= 4 * data.length, `replays ${drops}`);
    assert.ok(grew("bad-data") >= data.length, `bad data ${drops}`);
    assert.ok(grew("exhausted") >= data.length, `exhausted ${drops}`);
    // Still working: a new message reaches b.
    const next = await add(u, a.clientAddr, token, "zebraroom", "after the tampering");
    assert.ok(await within(10_000, async () => (await readAll(u, b.clientAddr, token, "zebraroom")).ids.includes(next)) !== null);
    assert.is((await readAll(u, b.clientAddr, token, "zebraroom")).ids.length, 22);
  } finally {
    await spy.close();
    await u.close();
    await p.close();
  }
});

test("a peer killed and restarted handshakes again; replication resumes both ways", async () => {
  const p = await proxiedPair();
  const u = await udpClient();
  try {
    const a = p.servers.get("a")!;
    const token = await login(u, a.clientAddr, "ann");
    await enter(u, a.clientAddr, token, "r");
    await add(u, a.clientAddr, token, "r", "before");
    await connectWhenThere(u, p.servers.get("b")!.clientAddr, token, "r");
    await p.servers.get("b")!.kill9();
    // Its ack waits for b (two-disk acks): sent, not waited for.
    u.send(a.clientAddr, lines("add", tag(), token, "while b is down", "r"));
    await sleep(300);
    const b = await p.start("b");
    p.servers.set("b", b);
    const t0 = performance.now();
    await add(u, a.clientAddr, token, "r", "after b restarted");
    const has = (s: ServerHandle, texts: string[]) => async () => {
      const got = (await readAll(u, s.clientAddr, token, "r").catch(() => ({ msgs: [] as string[] }))).msgs;
      return texts.every((t) => got.includes(t));
    };
    assert.ok(await within(10_000, has(b, ["before", "while b is down", "after b restarted"])) !== null, "b has what a added before, while it was down and after");
    await add(u, b.clientAddr, token, "r", "from the restarted b");
    assert.ok(await within(10_000, has(a, ["from the restarted b"])) !== null, "a has what the restarted b added");
    console.log(`    replication a <-> restarted b resumed within ${Math.round(performance.now() - t0)} ms`);
  } finally {
    await u.close();
    await p.close();
  }
});

test.after(removeTempDirs);
test.run();
