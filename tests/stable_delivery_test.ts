/**
 * Stable delivery (docs/ARCHITECTURE.md "Stable delivery", issue 27), as a
 * property over seeds on the in-memory cluster (testing/memory_cluster.ts):
 * while peer datagrams are lost at random and a client retransmits its
 * unacked adds to random servers (failing over), a reader polling at every
 * server is never shown a copy that is later hidden, never shown a line
 * twice, and — once the losses stop — is shown every message every server
 * lists, in the end exactly once. The readers list notices too, and a
 * second user joins and leaves meanwhile: a notice of an origin after one
 * of its copies not yet settled must not carry the cursor past that copy.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Reply, Request } from "../lib/wire/messages.ts";
import type { Vector } from "../lib/wire/vector.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { mulberry32 } from "../testing/prng.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";

const IDS = ["a", "b", "c"];
const SEEDS = [1, 2, 3, 4, 5, 6];
const ADDS = 12;

type Reader = { at: string; cursor: Vector; shown: string[]; tags: number };

/** Logs `user` in at a and opens room "r" (bob) or joins it (anyone else); returns the token. */
function login(c: MemoryCluster, user = "bob"): string {
  c.send("a", { verb: "login", tag: `L${user}`, userName: user });
  c.run(50);
  const token = (c.reply(`L${user}`) as { token: string }).token;
  c.send("a", { verb: user === "bob" ? "open" : "connect", tag: `O${user}`, token, groupName: "r" });
  c.run(200);
  return token;
}

/** One poll of each reader (waitMs 0), the replies read after `ms` of the clock. */
function pollAll(c: MemoryCluster, token: string, readers: Reader[], ms: number): void {
  const tags = readers.map((r) => `P${r.at}${++r.tags}`);
  for (const [i, r] of readers.entries()) {
    c.send(r.at, { verb: "request", tag: tags[i], token, groupName: "r", cursor: r.cursor, waitMs: 0, notices: true });
  }
  c.run(ms);
  for (const [i, r] of readers.entries()) {
    const p = c.reply(tags[i]);
    if (!p || p.verb !== "poll") continue; // lost with the losses of this step: polled again next step
    const poll = p as Extract<Reply, { verb: "poll" }>;
    r.shown.push(...poll.entries.filter((e) => !e.msg.startsWith("\u0001")).map((e) => `${e.msgId.origin}.${e.msgId.n} ${e.msg}`));
    r.cursor = poll.cursor;
  }
}

for (const seed of SEEDS) {
  test(`seed ${seed}: no reader is shown a copy later hidden, or a line twice; each is shown every listed message`, async () => {
    const c = await memoryCluster({ ids: IDS, seed });
    try {
      const random = mulberry32(seed * 7919);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
      const token = login(c);
      const carol = login(c, "carol");
      const readers: Reader[] = IDS.map((at) => ({ at, cursor: new Map(), shown: [], tags: 0 }));
      const add = (i: number): Request => ({ verb: "add", tag: `t${i}`, token, groupName: "r", msg: `line ${i}` });
      const acked = (i: number) => c.replies.some((r) => r.tag === `t${i}` && r.verb === "ok");
      // A lossy stretch: each step cuts some links between servers, sends an add, fails over unacked ones.
      for (let step = 0; step < ADDS * 3; step++) {
        const cut = new Set(IDS.flatMap((x) => IDS.map((y) => `${x}>${y}`)).filter(() => random() < 0.3));
        c.setDrop((from, to) => from !== "client" && to !== "client" && cut.has(`${from}>${to}`));
        if (step % 3 === 0) c.send(pick(IDS), add(step / 3));
        if (step % 3 === 1) c.send(pick(IDS), { verb: step % 6 === 1 ? "leave" : "connect", tag: `j${step}`, token: carol, groupName: "r" });
        for (let i = 0; i < Math.min(ADDS, Math.floor(step / 3)); i++) if (!acked(i) && random() < 0.3) c.send(pick(IDS), add(i));
        pollAll(c, token, readers, 60);
      }
      // The losses stop; every add is retransmitted until acked.
      c.setDrop(() => false);
      for (let round = 0; round < 10 && ![...Array(ADDS).keys()].every(acked); round++) {
        for (let i = 0; i < ADDS; i++) if (!acked(i)) c.send(pick(IDS), add(i));
        c.run(1000);
      }
      assert.ok([...Array(ADDS).keys()].every(acked), "every add acked once the losses stop");
      c.run(2000);
      for (let i = 0; i < 5; i++) pollAll(c, token, readers, 300);
      const listed = c.listing("a", "r").sort();
      for (const id of IDS) assert.equal(c.listing(id, "r").sort(), listed, `server ${id} lists what a lists`);
      assert.is(listed.length, ADDS, listed.join(", "));
      for (const r of readers) {
        const hidden = r.shown.filter((line) => !listed.includes(line));
        assert.equal(hidden, [], `reader at ${r.at} was shown copies that are hidden now`);
        assert.equal(r.shown.slice().sort(), listed, `reader at ${r.at}: every listed message, once`);
      }
    } finally {
      c.close();
    }
  });
}

test("a notice of an origin after its unsettled copy waits with it: the cursor never passes the copy", async () => {
  const c = await memoryCluster({ ids: IDS });
  try {
    const token = login(c);
    const carol = login(c, "carol");
    const reader: Reader = { at: "c", cursor: new Map(), shown: [], tags: 0 };
    pollAll(c, token, [reader], 20);
    reader.shown.length = 0;
    c.setDrop((from, to) => from === "a" && to === "b"); // b, a's confirmer, does not get X yet
    c.send("a", { verb: "add", tag: "t1", token, groupName: "r", msg: "hello" });
    c.run(100);
    c.send("a", { verb: "leave", tag: "j1", token: carol, groupName: "r" }); // a notice of origin a after X
    c.run(100);
    assert.ok(c.listing("c", "r").some((l) => l.endsWith(" hello")), "c holds X");
    pollAll(c, token, [reader], 20);
    assert.equal(reader.shown, [], "X is not settled at c: not shown");
    c.setDrop(() => false);
    c.run(1000); // b gets X and accepts it; its got settles X at c
    assert.ok(c.replies.some((r) => r.tag === "t1" && r.verb === "ok"), "X acked");
    pollAll(c, token, [reader], 20);
    assert.equal(reader.shown.map((l) => l.replace(/^\S+ /, "")), ["hello"], "the reader is shown X once it settles");
  } finally {
    c.close();
  }
});

test.after(removeTempDirs);
test.run();
