/**
 * Issue 24's hidden check: every file of a server (database, write-ahead
 * log, high-water mark, reply key — as a VM snapshot or a backup tool
 * restores them) rolled back to an older copy. The files agree with each
 * other, so only the peers can tell the server it is behind; a server that
 * cannot hear all of them must not continue its old origin
 * (docs/ARCHITECTURE.md "Incarnations"). Real servers: copy a's files, let a
 * write more (its peers get it), stop, restore the copy, start a — alone
 * (three rounds in one cluster) or with its peers up — write on it, and at
 * the end no op id names two different ops: every server lists every acked
 * message under its acked id, once. Before the fix, a alone continued its
 * old origin and a.N meant "second-…" on b and c and "after-…" on a.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sleep } from "../testing/cluster_ops.ts";
import { type Acked, type Cluster, durableCluster } from "../testing/durable_cluster.ts";

const d = durableCluster();
test.before(d.setup);
test.after(d.teardown);

/** Stops a, copies all its files, starts it again and writes `texts` on it (acked: b and c have them). */
async function snapshotThenWrite(c: Cluster, token: string, texts: string[], acked: Acked): Promise<string> {
  await d.stop(c, "a");
  const copy = `${c.dir}/a-snapshot.sqlite`;
  d.copyFiles(c, "a", copy);
  await d.start(c, "a");
  await d.addAll(c.srv.a, token, texts, acked);
  await d.converged(c, token, acked);
  return copy;
}

test("all files restored with every peer down, three times: a new incarnation each time, no id names two ops", async () => {
  const c = await d.cluster();
  const acked: Acked = new Map();
  const alice = await d.loginAndEnter(c.srv.a, "alice");
  await d.addAll(c.srv.a, alice, ["first-0", "first-1"], acked);
  for (let round = 0; round < 3; round++) {
    const copy = await snapshotThenWrite(c, alice, [0, 1, 2, 3].map((i) => `second-${round}-${i}`), acked);
    const before = /, origin ([^\s,]+)/.exec(c.srv.a.stdout())?.[1];
    for (const id of ["a", "b", "c"]) await d.stop(c, id);
    d.restoreFiles(c, "a", copy);
    const a = await d.start(c, "a");
    assert.match(a.stderr(), /new incarnation a~\S+: not every peer answered/);
    const after = [0, 1, 2, 3].map((i) => `after-${round}-${i}`);
    // Alone, a stores the adds but acks them only once b, its confirmer, has them (two-disk acks).
    const adding = d.addAll(a, alice, after, acked);
    await sleep(300);
    await Promise.all([d.start(c, "b"), d.start(c, "c")]);
    await adding;
    const ids = after.map((t) => [...acked].find(([, m]) => m === t)![0]);
    assert.ok(before && ids.every((id) => id.startsWith("a~") && id.split(".")[0] !== before), `${before}: ${ids.join(" ")}`);
    await d.converged(c, alice, acked);
  }
});

test("all files restored with the peers up: they have more of a's origin, so a new incarnation", async () => {
  const c = await d.cluster();
  const acked: Acked = new Map();
  const alice = await d.loginAndEnter(c.srv.a, "alice");
  const copy = await snapshotThenWrite(c, alice, ["second-0", "second-1"], acked);
  await d.stop(c, "a");
  d.restoreFiles(c, "a", copy);
  const a = await d.start(c, "a");
  assert.match(a.stderr(), /new incarnation a~\S+: a peer has a\.\d+/);
  await d.addAll(a, alice, ["after-0", "after-1"], acked);
  await d.converged(c, alice, acked);
});

test("a plain restart with every peer up keeps its origin", async () => {
  const c = await d.cluster();
  await d.stop(c, "a");
  const a = await d.start(c, "a");
  assert.not.match(a.stderr(), /new incarnation/);
  assert.match(a.stdout(), /, origin a,/);
});

test.run();
