/**
 * A cluster of three real servers whose peer traffic crosses fault-injecting
 * UDP proxies (servers.txt names the proxies; the servers bind their real
 * peer ports with --peer-listen): 20% loss and 5% duplication, seeded.
 *
 * - 300 adds made concurrently on a, b and c: every server lists exactly those
 *   300 within 15 s of the last ack;
 * - one add whose fan-out to c is lost (c's proxy cut for it, then healed):
 *   with no further traffic c has it within 10 s;
 * - c killed -9 mid-traffic and restarted on its database: it ends with all;
 * - client.ts (pipe mode) on a servers.txt listing a, b, c: a is killed
 *   mid-conversation, the clients move on and show each line once, in order.
 *
 * Timings are printed (FAULTS_SEED=N picks another proxy seed).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { removeTempDirs, udpClient, type UdpClient } from "../testing/harness.ts";
import { startClient, type ClientProc } from "./_client_proc.ts";
import {
  add,
  connectWhenThere,
  enter,
  type FaultyCluster,
  login,
  readAll,
  sleep,
  startFaultyCluster,
  within,
} from "../testing/cluster_ops.ts";

const SEED = Number(process.env.FAULTS_SEED ?? 1);
const IDS = ["a", "b", "c"];
let fc: FaultyCluster;
const clients: UdpClient[] = [];
/** One UDP client and one logged-in session per server. */
const tok: Record<string, string> = {};
const udp: Record<string, UdpClient> = {};

test.before(async () => {
  fc = await startFaultyCluster(IDS, { loss: 0.2, duplicate: 0.05, seed: SEED });
  for (const id of IDS) {
    udp[id] = await udpClient();
    clients.push(udp[id]);
    tok[id] = await login(udp[id], fc.clientAddr[id], `user_${id}`);
  }
});

test.after(async () => {
  await fc?.stop();
  await Promise.all(clients.map((c) => c.close()));
  removeTempDirs();
});

/** Every server's session joins `room` (opened on a). */
async function room(name: string): Promise<void> {
  await enter(udp.a, fc.clientAddr.a, tok.a, name);
  for (const id of IDS.slice(1)) await connectWhenThere(udp[id], fc.clientAddr[id], tok[id], name);
}

/** What each server lists for `room`, as problems; [] when each lists exactly `want` (msgID -> text). */
async function differences(name: string, want: Map<string, string>, ids = IDS): Promise<string[]> {
  const out: string[] = [];
  for (const id of ids) {
    const l = await readAll(udp[id], fc.clientAddr[id], tok[id], name);
    const got = new Map<string, string>();
    for (const [i, m] of l.ids.entries()) {
      if (got.has(m)) out.push(`${id}: ${m} listed twice`);
      got.set(m, l.msgs[i]);
    }
    if (l.ids.length !== want.size) out.push(`${id}: lists ${l.ids.length} of ${want.size}`);
    for (const [m, text] of want) if (got.get(m) !== text) out.push(`${id}: ${m} ${got.has(m) ? "differs" : "missing"}`);
  }
  return out;
}

async function converge(name: string, want: Map<string, string>, ms: number, ids = IDS): Promise<number | null> {
  return await within(ms, async () => (await differences(name, want, ids)).length === 0, 100);
}

/** `n` adds on server `id`, `parallel` at a time; records msgID -> text in `into`. */
async function adds(id: string, name: string, n: number, parallel: number, into: Map<string, string>, prefix = id) {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) {
      const text = `${prefix} ${next++}`;
      into.set(await add(udp[id], fc.clientAddr[id], tok[id], name, text), text);
    }
  }));
}

test("300 adds on three servers under 20% loss / 5% duplication: all servers list exactly those within 15 s", async () => {
  await room("f300");
  const want = new Map<string, string>();
  await Promise.all(IDS.map((id) => adds(id, "f300", 100, 8, want)));
  assert.is(want.size, 300);
  const ms = await converge("f300", want, 15_000);
  const left = ms === null ? await differences("f300", want) : [];
  assert.ok(ms !== null, `not converged 15 s after the last ack:\n${left.slice(0, 10).join("\n")}`);
  const dropped = IDS.reduce((n, id) => n + fc.proxies[id].stats.dropped, 0);
  console.log(`    300 adds, 20% loss / 5% dup: every server lists all 300 ${ms} ms after the last ack (${dropped} datagrams dropped)`);
});

test("one lost fan-out: c's proxy cut for one add, healed; with no more traffic c has it within 10 s", async () => {
  await room("f1");
  const want = new Map<string, string>();
  await adds("a", "f1", 1, 1, want, "before");
  assert.ok((await converge("f1", want, 15_000)) !== null, "no convergence before the cut");
  await sleep(300); // quiet: nothing in flight
  fc.proxies.c.cut();
  const id = await add(udp.a, fc.clientAddr.a, tok.a, "f1", "the lost one");
  want.set(id, "the lost one");
  await sleep(100); // a's fan-out to c has been dropped by now
  fc.proxies.c.heal();
  const healed = performance.now();
  // Read only c (reading sends no peer traffic); nothing else is added.
  const ms = await within(10_000, async () => (await differences("f1", want, ["c"])).length === 0, 20);
  assert.ok(ms !== null, `c did not get ${id} within 10 s of the heal`);
  console.log(`    one lost datagram repaired ${Math.round(performance.now() - healed)} ms after the heal`);
  // a and b see 20% loss too: the one add may still be on its way to b (repaired by heartbeat).
  assert.ok((await converge("f1", want, 10_000)) !== null, (await differences("f1", want)).join("\n"));
});

test("c killed -9 during traffic and restarted on its database ends with everything", async () => {
  await room("fk");
  const want = new Map<string, string>();
  const traffic = Promise.all(["a", "b"].map((id) => adds(id, "fk", 150, 4, want)));
  const cAdds = adds("c", "fk", 20, 2, want);
  await cAdds;
  await sleep(150);
  await fc.servers.c.kill9();
  await sleep(700);
  const restarted = performance.now();
  await fc.start("c");
  await traffic;
  assert.is(want.size, 320);
  const ms = await converge("fk", want, 20_000);
  const left = ms === null ? await differences("fk", want) : [];
  assert.ok(ms !== null, `not converged:\n${left.slice(0, 10).join("\n")}`);
  console.log(
    `    restarted c holds all ${want.size} messages ${Math.round(performance.now() - restarted)} ms after its restart ` +
      `(${ms} ms after the last ack)`,
  );
});

test("client.ts fails over from a killed a to b: each line once, in order", async () => {
  const WAIT = ["--wait-ms", "2000"];
  const procs: ClientProc[] = [];
  try {
    const alice = startClient(["--user", "alice", "--servers", fc.file, "--room", "fo", ...WAIT]);
    procs.push(alice);
    await alice.waitFor(/created fo|joined fo/);
    const bob = startClient(["--user", "bob", "--servers", fc.file, "--room", "fo", ...WAIT]);
    procs.push(bob);
    await bob.waitFor(/joined fo/);
    for (let i = 1; i <= 5; i++) alice.send(`m${i}`);
    bob.send("b1");
    await bob.waitFor(/alice: m5/);
    await alice.waitFor(/bob: b1/);
    // Everything a acked must have reached b before a dies (else it is lost until a returns).
    for (const id of ["a", "b"]) await connectWhenThere(udp[id], fc.clientAddr[id], tok[id], "fo");
    const before = new Map<string, string>();
    const onA = await readAll(udp.a, fc.clientAddr.a, tok.a, "fo");
    onA.ids.forEach((m, i) => before.set(m, onA.msgs[i]));
    assert.ok((await converge("fo", before, 15_000, ["b"])) !== null, "b lacks a's messages before the kill");
    await fc.servers.a.kill9();
    for (let i = 6; i <= 10; i++) alice.send(`m${i}`);
    bob.send("b2");
    await alice.waitFor(/connected to b/, 60_000);
    await bob.waitFor(/connected to b/, 60_000);
    await bob.waitFor(/alice: m10/, 60_000);
    await alice.waitFor(/bob: b2/, 60_000);
    assert.is(await alice.end(), 0, alice.err());
    assert.is(await bob.end(), 0, bob.err());
    const expected = Array.from({ length: 10 }, (_, i) => `[fo] alice: m${i + 1}`);
    const mine = (c: ClientProc) => c.messages().filter((l) => l.includes("alice: "));
    assert.equal(mine(bob), expected, bob.out());
    assert.equal(mine(alice), expected, alice.out());
    for (const c of [alice, bob]) {
      assert.is(c.messages().filter((l) => l === "[fo] bob: b1").length, 1, c.out());
      assert.is(c.messages().filter((l) => l === "[fo] bob: b2").length, 1, c.out());
      assert.ok(c.messages().indexOf("[fo] bob: b1") < c.messages().indexOf("[fo] bob: b2"), c.out());
    }
  } finally {
    for (const p of procs) p.kill();
    await fc.start("a").catch(() => {});
  }
});

test("an idle client notices its dead server by probing, long before its poll times out", async () => {
  // With --wait-ms 30000 a held poll counts as lost only after 34 s: a switch
  // within 25 s can only come from the probe (5 s of silence, then ~3 s of resends).
  let carol: ClientProc | null = null;
  try {
    carol = startClient(["--user", "carol", "--servers", fc.file, "--room", "idle", "--wait-ms", "30000"]);
    await carol.waitFor(/created idle|joined idle/).catch((e) => {
      throw new Error(`${e.message}\nstderr: ${carol?.err()}\nstdout: ${carol?.out()}`);
    });
    await new Promise((r) => setTimeout(r, 500)); // its long poll is now held by a
    await fc.servers.a.kill9();
    await carol.waitFor(/connected to b/, 25_000);
  } finally {
    carol?.kill();
    await fc.start("a").catch(() => {});
  }
});

test.run();
