/**
 * Replay across a restart, black-box over real UDP (docs/PEER_PROTOCOL.md
 * "Authentication and drops"): two keyed servers; every datagram x sends y
 * is recorded by a proxy in front of y's peer port; y restarts; the
 * recordings are sent to y's peer port again. None may pass: each is
 * refused by authentication (an epoch y does not know yet, a counter at or
 * below the floor its proof set, a proof of a challenge y did not make),
 * and y's data is unchanged. (A replayed `hello` is answered with a proof,
 * at a bounded rate: it changes nothing.)
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatAddress } from "../lib/wire/address.ts";
import type { StatusReport } from "../lib/server/status.ts";
import { askState, login, sleep, within } from "../testing/cluster_ops.ts";
import { freePort, lines, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { startUdpProxy } from "../testing/udp_proxy.ts";

const AUTH_DROPS = ["unknown-epoch", "stale", "replay", "bad-proof"];
const authDrops = (r: StatusReport | null) => AUTH_DROPS.reduce((n, k) => n + (r?.dropped[k] ?? 0), 0);

test("datagrams recorded before a restart are all refused after it", async () => {
  const dir = tempDir("distchat-replay-");
  const key = randomBytes(32);
  const keyFile = join(dir, "cluster.key");
  writeFileSync(keyFile, key, { mode: 0o600 }); // the file's bytes are the key
  const [xClient, xPeer, yClient, yProxy, yPeer] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  const at = (port: number) => ({ host: "127.0.0.1", port });
  const file = join(dir, "servers.txt");
  writeFileSync(file, `x 127.0.0.1:${xClient} 127.0.0.1:${xPeer}\ny 127.0.0.1:${yClient} 127.0.0.1:${yProxy}\n`);
  const recorded: Uint8Array[] = [];
  const proxy = await startUdpProxy({ listen: at(yProxy), target: at(yPeer), onDatagram: (b, dir) => dir === "forward" && recorded.push(b.slice()) });
  const u = await udpClient();
  const running: ServerHandle[] = [];
  const start = async (id: string) => {
    const extra = ["--cluster-key", keyFile, ...(id === "y" ? ["--peer-listen", formatAddress(at(yPeer))] : [])];
    const s = await startServer({ id, servers: file, db: join(dir, `${id}.sqlite`), extraArgs: extra });
    running.push(s);
    return s;
  };
  try {
    const x = await start("x");
    let y = await start("y");
    const token = await login(u, x.clientAddr, "alice");
    await u.request(x.clientAddr, lines("open", "o1", token, "r"));
    for (let i = 0; i < 10; i++) await u.request(x.clientAddr, lines("add", `a${i}`, token, `line ${i}`, "r"));
    const before = await askState(u, at(yPeer), key);
    assert.ok(before && before.messages === 10, `y holds ${before?.messages} messages`);
    assert.ok(recorded.length > 10, `${recorded.length} datagrams recorded`);
    await y.stop();
    y = await start("y");
    // Wait until x and y have proved their epochs to each other again (x's got every 250 ms passes).
    await within(5000, async () => {
      const a = await askState(u, at(yPeer), key);
      await sleep(300);
      const b = await askState(u, at(yPeer), key);
      return a !== null && b !== null && b.received > a.received && authDrops(b) === authDrops(a);
    });
    const pre = await askState(u, at(yPeer), key);
    const replayed = recorded.splice(0); // what x sent y up to now, before and after y's restart
    const hellos = replayed.filter((d) => new TextDecoder().decode(d).startsWith("hello\n")).length;
    const replay = await udpClient();
    for (const d of replayed) replay.send(at(yPeer), d);
    await sleep(500);
    await replay.close();
    const post = await askState(u, at(yPeer), key);
    const refused = authDrops(post) - authDrops(pre);
    assert.is(refused, replayed.length - hellos, `refused ${refused} of ${replayed.length} replays, ${hellos} hellos (${JSON.stringify(post?.dropped)})`);
    console.log(`    ${replayed.length} recorded datagrams replayed after y's restart: ${refused} refused, ${hellos} hellos answered, none accepted`);
    assert.is(post?.messages, 10);
    assert.is(post?.vector, before?.vector);
  } finally {
    await Promise.all(running.map((s) => s.stop()));
    await proxy.close();
    await u.close();
  }
});

test.after(removeTempDirs);
test.run();
