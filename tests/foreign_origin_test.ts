/**
 * Only the servers of servers.txt (and their incarnations) make ops. Forged
 * peer datagrams full of ops from made-up origins — which once entered
 * every vector and every later op's deps until datagrams outgrew 8192
 * bytes and replication stopped for good — are dropped and counted, and
 * replication goes on. A database already holding such junk is cleaned
 * when the server starts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DatabaseSync } from "node:sqlite";
import { encodePeer } from "../lib/wire/codec.ts";
import type { Op } from "../lib/wire/messages.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import type { StatusReport } from "../lib/server/status.ts";
import { add, askState, enter, login, readAll, sleep } from "../testing/cluster_ops.ts";
import { makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, type UdpClient, udpClient } from "../testing/harness.ts";

let u: UdpClient;
const running: ServerHandle[] = [];

test.before(async () => {
  u = await udpClient();
});

test.after(async () => {
  for (const s of running) await s.stop();
  await u.close();
  removeTempDirs();
});

async function stat(s: ServerHandle): Promise<StatusReport> {
  const r = await askState(u, s.peerAddr, null, 3000);
  if (!r) throw new Error(`no state from ${s.id}`);
  return r;
}

const touch = (origin: string): Op => ({ origin, seq: 1, deps: fromEntries([]), at: Date.now(), session: "5e".repeat(32), kind: "touch" });

test("forged ops of made-up origins are dropped and counted; replication a → b goes on", async () => {
  const dir = tempDir("distchat-foreign-");
  // No key=: plaintext peer links, so the test can forge b's datagrams as they are (secure_peers_test: encrypted links drop them unread).
  const { file } = await makeCluster(["a", "b"], dir, { keys: false });
  const a = await startServer({ id: "a", servers: file, db: `${dir}/a.sqlite` });
  const b = await startServer({ id: "b", servers: file, db: `${dir}/b.sqlite` });
  running.push(a, b);
  // 450 tiny touch ops "from b", each of its own origin, 50 to a datagram (unkeyed: --insecure-peers).
  for (let i = 0; i < 9; i++) {
    const ops = Array.from({ length: 50 }, (_, j) => touch(`evil${i * 50 + j}`));
    const vector = fromEntries(ops.map((o): [string, number] => [o.origin, 1]));
    u.send(a.peerAddr, encodePeer({ verb: "add", from: "b", nonce: "-", vector, ops }));
  }
  await sleep(300);
  const s = await stat(a);
  assert.not.match(s.vector, /evil/);
  assert.is(s.dropped["foreign-origin"], 450);
  assert.is(s.dropped["foreign-origin-entry"], 450);
  const t = await login(u, a.clientAddr, "alice");
  await enter(u, a.clientAddr, t, "r");
  const id = await add(u, a.clientAddr, t, "r", "still replicating");
  for (let i = 0; i < 100; i++) {
    const l = await readAll(u, b.clientAddr, t, "r").catch(() => null);
    if (l?.ids.includes(id)) return;
    await sleep(50);
  }
  assert.unreachable("the message never reached b");
});

test("a database holding ops of made-up origins is cleaned when the server starts", async () => {
  const dir = tempDir("distchat-foreign-");
  const { file } = await makeCluster(["a"], dir);
  const db = `${dir}/a.sqlite`;
  const first = await startServer({ id: "a", servers: file, db });
  const t = await login(u, first.clientAddr, "alice");
  await enter(u, first.clientAddr, t, "r");
  await add(u, first.clientAddr, t, "r", "kept");
  await first.stop();
  // Junk as an older server would have stored it.
  const sql = new DatabaseSync(db);
  sql.prepare("INSERT INTO ops (origin, seq, kind, deps, at, session) VALUES ('evil', 1, 'touch', '0', 1, ?)").run("5e".repeat(32));
  sql.close();
  const again = await startServer({ id: "a", servers: file, db });
  running.push(again);
  assert.match(again.stderr(), /removed 1 op\(s\) of origins that are not servers of/);
  assert.not.match((await stat(again)).vector, /evil/);
  assert.equal((await readAll(u, again.clientAddr, t, "r")).msgs, ["kept"]);
});

test.run();
