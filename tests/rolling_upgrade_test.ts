/**
 * A rolling upgrade across one peer protocol version, with the real previous
 * release: the last commit of peer protocol version 1 (testing/previous_release.ts)
 * is unpacked with `git archive` into a temporary directory (the repository
 * is only read) and its server.ts run beside this one's, with a cluster key:
 *
 * - a, b and c start on the previous release and take messages;
 * - then one at a time each is stopped and started from this release on its
 *   database, while the other two take acked messages: after each step chat
 *   crosses between every pair (old ↔ new both ways), the upgraded servers
 *   see the others' versions right (1 for the previous release, whose
 *   dropped counters show the few versioned hellos it could not read);
 * - at the end every server reports version 2 shared by all, and every
 *   acked message is on every server.
 *
 * Without git or that commit the test FAILS saying so (never passes unrun).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { createKeyFile, readKeyFile } from "../lib/config/cluster_key.ts";
import { PEER_PROTOCOL_VERSION } from "../lib/replication/peer_versions.ts";
import type { StatusReport } from "../lib/server/status.ts";
import { type PreviousRelease, unpackPreviousRelease } from "../testing/previous_release.ts";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient, type UdpClient } from "../testing/harness.ts";
import { add, askState, connectWhenThere, enter, login, readAll, within } from "../testing/cluster_ops.ts";

const IDS = ["a", "b", "c"];
let dir = "";
let previous: PreviousRelease;
let file = "";
let keyFile = "";
let key: Uint8Array;
const srv: Record<string, ServerHandle> = {};
let u: UdpClient;
const tok: Record<string, string> = {};

const start = (id: string, old = false) =>
  startServer({
    id,
    servers: file,
    db: join(dir, `${id}.sqlite`),
    extraArgs: ["--cluster-key", keyFile],
    command: old ? previous.command : undefined,
  });

test.before(async () => {
  dir = tempDir();
  previous = unpackPreviousRelease(dir);
  keyFile = join(dir, "cluster.key");
  createKeyFile(keyFile);
  key = readKeyFile(keyFile).key;
  file = (await makeCluster(IDS, dir)).file;
  for (const id of IDS) srv[id] = await start(id, true);
  u = await udpClient();
  for (const id of IDS) tok[id] = await login(u, srv[id].clientAddr, `user_${id}`);
  await enter(u, srv.a.clientAddr, tok.a, "roll");
  for (const id of ["b", "c"]) await connectWhenThere(u, srv[id].clientAddr, tok[id], "roll", 15_000);
});

test.after(async () => {
  await u?.close();
  await Promise.all(Object.values(srv).map((s) => s.stop(5000)));
  removeTempDirs();
});

async function state(id: string): Promise<StatusReport> {
  for (let i = 0; i < 5; i++) {
    const r = await askState(u, { host: "127.0.0.1", port: Number(srv[id].peerAddr.port) }, key, 1000);
    if (r) return r;
  }
  throw new Error(`${id} does not answer stat`);
}

/** Every acked message so far: msgId → text. */
const acked = new Map<string, string>();

async function say(id: string, text: string): Promise<void> {
  acked.set(await add(u, srv[id].clientAddr, tok[id], "roll", text), text);
}

/** Every server holds every acked message (within 15 s). */
async function allEverywhere(): Promise<void> {
  for (const id of IDS) {
    const ms = await within(15_000, async () => {
      const l = await readAll(u, srv[id].clientAddr, tok[id], "roll");
      return [...acked].every(([m, t]) => l.msgs[l.ids.indexOf(m)] === t);
    }, 100);
    assert.ok(ms !== null, `${id} lacks some of the ${acked.size} acked messages`);
  }
}

test("the previous release's cluster takes messages", async () => {
  for (const id of IDS) await say(id, `v1 from ${id}`);
  await allEverywhere();
  assert.is((await state("a")).protocol, undefined, "the previous release states no version");
});

for (const [step, up] of IDS.entries()) {
  test(`rolling upgrade, step ${step + 1}: ${up} upgraded while the others take acked messages`, async () => {
    await srv[up].stop();
    for (const id of IDS.filter((x) => x !== up)) await say(id, `while ${up} upgrades, from ${id}`);
    srv[up] = await start(up);
    for (const id of IDS) await say(id, `after ${up}'s upgrade, from ${id}`);
    await allEverywhere();
    const upgraded = IDS.slice(0, step + 1);
    // A restarted peer's version is asked again on its new session (probes 250 ms apart): messages may be everywhere first.
    const settled = (r: StatusReport) => IDS.every((p) => p === r.id || !upgraded.includes(p) || r.peers[p]?.protocol === PEER_PROTOCOL_VERSION);
    for (const id of upgraded) assert.ok((await within(10_000, async () => settled(await state(id)), 100)) !== null, `${id} learns every upgraded peer's version`);
    for (const id of IDS) {
      const r = await state(id);
      if (!upgraded.includes(id)) {
        assert.is(r.protocol, undefined, `${id} still runs the previous release`);
        if (id === "c") console.log(`    step ${step + 1}: previous-release c dropped as malformed: ${r.dropped.malformed ?? 0}`);
        continue;
      }
      assert.is(r.protocol, PEER_PROTOCOL_VERSION);
      for (const p of IDS.filter((x) => x !== id)) {
        assert.is(r.peers[p].protocol, upgraded.includes(p) ? PEER_PROTOCOL_VERSION : 1, `${id} sees ${p}: ${JSON.stringify(r.peers)}`);
      }
      assert.is(r.sharedProtocol, upgraded.length === IDS.length ? PEER_PROTOCOL_VERSION : 1);
    }
  });
}

test.run();
