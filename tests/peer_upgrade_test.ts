/**
 * A rolling upgrade to encrypted peer links (docs/PEER_PROTOCOL.md "Rolling
 * upgrade from a release without encrypted peer links"), with the real
 * earlier release: the merge base of this branch (a355148, peer links in
 * plaintext with the cluster key's HMAC), unpacked with `git archive`.
 * Server a runs this release, b the earlier one, both with key= in
 * servers.txt, a cluster key and --allow-plaintext: chat crosses both
 * ways. Then b is upgraded: chat crosses both ways again, and every
 * datagram to b's peer port (captured by a proxy) is a transport datagram.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { type Address, formatAddress } from "../lib/wire/address.ts";
import { add, connectWhenThere, enter, login, readAll, sleep, within } from "../testing/cluster_ops.ts";
import { freePort, makeCluster, removeTempDirs, ROOT, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { startUdpProxy } from "../testing/udp_proxy.ts";

/** The earlier release (peer links without encryption): this branch's merge base. */
const EARLIER = "a35514899278a0f7b86aed037296e34d94f94361";

/** `git archive` of EARLIER into `<dir>/earlier`, this checkout's node_modules linked in; argv for its server.ts. */
function unpackEarlier(dir: string): (args: string[]) => string[] {
  const root = join(dir, "earlier");
  mkdirSync(root);
  const r = spawnSync("sh", ["-c", `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, "sh", ROOT, EARLIER, root], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`cannot unpack ${EARLIER} (git archive): ${r.stderr || r.error?.message}`);
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  return (args) => scriptCommand(join(root, "server.ts"), args);
}

test("an earlier-release peer is read and answered in plaintext; once upgraded, the link is encrypted", async () => {
  const dir = tempDir("distchat-peer-upgrade-");
  const earlier = unpackEarlier(dir);
  const keyFile = join(dir, "cluster.key");
  writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  const { file, entries } = await makeCluster(["a", "b"], dir);
  const realB: Address = { host: "127.0.0.1", port: await freePort() };
  const toB: Uint8Array[] = [];
  const proxy = await startUdpProxy({ listen: entries[1].peer, target: realB, onDatagram: (bytes, direction) => direction === "forward" && toB.push(bytes.slice()) });
  const args = (id: string) => ({ id, servers: file, db: join(dir, `${id}.sqlite`), extraArgs: ["--cluster-key", keyFile, ...(id === "b" ? ["--peer-listen", formatAddress(realB)] : [])] });
  const running: ServerHandle[] = [];
  const u = await udpClient();
  try {
    const a = await startServer(args("a"));
    let b = await startServer({ ...args("b"), command: earlier });
    running.push(a, b);
    const token = await login(u, a.clientAddr, "ann");
    await enter(u, a.clientAddr, token, "r");
    await connectWhenThere(u, b.clientAddr, token, "r");
    const crosses = async (from: ServerHandle, to: ServerHandle, text: string) => {
      await add(u, from.clientAddr, token, "r", text);
      return await within(10_000, async () => (await readAll(u, to.clientAddr, token, "r").catch(() => ({ msgs: [] as string[] }))).msgs.includes(text)) !== null;
    };
    assert.ok(await crosses(a, b, "a to the earlier b"), "a → earlier b");
    assert.ok(await crosses(b, a, "the earlier b to a"), "earlier b → a");
    assert.ok(toB.some((x) => x[0] >= 0x20), "plaintext went to the earlier b");

    await b.stop();
    b = await startServer(args("b"));
    running.push(b);
    assert.ok(await crosses(a, b, "a to the upgraded b"), "a → upgraded b");
    assert.ok(await crosses(b, a, "the upgraded b to a"), "upgraded b → a");
    await sleep(300);
    toB.length = 0;
    for (let i = 0; i < 5; i++) assert.ok(await crosses(a, b, `encrypted ${i}`));
    assert.ok(toB.length >= 5 && toB.every((x) => x[0] < 0x20), `${toB.filter((x) => x[0] >= 0x20).length} of ${toB.length} datagrams to b in plaintext after the upgrade`);
  } finally {
    await u.close();
    await Promise.all([...running.map((s) => s.stop()), proxy.close()]);
  }
});

test.after(removeTempDirs);
test.run();
