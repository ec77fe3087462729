/**
 * A rolling upgrade across one peer protocol version, with the real previous
 * release: the last commit of peer protocol version 1 (PREVIOUS below) is
 * unpacked with `git archive` into a temporary directory (the repository is
 * only read) and its server.ts run beside this one's, with a cluster key:
 *
 * - a and b run this release, c the previous one: chat crosses both ways;
 *   a and b see c as version 1 and the shared version as 1; c's dropped
 *   counters show the few versioned hellos it could not read;
 * - c is upgraded (stopped, started from this release on its database):
 *   chat goes on, and every server reports version 2 shared by all.
 *
 * Without git or that commit the test FAILS saying so (never passes unrun).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { createKeyFile, readKeyFile } from "../lib/config/cluster_key.ts";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { PEER_PROTOCOL_VERSION } from "../lib/replication/peer_versions.ts";
import type { StatusReport } from "../lib/server/status.ts";
import { makeCluster, removeTempDirs, ROOT, type ServerHandle, startServer, tempDir, udpClient, type UdpClient } from "../testing/harness.ts";
import { add, askState, connectWhenThere, enter, login, readAll, within } from "../testing/cluster_ops.ts";

/** The last commit whose peers speak protocol version 1 (main before issue 24's versions). */
const PREVIOUS = "a35514899278a0f7b86aed037296e34d94f94361";

let dir = "";
let oldRoot = "";
let file = "";
let keyFile = "";
let key: Uint8Array;
const srv: Record<string, ServerHandle> = {};
let u: UdpClient;
const tok: Record<string, string> = {};

/** Unpacks PREVIOUS into `<dir>/previous` (node_modules: this checkout's). */
function unpackPrevious(into: string): string {
  const root = join(into, "previous");
  mkdirSync(root);
  const r = spawnSync("sh", ["-c", `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, "sh", ROOT, PREVIOUS, root], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`cannot unpack the previous release ${PREVIOUS} (git archive): ${r.stderr || r.error?.message}`);
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  return root;
}

const start = (id: string, old = false) =>
  startServer({
    id,
    servers: file,
    db: join(dir, `${id}.sqlite`),
    extraArgs: ["--cluster-key", keyFile],
    command: old ? (args) => scriptCommand(join(oldRoot, "server.ts"), args) : undefined,
  });

test.before(async () => {
  dir = tempDir();
  oldRoot = unpackPrevious(dir);
  keyFile = join(dir, "cluster.key");
  createKeyFile(keyFile);
  key = readKeyFile(keyFile).key;
  file = (await makeCluster(["a", "b", "c"], dir)).file;
  for (const id of ["a", "b"]) srv[id] = await start(id);
  srv.c = await start("c", true);
  u = await udpClient();
  for (const id of ["a", "b", "c"]) tok[id] = await login(u, srv[id].clientAddr, `user_${id}`);
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

/** Each server adds a line to `room`; every server ends up with all three. */
async function chatEverywhere(room: string): Promise<void> {
  await enter(u, srv.a.clientAddr, tok.a, room);
  for (const id of ["b", "c"]) await connectWhenThere(u, srv[id].clientAddr, tok[id], room, 15_000);
  const want = new Map<string, string>();
  for (const id of ["c", "a", "b"]) want.set(await add(u, srv[id].clientAddr, tok[id], room, `${room} from ${id}`), `${room} from ${id}`);
  for (const id of ["a", "b", "c"]) {
    const ms = await within(15_000, async () => {
      const l = await readAll(u, srv[id].clientAddr, tok[id], room);
      return [...want].every(([m, t]) => l.msgs[l.ids.indexOf(m)] === t);
    }, 100);
    assert.ok(ms !== null, `${id} lacks some of ${[...want.keys()].join(", ")} in ${room}`);
  }
}

test("a mixed cluster (a, b this release; c the previous one) carries chat both ways", async () => {
  await chatEverywhere("mixed");
  const a = await state("a");
  assert.is(a.protocol, PEER_PROTOCOL_VERSION);
  assert.is(a.peers.c.protocol, 1, `a sees c as version 1: ${JSON.stringify(a.peers)}`);
  assert.is(a.peers.b.protocol, PEER_PROTOCOL_VERSION);
  assert.is(a.sharedProtocol, 1);
  const c = await state("c");
  assert.is(c.protocol, undefined, "the previous release states no version");
  console.log(`    previous release c dropped as malformed: ${c.dropped.malformed ?? 0} (the versioned hellos it cannot read)`);
});

test("c upgraded in place: chat goes on and every server speaks version 2", async () => {
  await srv.c.stop();
  srv.c = await start("c");
  await chatEverywhere("upgraded");
  const all = await within(10_000, async () => {
    const rs = await Promise.all(["a", "b", "c"].map(state));
    return rs.every((r) => r.sharedProtocol === PEER_PROTOCOL_VERSION);
  }, 200);
  assert.ok(all !== null, "not every server reports version 2 shared by all");
  // The messages of the mixed phase are still on every server.
  for (const id of ["a", "b", "c"]) assert.is((await readAll(u, srv[id].clientAddr, tok[id], "mixed")).msgs.length, 3, id);
});

test.run();
