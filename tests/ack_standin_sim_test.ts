/**
 * The stand-in ack (docs/ARCHITECTURE.md "A confirmer that dies") against a
 * confirmer that comes back, on an in-memory network and an injected clock
 * (testing/memory_cluster.ts): the chaos run's "acked id listed by no
 * server" (a 300 s run on main, /tmp/i27e/chaos_main.txt) by its one fault,
 * a kill -9 of the confirmer, and the client's ordinary failover.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Request } from "../lib/wire/messages.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { memoryCluster } from "../testing/memory_cluster.ts";

const IDS = ["a", "b", "c"];
const add = (token: string, tag: string, msg: string): Request => ({ verb: "add", tag, token, groupName: "r", msg });

test("confirmer b killed, a's copy acked on c's disk after 1.5 s, that ack lost; b back without it, a resend makes b's own copy and b refuses a's: a resend to a is answered with b's copy, the one every server lists, not a's remembered ack", async () => {
  const c = await memoryCluster({ ids: IDS });
  try {
    const token = c.loginAndOpen("a", "bob", "r");
    // b is killed; a heard it a moment ago, so a's copy names b.
    c.down.add("b");
    let replyLost = true;
    c.setDrop((from, to) => replyLost && from === "a" && to === "client");
    c.send("a", add(token, "t1", "hello"));
    c.run(2000); // a chaos run's restart takes 1 s + start-up (p50 2.9 s); a acks on c's disk meanwhile, and that reply is lost
    replyLost = false;
    assert.is(c.reply("t1"), undefined);
    // b is back on its database, without a's copy, and has not caught up yet; the client, failed over, resends to b.
    c.down.delete("b");
    let catchingUp = true;
    c.setDrop((from, to) => catchingUp && to === "b" && from !== "client");
    c.send("b", add(token, "t1", "hello"));
    c.run(100);
    catchingUp = false;
    c.run(3000);
    // Round the ring again: the resend reaches a.
    const before = c.replies.length;
    c.send("a", add(token, "t1", "hello"));
    c.run(3000);
    assert.ok(c.replies.slice(before).some((r) => r.tag === "t1"), "a answers the resend");
    const ids = new Set(c.replies.filter((r) => r.tag === "t1" && r.verb === "ok").map((r) => r.verb === "ok" && r.kind === "add" && `${r.msgId.origin}.${r.msgId.n}`));
    const listed = IDS.map((s) => c.listing(s, "r"));
    assert.equal(listed[0].length, 1, JSON.stringify(listed));
    for (const l of listed) assert.equal(l, listed[0], "every server lists the same copy");
    assert.equal([...ids], [listed[0][0].split(" ")[0]], `every ack the client got names the listed copy (acks: ${[...ids]}, listed: ${listed[0]})`);
  } finally {
    c.close();
  }
});

test.after(removeTempDirs);
test.run();
