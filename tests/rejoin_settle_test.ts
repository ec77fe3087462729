/**
 * Issue 27's chaos regression on the servers that stayed up, reproduced in
 * simulated time (testing/memory_cluster.ts): a copy naming a confirmer that
 * is killed and restarted within `confirmerDownMs` (1.5 s) — as a kill -9
 * and a restart 1 s later do in the chaos run — is settled at the other
 * servers by the restarted confirmer's `got`, not by a stand-in (it is heard
 * again before it counts as down). A restarted server is `rejoining` until it
 * holds what its peers told it during its start, which waits up to
 * PEER_WAIT_MS (2 s) when a peer is down; if it sent no `got` until then,
 * every server's readers waited that long for a copy it already held, and
 * the whole room with it (stable delivery keeps causal order). It sends its
 * `got` while it catches up (docs/ARCHITECTURE.md "A restarted server
 * catches up before it takes writes"): the copy settles as soon as the
 * confirmer has stored it.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Request } from "../lib/wire/messages.ts";
import { EMPTY } from "../lib/wire/vector.ts";
import { PEER_WAIT_MS } from "../lib/server/node.ts";
import { LIVENESS } from "../lib/acks/liveness.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";

const add = (token: string, tag: string, msg: string): Request => ({ verb: "add", tag, token, groupName: "r", msg });

/** What a reader at server `id` may be shown of room `r` ("origin.seq text"): settled copies only. */
function settledListing(c: MemoryCluster, id: string): string[] {
  const store = c.node(id).store;
  return [...store.messages.uncovered("r", EMPTY, store.vector().keys(), false, store.settling)].map((m) => `${m.origin}.${m.seq} ${m.msg}`);
}

/** The confirmer named by server `id`'s copy of `msg` in room r. */
function confirmerOf(c: MemoryCluster, id: string, msg: string): string {
  const row = c.node(id).store.db.prepare("SELECT conf FROM ops WHERE kind = 'msg' AND msg = ?").get(msg) as { conf: string } | undefined;
  return row?.conf ?? "(none)";
}

test("a confirmer killed and back within 1.5 s, its start waiting 2 s for a silent peer: the copy naming it settles at the third servers once it holds the copy, not after its start's wait", async () => {
  const ids = ["a", "b", "c", "d", "e"];
  const c = await memoryCluster({ ids });
  try {
    const token = c.loginAndOpen("a", "bob", "r");
    await c.kill("d"); // a second server down, as in half the chaos run's kills: b's start waits PEER_WAIT_MS for it
    c.run(2000);
    await c.kill("b"); // a heard b's `got` a moment ago: a's copy names b
    const added = c.clock.now();
    c.send("a", add(token, "t1", "held line"));
    c.run(20);
    assert.is(confirmerOf(c, "a", "held line"), "b");
    assert.equal(settledListing(c, "c"), [], "not settled at c while b is silent");
    // When each third server's readers are first shown the line, in the cluster's time.
    const shownAt = new Map<string, number>();
    const stopWatch = c.clock.every(5, () => {
      for (const id of ["c", "e"]) if (!shownAt.has(id) && settledListing(c, id).length > 0) shownAt.set(id, c.clock.now());
    });
    c.run(1000); // the chaos harness restarts a killed server 1 s later; b is silent less than confirmerDownMs
    const restarted = c.clock.now();
    assert.ok(restarted - added < LIVENESS.confirmerDownMs);
    await c.restart("b"); // rejoining; its start waited PEER_WAIT_MS for d
    assert.ok(c.clock.now() - restarted >= PEER_WAIT_MS, "b's start waited for silent d");
    c.run(3000);
    stopWatch();
    assert.is(c.node("b").members.state, "member");
    const after = ["c", "e"].map((id) => [id, shownAt.has(id) ? shownAt.get(id)! - restarted : null] as const);
    // Every peer hears b's `got` after the commit that stored the copy (five servers: at most LIVENESS.gotAllAfterCommitUpTo; before, the far one only once a second, LIVENESS.gotAllEveryMs): within a second of b's restart, before its start's wait is over.
    for (const [id, ms] of after) assert.ok(ms !== null && ms < PEER_WAIT_MS, `shown at each third server before b's start's wait is over (ms after b's restart: ${JSON.stringify(after)})`);
    assert.ok(c.reply("t1")?.verb === "ok", "the writer's ack came too");
  } finally {
    c.close();
  }
});

test.after(removeTempDirs);
test.run();
