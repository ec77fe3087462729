/**
 * A server that loses its database, or is started on an older copy of it,
 * must never hand out an op id it used before for a different op
 * (docs/ARCHITECTURE.md "Incarnations"). Three real clusters of three
 * servers: a's database wiped with its peers up, wiped with its peers down,
 * and rolled back to an older copy with its peers down. In each, clients
 * write right away on the restarted server (with its peers down, the acks
 * come once a peer is back: two-disk acks); at the end every server must
 * list every acked message under its acked id, once. On code that counted
 * seqs from the database alone, each of the three reused ids (a.1 for a new
 * login, a.2… for new messages) and the servers disagreed for good.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { add, enter, login, readAll, sleep } from "../testing/cluster_ops.ts";
import { type ClusterEntry, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, type UdpClient, udpClient } from "../testing/harness.ts";

type Cluster = { file: string; entries: ClusterEntry[]; dir: string; srv: Record<string, ServerHandle> };

let u: UdpClient;
const running = new Set<ServerHandle>();

async function start(c: Cluster, id: string, o: { newCluster?: boolean } = {}): Promise<ServerHandle> {
  const s = await startServer({ id, servers: c.file, db: `${c.dir}/${id}.sqlite`, newCluster: o.newCluster });
  running.add(s);
  c.srv[id] = s;
  return s;
}

async function stop(c: Cluster, id: string): Promise<void> {
  await c.srv[id].stop();
  running.delete(c.srv[id]);
}

async function cluster(): Promise<Cluster> {
  const dir = tempDir("distchat-disk-");
  const { file, entries } = await makeCluster(["a", "b", "c"], dir);
  const c: Cluster = { file, entries, dir, srv: {} };
  for (const id of ["a", "b", "c"]) await start(c, id);
  return c;
}

const DB_FILES = ["", "-wal", "-shm", ".hwm"];

function wipe(c: Cluster, id: string): void {
  for (const s of DB_FILES) rmSync(`${c.dir}/${id}.sqlite${s}`, { force: true });
}

/** Acked messages: msgID → text. */
type Acked = Map<string, string>;

async function addAll(s: ServerHandle, token: string, texts: string[], acked: Acked): Promise<void> {
  for (const t of texts) {
    const id = await add(u, s.clientAddr, token, "r", t);
    assert.not.ok(acked.has(id), `${id} acked twice: for "${acked.get(id)}" and for "${t}"`);
    acked.set(id, t);
  }
}

/** Waits until every running server lists exactly the acked messages of room r, each under its acked id, once. */
async function converged(c: Cluster, token: string, acked: Acked, ms = 20_000): Promise<void> {
  const want = [...acked].map(([id, t]) => `${id} ${t}`).sort();
  let last = "";
  for (const until = Date.now() + ms;;) {
    let ok = true;
    for (const s of Object.values(c.srv)) {
      let got: string[] = [];
      try {
        const l = await readAll(u, s.clientAddr, token, "r");
        got = l.ids.map((id, i) => `${id} ${l.msgs[i]}`).sort();
      } catch (e) {
        got = [`(${(e as Error).message})`];
      }
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        ok = false;
        last = `server ${s.id} lists\n  ${got.join("\n  ")}\nwant\n  ${want.join("\n  ")}`;
        break;
      }
    }
    if (ok) return;
    if (Date.now() > until) assert.unreachable(`no convergence: ${last}`);
    await sleep(200);
  }
}

/** Logs in `user` on `s`, retrying while the server is still catching up the room. */
async function loginAndEnter(s: ServerHandle, user: string): Promise<string> {
  const token = await login(u, s.clientAddr, user);
  await enter(u, s.clientAddr, token, "r");
  return token;
}

test.before(async () => {
  u = await udpClient();
});

test.after(async () => {
  for (const s of running) await s.stop();
  await u.close();
  removeTempDirs();
});

test("wiped with its peers up: the restarted server writes under a new incarnation at once", async () => {
  const c = await cluster();
  const acked: Acked = new Map();
  const alice = await loginAndEnter(c.srv.a, "alice");
  await addAll(c.srv.a, alice, ["m1", "m2", "m3"], acked);
  await converged(c, alice, acked);
  await stop(c, "a");
  wipe(c, "a");
  const a = await start(c, "a", { newCluster: false });
  assert.match(a.stderr(), /new incarnation a~[0-9a-z]+/);
  // A client fails over to a at once, before a has caught anything up.
  const bob = await loginAndEnter(a, "bob");
  await addAll(a, bob, ["n1", "n2"], acked);
  assert.ok([...acked.keys()].filter((id) => id.startsWith("a~")).length === 2, [...acked.keys()].join(" "));
  await converged(c, alice, acked);
});

test("wiped with its peers down: a new incarnation, and the union once they are back", async () => {
  const c = await cluster();
  const acked: Acked = new Map();
  const alice = await loginAndEnter(c.srv.a, "alice");
  await addAll(c.srv.a, alice, ["m1", "m2", "m3"], acked);
  await converged(c, alice, acked);
  await stop(c, "b");
  await stop(c, "c");
  await stop(c, "a");
  wipe(c, "a");
  const a = await start(c, "a", { newCluster: false });
  assert.match(a.stderr(), /new incarnation/);
  const carol = await loginAndEnter(a, "carol");
  // With its peers down a stores the adds but cannot ack them (two-disk acks):
  // the acks come once b, its confirmer, is back and has them on disk.
  const adding = addAll(a, carol, ["n1", "n2", "n3"], acked);
  await sleep(500);
  assert.is(acked.size, 3, "no ack while every peer is down");
  await start(c, "b");
  await start(c, "c");
  await adding;
  await converged(c, alice, acked);
});

test("rolled back to an older copy with its peers down: its high-water mark tells, no id is reused", async () => {
  const c = await cluster();
  const acked: Acked = new Map();
  const alice = await loginAndEnter(c.srv.a, "alice");
  await addAll(c.srv.a, alice, ["m1", "m2"], acked);
  await converged(c, alice, acked);
  await stop(c, "a");
  const copy = `${c.dir}/a-backup.sqlite`;
  for (const s of ["", "-wal"]) {
    if (existsSync(`${c.dir}/a.sqlite${s}`)) copyFileSync(`${c.dir}/a.sqlite${s}`, `${copy}${s}`);
  }
  await start(c, "a");
  await addAll(c.srv.a, alice, ["m3", "m4", "m5"], acked);
  await sleep(300); // let b and c get them
  await stop(c, "b");
  await stop(c, "c");
  await stop(c, "a");
  // The operator restores the database file (not its .hwm) from the backup.
  for (const s of ["", "-wal", "-shm"]) rmSync(`${c.dir}/a.sqlite${s}`, { force: true });
  for (const s of ["", "-wal"]) if (existsSync(`${copy}${s}`)) copyFileSync(`${copy}${s}`, `${c.dir}/a.sqlite${s}`);
  const a = await start(c, "a");
  assert.match(a.stderr(), /new incarnation .*high-water mark/);
  const adding = addAll(a, alice, ["p1", "p2"], acked);
  await sleep(500);
  assert.is(acked.size, 5, "no ack while every peer is down");
  await start(c, "b");
  await start(c, "c");
  await adding;
  await converged(c, alice, acked);
});

test.run();
