/**
 * Live membership changes with chat going on (docs/OPERATIONS.md "Adding
 * and retiring a server"): writers keep adding messages while d is added
 * (the servers file rewritten, SIGHUP to a, b and c, d started with
 * `--join`) and while c is retired (its line removed: c first, then the
 * others); every acked message is then on every remaining server under its
 * acked id, d took no write before it caught up, and GET /servers.json —
 * what web pages fail over along — lists the new membership.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { askState, sleep, within } from "../testing/cluster_ops.ts";
import { type ClusterEntry, makeCluster, type ServerHandle, startServer, tempDir } from "../testing/harness.ts";
import { everyAckedOn, logged, startWriters, trackServers, writeServers } from "../testing/membership.ts";
import { serverOf } from "../lib/rules/incarnation.ts";
import { parseVectorText } from "../lib/wire/vector.ts";

const t = trackServers(test);
const running = t.running;
const FLAGS = ["--rate-limit", "0"];

async function start(id: string, file: string, dir: string, extra: string[] = [], newCluster = true): Promise<ServerHandle> {
  const s = await startServer({ id, servers: file, db: join(dir, `${id}.sqlite`), extraArgs: [...FLAGS, ...extra], newCluster });
  running.add(s);
  return s;
}

async function cluster(ids: string[], all: string[]): Promise<{ dir: string; file: string; entries: ClusterEntry[]; s: Record<string, ServerHandle> }> {
  const dir = tempDir("distchat-member-");
  const { file, entries } = await makeCluster(all, dir, { web: "http" });
  writeServers(file, entries, ids);
  const s: Record<string, ServerHandle> = {};
  await Promise.all(ids.map(async (id) => (s[id] = await start(id, file, dir))));
  return { dir, file, entries, s };
}

async function serversJson(web: string): Promise<string[]> {
  const res = await fetch(`${web}/servers.json`);
  return ((await res.json()) as { servers: { id: string }[] }).servers.map((x) => x.id);
}

test("d is added while clients write: it catches up before it takes writes, and every acked message is on a, b, c and d", async () => {
  const { dir, file, entries, s } = await cluster(["a", "b", "c"], ["a", "b", "c", "d"]);
  const targets = [s.a, s.b, s.c];
  const w = startWriters({ count: 3, room: "r", targets: () => targets.map((x) => x.clientAddr), max: 500 });
  await sleep(800);
  writeServers(file, entries, ["a", "b", "c", "d"]);
  for (const x of [s.a, s.b, s.c]) x.signal("SIGHUP");
  for (const x of [s.a, s.b, s.c]) assert.ok(await logged(x, /servers file reloaded: added d \(members a, b, c, d\)/), `${x.id} did not add d: ${x.stderr()}`);
  const d = await start("d", file, dir, ["--join"], false);
  assert.ok(await logged(d, /caught up with every peer: taking writes/, 15_000), `d never caught up: ${d.stderr()}`);
  targets.push(d);
  const byD = () => [...w.acked.values()].some((id) => serverOf(id.split(".")[0]) === "d");
  assert.ok(await within(10_000, () => Promise.resolve(byD())) !== null, "d took no write after it caught up");
  const acked = await w.stop();
  assert.ok(acked.size > 50, `only ${acked.size} acked`);
  for (const x of [s.a, s.b, s.c, d]) assert.is(await everyAckedOn(t.u, x, `check-${x.id}`, "r", acked, 10_000), null);
  assert.equal(await serversJson(s.a.web!), ["a", "b", "c", "d"]);
  // a's page may now fail over to d: d's origin is in the page's CSP (connect-src).
  const page = await fetch(`${s.a.web}/`);
  await page.arrayBuffer();
  assert.ok(page.headers.get("content-security-policy")?.includes(d.web!), page.headers.get("content-security-policy") ?? "no CSP");
  assert.equal((await askState(t.u, s.a.peerAddr))?.members, ["a", "b", "c", "d"]);
  assert.is((await askState(t.u, d.peerAddr))?.membership, "member");
});

test("c is retired while clients write (its line removed): every acked message stays on a and b, across a restart", async () => {
  const { dir, file, entries, s } = await cluster(["a", "b", "c"], ["a", "b", "c"]);
  let targets = [s.a, s.b, s.c];
  const w = startWriters({ count: 3, room: "r", targets: () => targets.map((x) => x.clientAddr), max: 150 });
  await sleep(800);
  // 1. c first: it takes no more writes (clients move on) and keeps replicating what it has.
  writeServers(file, entries, ["a", "b"]);
  s.c.signal("SIGHUP");
  assert.ok(await logged(s.c, /this server is retired: it takes no writes/), s.c.stderr());
  // 2. Once a and b have every op of c (c says so; checked here too), they reload; then c stops.
  assert.ok(await logged(s.c, /every peer has all of this server's ops \(c=\d+\): reload the others without it/), s.c.stdout());
  const cState = await askState(t.u, s.c.peerAddr);
  const cOps = [...parseVectorText(cState!.vector)].filter(([o]) => serverOf(o) === "c");
  const hasC = async (x: ServerHandle) => {
    const v = parseVectorText((await askState(t.u, x.peerAddr))?.vector ?? "0");
    return cOps.every(([o, n]) => (v.get(o) ?? 0) >= n);
  };
  assert.ok(await within(10_000, async () => (await hasC(s.a)) && (await hasC(s.b))) !== null, "a and b never got c's ops");
  for (const x of [s.a, s.b]) x.signal("SIGHUP");
  for (const x of [s.a, s.b]) assert.ok(await logged(x, /servers file reloaded: retired c \(members a, b\)/), x.stderr());
  targets = [s.a, s.b];
  await s.c.stop();
  running.delete(s.c);
  await sleep(1000);
  const acked = await w.stop();
  assert.ok([...acked.values()].some((id) => serverOf(id.split(".")[0]) === "c"), "c acked nothing before it was retired");
  for (const x of [s.a, s.b]) assert.is(await everyAckedOn(t.u, x, `check-${x.id}`, "r", acked, 10_000), null);
  assert.equal(await serversJson(s.b.web!), ["a", "b"]);
  // 3. A restart with c's line gone keeps c's messages (they are acked history).
  await s.a.stop();
  running.delete(s.a);
  const a2 = await start("a", file, dir);
  assert.not.match(a2.stderr(), /removed \d+ op/);
  assert.is(await everyAckedOn(t.u, a2, "check-a2", "r", acked, 10_000), null);
});

test.run();
