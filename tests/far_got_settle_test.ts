/**
 * Issue 27's chaos tail on the servers that stayed up, in simulated time
 * (testing/memory_cluster.ts): in a five-server cluster a confirmer has one
 * far server — the one right after it in the ring, which may not name it
 * and heard its `got` only every LIVENESS.gotAllEveryMs (1 s). Its readers
 * wait for the confirmer's word on a copy (stable delivery), so a lost
 * periodic `got` held the copy — and the whole room there — a second or two.
 * In a cluster of at most LIVENESS.gotAllAfterCommitUpTo servers the
 * confirmer's `got` after the commit that confirmed the copy goes to every
 * peer (lib/acks/gots.ts): the far server shows it as soon as the near ones.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodePeer } from "../lib/wire/codec.ts";
import { EMPTY } from "../lib/wire/vector.ts";
import { LIVENESS } from "../lib/acks/liveness.ts";
import { Ring } from "../lib/acks/ring.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";

/** What a reader at server `id` may be shown of room `r`: settled copies only. */
function settledListing(c: MemoryCluster, id: string): string[] {
  const store = c.node(id).store;
  return [...store.messages.uncovered("r", EMPTY, store.vector().keys(), false, store.settling)].map((m) => m.msg);
}

const isGot = (bytes: Uint8Array) => {
  const r = decodePeer(bytes);
  return r.ok && r.value.datagram.verb === "got";
};

test("five servers: a copy confirmed by c is shown at c's far server d right after c's commit, with c's next periodic got to d lost", async () => {
  const ids = ["a", "b", "c", "d", "e"];
  assert.ok(ids.length <= LIVENESS.gotAllAfterCommitUpTo);
  assert.not.ok(new Ring(ids, "c").near.includes("d"), "d is c's far server");
  const c = await memoryCluster({ ids });
  try {
    c.send("b", { verb: "login", tag: "L", userName: "bob" });
    c.run(50);
    const token = (c.reply("L") as { token: string }).token;
    c.send("b", { verb: "open", tag: "O", token, groupName: "r" });
    c.run(3000); // every server has heard every other's got: b names c
    // Send the add just after c's periodic got to d, and lose the next one (the first got of c to d sent 100 ms or more
    // after the add; c makes no op of its own, so no fan-out of c carries its got either).
    let added = Infinity, periodicSent = false, lost = 0;
    c.setDrop((from, to, bytes) => {
      if (from !== "c" || to !== "d" || !isGot(bytes)) return false;
      periodicSent = true;
      if (c.clock.now() - added < 100 || lost > 0) return false;
      lost++;
      return true;
    });
    periodicSent = false;
    while (!periodicSent) c.run(5);
    added = c.clock.now();
    c.send("b", { verb: "add", tag: "t1", token, groupName: "r", msg: "far line" });
    const shownAt = new Map<string, number>();
    const stopWatch = c.clock.every(5, () => {
      for (const id of ["a", "d", "e"]) if (!shownAt.has(id) && settledListing(c, id).length > 0) shownAt.set(id, c.clock.now() - added);
    });
    c.run(LIVENESS.gotAllEveryMs * 3);
    stopWatch();
    assert.is(c.reply("t1")?.verb, "ok", "acked");
    const conf = c.node("b").store.db.prepare("SELECT conf FROM ops WHERE kind = 'msg' AND msg = ?").get("far line") as { conf: string };
    assert.is(conf.conf, "c");
    assert.is(lost, 1, "one periodic got of c to d lost");
    const at = Object.fromEntries(shownAt);
    // Near servers a and e hear c's got after its commit; d, before this change, only c's next periodic one (lost here), then the one after.
    for (const id of ["a", "e", "d"]) assert.ok(shownAt.has(id) && shownAt.get(id)! < 200, `shown at ${id} within 200 ms of the add (ms after the add: ${JSON.stringify(at)})`);
  } finally {
    c.close();
  }
});

test.after(removeTempDirs);
test.run();
