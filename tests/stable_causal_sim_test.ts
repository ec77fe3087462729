/**
 * Stable delivery (docs/ARCHITECTURE.md "Stable delivery") keeps causal
 * order (docs/PROTOCOL.md: a message never comes before one its sender had
 * already received): when a reader's server holds an origin's copy back (not
 * settled yet), it holds back what was delivered after it from every origin
 * — a later message made by a server that had that copy depends on it. Found
 * as a chaos run's "order inversions at server e" (/tmp/i27e/chaos_main2.txt).
 * On an in-memory network (testing/memory_cluster.ts).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Reply, Request } from "../lib/wire/messages.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { memoryCluster } from "../testing/memory_cluster.ts";

const add = (token: string, tag: string, msg: string): Request => ({ verb: "add", tag, token, groupName: "r", msg });

test("a's line held back at c (its confirmer b's got lost): c's own later line, made with a's in hand, waits for it in polls and history; the reader at c sees them in order", async () => {
  const c = await memoryCluster({ ids: ["a", "b", "c"] });
  try {
    const token = c.loginAndOpen("a", "bob", "r");
    let polls = 0;
    /** What a reader polling at c is shown ("origin.seq text"), from `cursor` on. */
    const read = (cursor: ReadonlyMap<string, number>) => {
      c.send("c", { verb: "request", tag: `P${++polls}`, token, groupName: "r", cursor, waitMs: 0 });
      c.run(20);
      const r = c.reply(`P${polls}`);
      assert.ok(r && r.verb === "poll", JSON.stringify(r));
      const p = r as Extract<Reply, { verb: "poll" }>;
      return { cursor: p.cursor, shown: p.entries.map((e) => `${e.msgId.origin}.${e.msgId.n} ${e.msg}`) };
    };
    c.setDrop((from, to) => from === "b" && to === "c"); // c hears nothing from b, a's copy's confirmer
    c.send("a", add(token, "t1", "first"));
    c.run(300);
    assert.ok(c.reply("t1")?.verb === "ok", "acked: b has it");
    c.send("c", add(token, "t2", "second")); // c has "first": "second" comes after it
    c.run(300);
    assert.ok(c.reply("t2")?.verb === "ok");
    assert.equal(c.listing("c", "r"), ["a.3 first", "c.1 second"]);
    const held = read(new Map());
    assert.equal(held.shown, [], "neither is shown while the first is not settled at c");
    c.send("c", { verb: "history", tag: "H1", token, groupName: "r", limit: 50, before: null });
    c.run(20);
    const h = c.reply("H1") as Extract<Reply, { verb: "ok"; kind: "history" }>;
    assert.equal(h.entries.map((e) => e.msg), [], "nor does history list the second");
    c.setDrop(() => false);
    c.run(2000);
    assert.equal(read(held.cursor).shown, ["a.3 first", "c.1 second"], "then both, in order");
    assert.equal(read(h.cursor).shown, ["a.3 first", "c.1 second"], "and a poll from history's tail, too");
  } finally {
    c.close();
  }
});

test.after(removeTempDirs);
test.run();
