/**
 * Two-disk acks with TWO servers (docs/ARCHITECTURE.md "Acks", "Two
 * servers, or two copies naming each other"): a failover during peer loss
 * makes two copies of one add, each naming the other server as confirmer.
 * Before the fix each server refused the other's copy, so neither was
 * listed and no ack came until the client sent the add once more. Now
 * exactly one survives (the smaller key), both servers ack it without a
 * further send, and it is the copy both list.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Reply } from "../lib/wire/messages.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { mulberry32 } from "../testing/prng.ts";
import { refuses } from "../lib/rules/binding.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";

const IDS = ["a", "b"];

/** Logs in at a, opens room "r" (reaching both servers); returns the token. */
function login(c: MemoryCluster): string {
  c.send("a", { verb: "login", tag: "L1", userName: "bob" });
  c.run(50);
  const token = (c.reply("L1") as { token: string }).token;
  c.send("a", { verb: "open", tag: "O1", token, groupName: "r" });
  c.run(300);
  return token;
}

/** The ids named by every `ok` to `tag`. */
const ackedIds = (c: MemoryCluster, tag: string) =>
  c.replies.filter((r: Reply) => r.tag === tag && r.verb === "ok").map((r) => {
    const id = (r as { msgId: { origin: string; n: number } }).msgId;
    return `${id.origin}.${id.n}`;
  });

/** The loss ends; with no further send, add "t1" is acked, every ack names one id, and both servers list that copy once. */
function healAndCheck(c: MemoryCluster): void {
  c.setDrop(() => false);
  c.run(3000);
  const acked = ackedIds(c, "t1");
  assert.ok(acked.length >= 1, `acked: ${c.listing("a", "r")} / ${c.listing("b", "r")}`);
  assert.equal(new Set(acked).size, 1, `every ack names one id: ${acked}`);
  for (const id of IDS) assert.equal(c.listing(id, "r"), [`${acked[0]} once`], `server ${id}`);
}

test("the binding rule: two copies naming each other's origin, only the larger key is refused; any other bound copy refuses", () => {
  const x = { origin: "a~1", key: [5, "a~1"] as const, conf: "b" };
  const y = { origin: "b~1", key: [6, "b~1"] as const, conf: "a" };
  assert.is(refuses("b", x.origin, x.key, [y]), false, "b keeps x (smaller key): a refuses y");
  assert.is(refuses("a", y.origin, y.key, [x]), true, "a refuses y");
  assert.is(refuses("b", x.origin, x.key, []), false, "bound to nothing");
  assert.is(refuses("b", x.origin, x.key, [{ ...y, conf: "c" }]), true, "b's copy names c, not x's origin");
  assert.is(refuses("b", x.origin, x.key, [{ origin: "c~1", key: [9, "c~1"], conf: "b" }]), true, "bound to c's copy naming b");
  assert.is(refuses("b", x.origin, x.key, [y, { origin: "c~1", key: [9, "c~1"], conf: "b" }]), true, "one bound copy not exempt is enough");
  assert.is(refuses("b", "a~2", [5, "a~2"], [{ origin: "b~3", key: [6, "b~3"], conf: "a" }]), false, "incarnations: servers compared");
});

for (const first of IDS) {
  test(`cut off from each other, a and b each make a copy (first ${first}): one survives, acked by both without another send`, async () => {
    const c = await memoryCluster({ ids: IDS });
    try {
      const token = login(c);
      c.setDrop((from, to) => from !== "client" && to !== "client"); // the peer link is down
      const add = { verb: "add", tag: "t1", token, groupName: "r", msg: "once" } as const;
      c.send(first, add);
      c.run(100);
      c.send(first === "a" ? "b" : "a", add); // the client fails over
      c.run(100);
      assert.equal(ackedIds(c, "t1"), [], "no ack on one disk");
      healAndCheck(c);
    } finally {
      c.close();
    }
  });
}

for (const seed of [6, 12, 21, 24, 3, 9]) {
  test(`seed ${seed}: 50% peer loss, the add fails over between a and b; the ack comes for the sends already made, and both list the acked copy once`, async () => {
    const c = await memoryCluster({ ids: IDS, seed });
    try {
      const token = login(c);
      const random = mulberry32(seed * 7919);
      c.setDrop((from, to) => from !== "client" && to !== "client" && random() < 0.5);
      const add = { verb: "add", tag: "t1", token, groupName: "r", msg: "once" } as const;
      for (let i = 0; i < 4 && ackedIds(c, "t1").length === 0; i++) { // the client: same tag, failing over
        c.send(i % 2 === 0 ? "a" : "b", add);
        c.run(300);
      }
      healAndCheck(c);
    } finally {
      c.close();
    }
  });
}

test.after(() => removeTempDirs());

test.run();
