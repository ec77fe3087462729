/**
 * The two-disk ack rule (docs/ARCHITECTURE.md "Acks") on an in-memory
 * network and an injected clock: three whole servers, each built as
 * server.ts builds one (testing/memory_cluster.ts), with datagrams dropped,
 * servers cut off ("crashed") and brought back. Checks that no add is acked before a second server has
 * it, that the acked id is the one every server lists, and the three cases
 * of the issue: crash after commit before the ack, the ack lost, the
 * confirmer down.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Reply, Request } from "../lib/wire/messages.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { mulberry32 } from "../testing/prng.ts";
import { type MemoryCluster, memoryCluster, type MemoryClusterOptions } from "../testing/memory_cluster.ts";

const IDS = ["a", "b", "c"];

/**
 * Three servers (or `ids`) on one clock (each may read it `skew` ms off),
 * built as real servers are (lib/server/node.ts) on an in-memory network
 * (testing/memory_cluster.ts): `down` servers neither send nor receive;
 * `drop` loses datagrams; with `key`, peer datagrams are authenticated
 * (epochs, hello/proof).
 */
const cluster = (o: MemoryClusterOptions = {}) => memoryCluster({ ids: IDS, ...o });

type Cluster = MemoryCluster;

/** Logs in at `at`, opens room "r"; returns the token. */
function login(c: Cluster, at: string): string {
  c.send(at, { verb: "login", tag: "L1", userName: "bob" });
  c.run(50);
  const r = c.reply("L1");
  assert.ok(r && r.verb === "ok" && r.kind === "login", JSON.stringify(r));
  const token = (r as { token: string }).token;
  c.send(at, { verb: "open", tag: "O1", token, groupName: "r" });
  c.run(200); // the session and room reach every server
  return token;
}

const add = (token: string, tag: string, msg: string): Request => ({ verb: "add", tag, token, groupName: "r", msg });

function ackedId(c: Cluster, tag: string): string | null {
  const r = c.reply(tag);
  return r && r.verb === "ok" && r.kind === "add" ? `${r.msgId.origin}.${r.msgId.n}` : null;
}

/** Every server lists exactly `expected` ("origin.seq text", in any order). */
function assertListed(c: Cluster, expected: string[]): void {
  for (const id of IDS) assert.equal(c.listing(id, "r").sort(), [...expected].sort(), `server ${id}`);
}

test("an add is acked only once a second server (its confirmer, the next in servers.txt) has it on disk", async () => {
  const c = await cluster();
  try {
    const token = login(c, "a");
    let bGot = 0;
    c.setDrop((from, _to, bytes) => from === "b" && new TextDecoder().decode(bytes).startsWith("got") && bGot++ >= 0);
    c.send("a", add(token, "t1", "hello"));
    c.run(2000);
    assert.is(c.reply("t1"), undefined, "no ack while b's got is lost");
    assert.equal(c.listing("b", "r"), ["a.3 hello"], "b holds it already");
    c.setDrop(() => false);
    c.run(1200); // b repeats its got within a second
    assert.is(ackedId(c, "t1"), "a.3");
    assertListed(c, ["a.3 hello"]);
  } finally {
    c.close();
  }
});

test("got: at once to the origin that named this server confirmer and to the servers before it (their readers wait for it), in a small cluster to every peer; every 250 ms to the 3 servers before it, every second to the rest", async () => {
  const c = await cluster({ ids: ["a", "b", "c", "d", "e", "f"] });
  try {
    const token = login(c, "a");
    c.run(1000);
    const gots: string[] = [];
    c.setDrop((from, to, bytes) => (new TextDecoder().decode(bytes).startsWith("got") && gots.push(`${from}>${to}`), false));
    c.run(2000);
    const count = (k: string) => gots.filter((g) => g === k).length;
    // c is near to f, a and b (a server names the first live one after it); d and e hear it once a second.
    for (const to of ["f", "a", "b"]) assert.ok(count(`c>${to}`) >= 7 && count(`c>${to}`) <= 9, `c>${to}: ${count(`c>${to}`)}`);
    for (const to of ["d", "e"]) assert.ok(count(`c>${to}`) >= 1 && count(`c>${to}`) <= 3, `c>${to}: ${count(`c>${to}`)}`);
    // An add on a names b; b's got after storing it goes to a and the other near servers (e, f: stable delivery) and, the cluster
    // having at most LIVENESS.gotAllAfterCommitUpTo servers, to the far ones too (c, d); the ack follows at once.
    gots.length = 0;
    c.send("a", add(token, "t1", "hello"));
    c.run(20);
    assert.ok(ackedId(c, "t1"), "acked within 20 ms");
    assert.equal(gots.filter((g) => g.startsWith("b>")).sort(), ["b>a", "b>c", "b>d", "b>e", "b>f"], gots.join(" "));
    assert.equal(gots.filter((g) => !g.startsWith("b>")), [], "no other server sent a got");
  } finally {
    c.close();
  }
});

test("crash after commit before ack: the retransmission at the confirmer makes the copy everyone lists", async () => {
  const c = await cluster();
  try {
    const token = login(c, "a");
    // a stores the add and is cut off before anything of it leaves.
    c.setDrop((from) => from === "a");
    c.send("a", add(token, "t1", "once"));
    c.run(10);
    c.down.add("a");
    c.setDrop(() => false);
    c.run(100);
    // The client fails over to b, the next server: b has no copy and makes its own.
    c.send("b", add(token, "t1", "once"));
    c.run(1500);
    const acked = ackedId(c, "t1");
    assert.ok(acked?.startsWith("b."), `acked ${acked}`);
    // a comes back: its copy reaches b, its confirmer, which hides it.
    c.down.delete("a");
    c.run(3000);
    assertListed(c, [`${acked} once`]);
    assert.is(c.node("a").heldAcks, 0, "a's held ack was answered");
    assert.ok(c.replies.filter((r) => r.tag === "t1").every((r) => r.verb === "ok" && r.kind === "add" && `${r.msgId.origin}.${r.msgId.n}` === acked));
  } finally {
    c.close();
  }
});

test("ack lost: the retransmission to the confirmer is answered with the original id", async () => {
  const c = await cluster();
  try {
    const token = login(c, "a");
    c.setDrop((from, to) => from === "a" && to === "client");
    c.send("a", add(token, "t1", "lost ack"));
    c.run(1500);
    assert.is(c.reply("t1"), undefined);
    c.down.add("a");
    c.setDrop(() => false);
    c.send("b", add(token, "t1", "lost ack"));
    c.run(100);
    assert.is(ackedId(c, "t1"), "a.3");
    c.down.delete("a");
    c.run(2000);
    assertListed(c, ["a.3 lost ack"]);
  } finally {
    c.close();
  }
});

test("confirmer down: after 1.5 s of its silence another server's disk stands in; new adds name the next server; every server agrees", async () => {
  const c = await cluster();
  try {
    const token = login(c, "a");
    c.down.add("b");
    c.send("a", add(token, "t1", "named b"));
    c.run(1000);
    assert.is(c.reply("t1"), undefined, "b was live a moment ago: a named it and waits");
    c.run(1000);
    assert.is(ackedId(c, "t1"), "a.3", "b silent for 1.5 s: c's disk stands in for b's");
    // The client failed over meanwhile: c answers the resend with the same copy.
    c.send("c", add(token, "t1", "named b"));
    c.run(300);
    assert.ok(c.replies.filter((r) => r.tag === "t1").every((r) => r.verb === "ok" && r.kind === "add" && `${r.msgId.origin}.${r.msgId.n}` === "a.3"));
    c.send("a", add(token, "t2", "confirmed by c"));
    c.run(300);
    assert.is(ackedId(c, "t2"), "a.4");
    c.down.delete("b");
    c.run(3000);
    assertListed(c, ["a.3 named b", "a.4 confirmed by c"]);
  } finally {
    c.close();
  }
});

test("confirmer down and no other server up: no ack (one disk is not two)", async () => {
  const c = await cluster();
  try {
    const token = login(c, "a");
    c.down.add("b");
    c.down.add("c");
    c.send("a", add(token, "t1", "alone"));
    c.run(5000);
    assert.is(c.reply("t1"), undefined);
  } finally {
    c.close();
  }
});

test("lossy network: every acked id is listed by every server, once", async () => {
  const c = await cluster({ seed: 7 });
  try {
    const token = login(c, "a");
    const rand = mulberry32(42);
    c.setDrop(() => rand() < 0.2);
    const texts = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const tag = `m${i}`;
      texts.set(tag, `line ${i}`);
      // Retransmissions go to the servers in turn, as a failing-over client's do.
      for (let k = 0; k < 4; k++) {
        c.send(IDS[(i + k) % 3], add(token, tag, `line ${i}`));
        c.run(200);
      }
    }
    c.setDrop(() => false);
    for (const tag of texts.keys()) if (!c.reply(tag)) c.send("a", add(token, tag, texts.get(tag)!));
    c.run(5000);
    const acked = [...texts.keys()].map((tag) => `${ackedId(c, tag)} ${texts.get(tag)}`);
    assert.ok(acked.every((line) => !line.startsWith("null")), "every add acked once the loss stops");
    assertListed(c, acked);
    for (const tag of texts.keys()) {
      const ids = new Set(c.replies.filter((r) => r.tag === tag && r.verb === "ok").map((r) => r.verb === "ok" && r.kind === "add" && `${r.msgId.origin}.${r.msgId.n}`));
      assert.is(ids.size, 1, `${tag}: one id in every ack`);
    }
  } finally {
    c.close();
  }
});

test("a server whose clock is 10 minutes ahead: authenticated replication, acks and tokens work to and from it (it follows the slowest clock); the skew is logged and reported", async () => {
  const c = await cluster({ skew: { c: 600_000 }, key: new TextEncoder().encode("a cluster key for the skew test") });
  try {
    const token = login(c, "a");
    c.send("c", add(token, "t1", "from the fast clock"));
    c.send("a", add(token, "t2", "to it"));
    c.run(2000);
    assert.ok(ackedId(c, "t1")?.startsWith("c."), JSON.stringify(c.reply("t1")));
    assert.ok(ackedId(c, "t2")?.startsWith("a."));
    // A session made on the fast server works on the others.
    c.send("c", { verb: "login", tag: "L2", userName: "carol" });
    c.run(100);
    const carol = (c.reply("L2") as { token: string }).token;
    c.send("c", { verb: "connect", tag: "C2", token: carol, groupName: "r" });
    c.run(300);
    c.send("b", add(carol, "t3", "carol via b"));
    c.run(1000);
    assert.ok(ackedId(c, "t3")?.startsWith("b."), JSON.stringify(c.reply("t3")));
    assertListed(c, [`${ackedId(c, "t1")} from the fast clock`, `${ackedId(c, "t2")} to it`, `${ackedId(c, "t3")} carol via b`]);
    assert.ok(c.logs.some((l) => /^a: the clock of c is 600 s ahead of this server's/.test(l)), c.logs.join("\n"));
    assert.ok(c.logs.some((l) => /^c: the clock of a is 600 s behind this server's/.test(l)), c.logs.join("\n"));
    const offset = c.node("a").status().peers.c.clockOffsetMs ?? 0;
    assert.ok(Math.abs(offset - 600_000) < 100, `a sees c's clock ${offset} ms off`);
  } finally {
    c.close();
  }
});

/**
 * The correctness gap of issue 27, closed (stable delivery,
 * docs/ARCHITECTURE.md): a reader is never shown a copy that is later hidden.
 *
 * The client's add reaches a, which stores copy X naming b its confirmer;
 * b does not get X (a's datagrams to b are lost), c does. Before the fix c
 * showed X to a reader at once; now c holds it back until b's word is in.
 * The client hears no ack (a waits for b) and fails over to b, which has no
 * copy, makes its own Y and acks it. When a's datagrams reach b again, b —
 * bound to Y — refuses X; the reader at c is shown Y, once, and never X.
 */
test("stable delivery (issue 27): a long poll at a third server never shows a copy its confirmer later refuses; it shows the acked copy once", async () => {
  const c = await cluster();
  try {
    const token = login(c, "a");
    let polls = 0;
    /** Everything a reader polling at c is shown, in order ("origin.seq text"), from `cursor` on. */
    const read = (cursor: ReadonlyMap<string, number>) => {
      const tag = `P${++polls}`;
      c.send("c", { verb: "request", tag, token, groupName: "r", cursor, waitMs: 0 });
      c.run(20);
      const r = c.reply(tag);
      assert.ok(r && r.verb === "poll", JSON.stringify(r));
      const p = r as Extract<Reply, { verb: "poll" }>;
      return { cursor: p.cursor, shown: p.entries.map((e) => `${e.msgId.origin}.${e.msgId.n} ${e.msg}`) };
    };
    /** The history page and live-tail cursor at c. */
    const history = () => {
      const tag = `H${++polls}`;
      c.send("c", { verb: "history", tag, token, groupName: "r", limit: 50, before: null });
      c.run(20);
      const r = c.reply(tag);
      assert.ok(r && r.verb === "ok" && r.kind === "history", JSON.stringify(r));
      const h = r as Extract<Reply, { verb: "ok"; kind: "history" }>;
      return { cursor: h.cursor, shown: h.entries.map((e) => `${e.msgId.origin}.${e.msgId.n} ${e.msg}`) };
    };
    c.setDrop((from, to) => from === "a" && to === "b");
    c.send("a", add(token, "t1", "hello"));
    c.run(300);
    assert.equal(c.listing("c", "r"), ["a.3 hello"], "c stores a's copy X");
    const first = read(new Map());
    assert.equal(first.shown, [], "the reader at c is not shown X: its confirmer b has not decided");
    const page = history();
    assert.equal(page.shown, [], "nor does history list it");
    assert.is(c.reply("t1"), undefined, "a waits for b, which has not got X");
    c.send("b", add(token, "t1", "hello")); // the client fails over
    c.run(300);
    const acked = ackedId(c, "t1");
    assert.ok(acked?.startsWith("b."), `b acks its own copy Y: ${acked}`);
    c.setDrop(() => false);
    c.run(3000); // b gets X, refuses it; the hide op reaches c
    assertListed(c, [`${acked} hello`]);
    const second = read(first.cursor);
    assert.equal(second.shown, [`${acked} hello`], "the reader is shown the acked copy, once");
    assert.equal(read(second.cursor).shown, [], "and nothing more");
    assert.equal(read(page.cursor).shown, [`${acked} hello`], "a reader that began from history's tail is shown it too");
  } finally {
    c.close();
  }
});

test.after(removeTempDirs);
test.run();
