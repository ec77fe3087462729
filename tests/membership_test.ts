/**
 * Membership changes, the rules and the refusals (docs/OPERATIONS.md
 * "Adding and retiring a server"): `retired` lines of the servers file; a
 * reload that changes two things at once, moves a server, or adds a server
 * while another is down is refused with the reason and changes nothing; a
 * server whose servers file no longer lists a retired server keeps that
 * server's messages at start (they are acked history); a joining server
 * waits for every peer and for their ops.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { parseServersFile } from "../lib/config/servers_file.ts";
import { JoinWatch, membershipChange } from "../lib/rules/membership.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { Store } from "../lib/store/store.ts";
import { noteKnownServers, readKnownServers } from "../lib/store/known_servers.ts";
import { add, askState, enter, login, readAll } from "../testing/cluster_ops.ts";
import { makeCluster, startServer, tempDir } from "../testing/harness.ts";
import { logged, trackServers, writeServers } from "../testing/membership.ts";

const t = trackServers(test);
const running = t.running;

const at = (port: number) => ({ host: "127.0.0.1", port });
const abc = [{ id: "a", peer: at(1) }, { id: "b", peer: at(2) }, { id: "c", peer: at(3) }];

test("servers file: `ID retired` lines are parsed apart, and checked", () => {
  const f = parseServersFile("a 127.0.0.1:1 127.0.0.1:2\nc retired\n", "s.txt");
  assert.equal(f.servers.map((s) => s.id), ["a"]);
  assert.equal(f.retired, ["c"]);
  assert.throws(() => parseServersFile("a 127.0.0.1:1 127.0.0.1:2\na retired\n", "s.txt"), /line 2 repeats server id "a"/);
  assert.throws(() => parseServersFile("a 127.0.0.1:1 127.0.0.1:2\nC! retired\n", "s.txt"), /line 2 has a bad server id/);
});

test("membership rules: one change at a time, no moves, no add while a peer is down", () => {
  const up = () => 100;
  assert.equal(membershipChange({ self: "a", current: abc, next: [...abc, { id: "d", peer: at(4) }], heardAgoMs: up }), { ok: true, added: ["d"], removed: [], retiring: false });
  assert.equal(membershipChange({ self: "a", current: abc, next: abc.slice(0, 2), heardAgoMs: () => Infinity }), { ok: true, added: [], removed: ["c"], retiring: false });
  assert.equal(membershipChange({ self: "c", current: abc, next: abc.slice(0, 2), heardAgoMs: up }), { ok: true, added: [], removed: ["c"], retiring: true });
  const two = membershipChange({ self: "a", current: abc, next: [abc[0], abc[1], { id: "d", peer: at(4) }], heardAgoMs: up });
  assert.equal(two, { ok: false, problem: "the servers file adds d and retires c: one change at a time (make one, wait until every server has it in npm run status, then the next)" });
  const moved = membershipChange({ self: "a", current: abc, next: [abc[0], { id: "b", peer: at(9) }, abc[2]], heardAgoMs: up });
  assert.ok(!moved.ok && /server b's peer address changed from 127.0.0.1:2 to 127.0.0.1:9/.test(moved.problem));
  const down = membershipChange({ self: "a", current: abc, next: [...abc, { id: "d", peer: at(4) }], heardAgoMs: (id) => id === "c" ? 5000 : 100 });
  assert.ok(!down.ok && /adding d refused: c is down \(not heard for 3 s\) and would miss the change; bring it back, or retire it first/.test(down.problem));
});

test("known servers: a database without the record starts it from the origins it holds; ids only ever add", () => {
  const s = Store.open(join(tempDir("distchat-known-"), "a.sqlite"), "a", { sync: "normal" });
  try {
    s.setOrigin("c~k2");
    s.begin();
    s.appendLocal({ kind: "login", session: "s1", userName: "ann", ttl: 300 }, 1_700_000_000_000);
    s.commit();
    assert.is(readKnownServers(s.db), null);
    assert.equal(noteKnownServers(s.db, ["a", "b"]), ["a", "b", "c"]);
    assert.equal(noteKnownServers(s.db, ["a"]), ["a", "b", "c"]);
    assert.equal(readKnownServers(s.db), ["a", "b", "c"]);
  } finally {
    s.close();
  }
});

test("a joining server waits to hear every peer, then for what they had (its own origins aside)", () => {
  const w = new JoinWatch("d");
  const v = (e: [string, number][]) => fromEntries(e);
  assert.is(w.waiting([{ id: "a", vector: v([["a", 5]]) }], ["a", "b"], v([])), "hearing b");
  const told = [{ id: "a", vector: v([["a", 5], ["d~x", 9]]) }, { id: "b", vector: v([["a", 4], ["b", 2]]) }];
  assert.is(w.waiting(told, ["a", "b"], v([["a", 5]])), "2 op(s) of b");
  assert.is(w.waiting(told, ["a", "b"], v([["a", 5]]), (id) => id === "b"), "2 op(s) of b; this servers file does not list b: add `b retired`?");
  assert.is(w.waiting(told, ["a", "b"], v([["a", 5], ["b", 2]])), null);
});

test("a reload that adds a server while another is down is refused, logged, and changes nothing", async () => {
  const dir = tempDir("distchat-member-");
  const { file, entries } = await makeCluster(["a", "b", "c", "d"], dir);
  writeServers(file, entries, ["a", "b", "c"]);
  const [a, b, c] = await Promise.all(["a", "b", "c"].map((id) => startServer({ id, servers: file, db: join(dir, `${id}.sqlite`) })));
  running.add(a).add(b);
  await c.kill9();
  await new Promise((r) => setTimeout(r, 3500));
  writeServers(file, entries, ["a", "b", "c", "d"]);
  a.signal("SIGHUP");
  assert.ok(await logged(a, /servers file not reloaded: adding d refused: c is down/), a.stderr());
  writeServers(file, entries, ["a", "d"]);
  a.signal("SIGHUP");
  assert.ok(await logged(a, /servers file not reloaded: the servers file adds d and retires b and retires c: one change at a time/), a.stderr());
  assert.equal((await askState(t.u, a.peerAddr))?.members, ["a", "b", "c"]);
  // The down server may be retired: that is what a dead host needs.
  writeServers(file, entries, ["a", "b"], ["c"]);
  a.signal("SIGHUP");
  assert.ok(await logged(a, /servers file reloaded: retired c \(members a, b\)/), a.stderr());
});

test("a server restarted without a retired server's line keeps that server's messages", async () => {
  const dir = tempDir("distchat-member-");
  const { file, entries } = await makeCluster(["a", "b"], dir);
  const a = await startServer({ id: "a", servers: file, db: join(dir, "a.sqlite") });
  const b = await startServer({ id: "b", servers: file, db: join(dir, "b.sqlite") });
  running.add(a);
  const bob = await login(t.u, b.clientAddr, "bob");
  await enter(t.u, b.clientAddr, bob, "r");
  const id = await add(t.u, b.clientAddr, bob, "r", "from b");
  assert.match(id, /^b/);
  for (let i = 0; i < 100 && !(await readAll(t.u, a.clientAddr, bob, "r")).ids.includes(id); i++) await new Promise((r) => setTimeout(r, 50));
  await b.stop();
  await a.stop();
  running.delete(a);
  writeServers(file, entries, ["a"]); // b's line removed, no `retired` line
  const a2 = await startServer({ id: "a", servers: file, db: join(dir, "a.sqlite") });
  running.add(a2);
  assert.not.match(a2.stderr(), /removed \d+ op/);
  const t2 = await login(t.u, a2.clientAddr, "check");
  await enter(t.u, a2.clientAddr, t2, "r");
  assert.equal((await readAll(t.u, a2.clientAddr, t2, "r")).msgs, ["from b"]);
});

test.run();
