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
import { sleep } from "../testing/cluster_ops.ts";
import { type Acked, durableCluster } from "../testing/durable_cluster.ts";

const d = durableCluster();
test.before(d.setup);
test.after(d.teardown);

test("wiped with its peers up: the restarted server writes under a new incarnation at once", async () => {
  const c = await d.cluster();
  const acked: Acked = new Map();
  const alice = await d.loginAndEnter(c.srv.a, "alice");
  await d.addAll(c.srv.a, alice, ["m1", "m2", "m3"], acked);
  await d.converged(c, alice, acked);
  await d.stop(c, "a");
  d.wipe(c, "a");
  const a = await d.start(c, "a", { newCluster: false });
  assert.match(a.stderr(), /new incarnation a~[0-9a-z]+/);
  // A client fails over to a at once, before a has caught anything up.
  const bob = await d.loginAndEnter(a, "bob");
  await d.addAll(a, bob, ["n1", "n2"], acked);
  assert.ok([...acked.keys()].filter((id) => id.startsWith("a~")).length === 2, [...acked.keys()].join(" "));
  await d.converged(c, alice, acked);
});

test("wiped with its peers down: a new incarnation, and the union once they are back", async () => {
  const c = await d.cluster();
  const acked: Acked = new Map();
  const alice = await d.loginAndEnter(c.srv.a, "alice");
  await d.addAll(c.srv.a, alice, ["m1", "m2", "m3"], acked);
  await d.converged(c, alice, acked);
  await d.stop(c, "b");
  await d.stop(c, "c");
  await d.stop(c, "a");
  d.wipe(c, "a");
  const a = await d.start(c, "a", { newCluster: false });
  assert.match(a.stderr(), /new incarnation/);
  const carol = await d.loginAndEnter(a, "carol");
  // With its peers down a stores the adds but cannot ack them (two-disk acks):
  // the acks come once b, its confirmer, is back and has them on disk.
  const adding = d.addAll(a, carol, ["n1", "n2", "n3"], acked);
  await sleep(500);
  assert.is(acked.size, 3, "no ack while every peer is down");
  await d.start(c, "b");
  await d.start(c, "c");
  await adding;
  await d.converged(c, alice, acked);
});

test("rolled back to an older copy with its peers down: its high-water mark tells, no id is reused", async () => {
  const c = await d.cluster();
  const acked: Acked = new Map();
  const alice = await d.loginAndEnter(c.srv.a, "alice");
  await d.addAll(c.srv.a, alice, ["m1", "m2"], acked);
  await d.converged(c, alice, acked);
  await d.stop(c, "a");
  const copy = `${c.dir}/a-backup.sqlite`;
  d.copyFiles(c, "a", copy, ["", "-wal"]);
  await d.start(c, "a");
  await d.addAll(c.srv.a, alice, ["m3", "m4", "m5"], acked);
  await sleep(300); // let b and c get them
  await d.stop(c, "b");
  await d.stop(c, "c");
  await d.stop(c, "a");
  // The operator restores the database file (not its .hwm) from the backup.
  d.restoreFiles(c, "a", copy, ["", "-wal", "-shm"]);
  const a = await d.start(c, "a");
  assert.match(a.stderr(), /new incarnation .*high-water mark/);
  const adding = d.addAll(a, alice, ["p1", "p2"], acked);
  await sleep(500);
  assert.is(acked.size, 5, "no ack while every peer is down");
  await d.start(c, "b");
  await d.start(c, "c");
  await adding;
  await d.converged(c, alice, acked);
});

test.run();
