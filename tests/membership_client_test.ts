/**
 * The terminal client learns a changed server list (docs/CLIENT.md
 * "Learning the server list"): started with a servers file of a, b and c,
 * it stays connected while d is added to the cluster; when a stops it fails
 * over to b, asks b for the live membership (`servers`, docs/PROTOCOL.md)
 * and adopts d with d's key; then (a back, so d's adds have a second disk)
 * b and c stop, and it carries on at d — a server its own servers file
 * never named.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { type ClusterEntry, makeCluster, type ServerHandle, startServer, tempDir } from "../testing/harness.ts";
import { logged, trackServers, writeServers } from "../testing/membership.ts";
import { type ClientProc, startClient } from "./_client_proc.ts";

const t = trackServers(test);
const running = t.running;
let bob: ClientProc | null = null;
test.after.each(() => {
  bob?.kill();
  bob = null;
});

async function start(id: string, file: string, dir: string, extra: string[] = [], newCluster = true): Promise<ServerHandle> {
  const s = await startServer({ id, servers: file, db: join(dir, `${id}.sqlite`), extraArgs: ["--rate-limit", "0", ...extra], newCluster });
  running.add(s);
  return s;
}

async function stop(s: ServerHandle): Promise<void> {
  await s.stop();
  running.delete(s);
}

test("a client started with a, b, c learns d from the cluster and carries on at d once a, b and c are gone", async () => {
  const dir = tempDir("distchat-member-client-");
  const { file, entries }: { file: string; entries: ClusterEntry[] } = await makeCluster(["a", "b", "c", "d"], dir);
  writeServers(file, entries, ["a", "b", "c"]);
  const clientFile = join(dir, "client-servers.txt");
  writeServers(clientFile, entries, ["a", "b", "c"]); // the client's own copy: the old list, for good
  const s: Record<string, ServerHandle> = {};
  await Promise.all(["a", "b", "c"].map(async (id) => (s[id] = await start(id, file, dir))));
  bob = startClient(["--user", "bob", "--servers", clientFile, "--room", "lobby", "--wait-ms", "2000"]);
  await bob.waitFor(/created lobby|joined lobby/);
  bob.send("before d");
  await bob.waitFor(/bob: before d/);

  writeServers(file, entries, ["a", "b", "c", "d"]);
  for (const x of [s.a, s.b, s.c]) x.signal("SIGHUP");
  for (const x of [s.a, s.b, s.c]) assert.ok(await logged(x, /servers file reloaded: added d/), `${x.id} did not add d: ${x.stderr()}`);
  s.d = await start("d", file, dir, ["--join"], false);
  assert.ok(await logged(s.d, /caught up with every peer: taking writes/, 15_000), `d never caught up: ${s.d.stderr()}`);
  bob.send("while d joins");
  await bob.waitFor(/bob: while d joins/);
  assert.not.match(bob.out() + bob.err(), /not answering/, "the client lost its server while d was added");

  // a goes: the client fails over to b, which tells it the list with d.
  await stop(s.a);
  bob.send("after a");
  await bob.waitFor(/connected to b/, 20_000);
  await bob.waitFor(/server list updated: added d \(servers a, b, c, d\)/, 20_000);
  await bob.waitFor(/bob: after a/, 20_000);

  // a comes back (a second disk for d's acks); b and c go: the client, on b, fails over past c to d.
  s.a = await start("a", file, dir, [], false);
  await Promise.all([stop(s.b), stop(s.c)]);
  bob.send("at d");
  await bob.waitFor(/connected to d/, 40_000);
  await bob.waitFor(/bob: at d/, 20_000);
  assert.not.match(bob.out() + bob.err(), /not adopted/);
  assert.is(await bob.end(10_000), 0);
  bob = null;
});

test.run();
