/**
 * A restarted server takes no writes until it holds what its peers told it
 * at start (docs/ARCHITECTURE.md "A confirmer that dies"), on an in-memory
 * network and an injected clock (testing/memory_cluster.ts `kill`,
 * `restart`: a fresh node on the same database). Without that rule both
 * cases end with an acked id that no server lists (issue 27, the chaos
 * runs' "acked id listed by no server"): the restarted server, not caught
 * up, makes its own copy of an add whose other copy was acked.
 * "Not caught up" is made deterministic by losing, for a while, the peer
 * datagrams to it that carry the add's text.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Reply, Request } from "../lib/wire/messages.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";
import { RejoinWatch } from "../lib/rules/membership.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { startLine } from "../lib/server/start_line.ts";

const TEXT = "zebra crossing";
const add = (token: string, tag: string): Request => ({ verb: "add", tag, token, groupName: "r", msg: TEXT });
const carriesText = (bytes: Uint8Array) => new TextDecoder().decode(bytes).includes(TEXT);
const idOf = (r: Reply) => (r.verb === "ok" && r.kind === "add" ? `${r.msgId.origin}.${r.msgId.n}` : null);

/** Resends the add to `at` every 500 ms until an `ok` comes from it (as a client's outbox retries `unavailable`), for at most `ms`; the replies. */
function sendUntilOk(c: MemoryCluster, at: string, token: string, ms: number): Reply[] {
  const from = c.replies.length;
  for (let t = 0; t < ms && !c.replies.slice(from).some((r) => r.tag === "t1" && r.verb === "ok"); t += 500) {
    c.send(at, add(token, "t1"));
    c.run(500);
  }
  return c.replies.slice(from).filter((r) => r.tag === "t1");
}

/** Every acked id of the add is the one copy every server lists. */
function assertAckedListed(c: MemoryCluster, ids: string[]): void {
  const acked = [...new Set(c.replies.filter((r) => r.tag === "t1").map(idOf).filter((id) => id !== null))];
  const listed = ids.map((s) => c.listing(s, "r"));
  assert.ok(acked.length > 0, "the add was acked");
  for (const l of listed) assert.equal(l, listed[0], `every server lists the same (${JSON.stringify(listed)})`);
  assert.equal(listed[0].length, 1, `one copy listed: ${listed[0]}`);
  for (const id of acked) assert.ok(listed[0][0].startsWith(`${id} `), `acked id ${id} listed (acks: ${acked}; listed: ${listed[0]})`);
}

test("RejoinWatch: waits for what the peers that answered at the first check told, own origins aside; a peer gone silent since no longer counts", () => {
  const v = (e: [string, number][]) => fromEntries(e);
  const w = new RejoinWatch("c");
  assert.is(w.answered, null);
  const told = [{ id: "a", vector: v([["a", 5], ["c", 9]]) }, { id: "b", vector: v([["a", 4], ["b", 2]]) }];
  const all = () => true;
  assert.is(w.waiting(told, all, v([["a", 5]])), "2 op(s) of b");
  assert.equal(w.answered, ["a", "b"]);
  // A peer told later (d) is not waited for; what a and b told first stays the target.
  assert.is(w.waiting([...told, { id: "d", vector: v([["d", 7]]) }], all, v([["a", 5]])), "2 op(s) of b");
  assert.is(w.waiting(told, (p) => p !== "b", v([["a", 5]])), null, "b silent since: a's word is enough");
  assert.is(w.waiting(told, all, v([["a", 5], ["b", 2]])), null);
  assert.is(new RejoinWatch("c").waiting([], all, v([])), null, "no peer answered: nothing to wait for");
  assert.is(new RejoinWatch("c").waiting([{ id: "a", vector: v([["a", 1], ["x", 3]]) }], all, v([["a", 1]]), (id) => id === "x"), null, "ops it cannot take do not hold it back");
});

test("restarted server c: d killed, b's copy names d and is acked on a's disk; c, restarted without it, is asked again — it refuses until caught up, then answers b's copy", async () => {
  const ids = ["a", "b", "c", "d"];
  const c = await memoryCluster({ ids });
  try {
    const token = c.loginAndOpen("b", "bob", "r");
    await c.kill("c");
    c.run(1000); // b no longer hears c
    c.down.add("d"); // killed; b heard it a moment ago, so b's copy names d
    c.send("b", add(token, "t1"));
    c.run(200);
    let slow = true; // c's catch-up of the add is slow (lost datagrams)
    c.setDrop((from, to, bytes) => slow && to === "c" && from !== "client" && carriesText(bytes));
    await c.restart("c"); // waits 2 s for silent d
    assert.is(c.node("c").members.state, "rejoining");
    const early = sendUntilOk(c, "c", token, 1000);
    assert.ok(early.length > 0 && early.every((r) => r.verb === "error" && r.code === "unavailable" && /restarted and is catching up/.test(r.message)), JSON.stringify(early));
    slow = false;
    const late = sendUntilOk(c, "c", token, 5000);
    assert.ok(late.some((r) => r.verb === "ok"), `c answers once caught up: ${JSON.stringify(late)}`);
    assert.is(c.node("c").members.state, "member");
    assert.ok(c.logs.some((l) => /^c: caught up with a, b: taking writes \(members a, b, c, d; \d+ ms after start\)/.test(l)), c.logs.filter((l) => l.startsWith("c:")).join("\n"));
    c.down.delete("d");
    c.run(5000);
    assertAckedListed(c, ids);
  } finally {
    c.close();
  }
});

test("restarted confirmer c: b's copy names c and is acked on a's disk while c is dead; c, restarted without it, is asked again — it refuses until caught up, then answers b's copy", async () => {
  const ids = ["a", "b", "c"];
  const c = await memoryCluster({ ids });
  try {
    const token = c.loginAndOpen("b", "bob", "r");
    await c.kill("c"); // b heard it a moment ago, so b's copy names c
    c.send("b", add(token, "t1"));
    c.run(2000); // acked on a's disk: c silent 1.5 s
    assert.ok(c.replies.some((r) => r.tag === "t1" && r.verb === "ok"), "b's stand-in ack");
    let slow = true;
    c.setDrop((from, to, bytes) => slow && to === "c" && from !== "client" && carriesText(bytes));
    const started = await c.restart("c"); // every peer answers at once
    const line = startLine({ started, fanout: "unicast", db: "c.sqlite", peers: 2, keyed: false, encrypted: false, plaintext: true });
    assert.match(line.message, /, catching up \(restarted\): writes refused until caught up$/);
    assert.is(line.fields.state, "rejoining");
    c.run(300); // c hears a's got: a copy of c's would name a (not b, whose copy names c: "two copies naming each other")
    assert.is(c.node("c").members.state, "rejoining");
    const catchingUp = () => c.node("c").gauges().find((g) => g.name === "distchat_catching_up")?.values[0][1];
    assert.is(catchingUp(), 1);
    assert.match(c.node("c").status().membership ?? "", /^rejoining: waiting for 1 op\(s\) of b$/);
    const early = sendUntilOk(c, "c", token, 1000);
    assert.ok(early.length > 0 && early.every((r) => r.verb === "error" && r.code === "unavailable"), JSON.stringify(early));
    slow = false;
    const late = sendUntilOk(c, "c", token, 5000);
    assert.ok(late.some((r) => r.verb === "ok"), `c answers once caught up: ${JSON.stringify(late)}`);
    assert.is(catchingUp(), 0);
    c.run(3000);
    assertAckedListed(c, ids);
  } finally {
    c.close();
  }
});

test("a restart with every peer down takes writes once the start's wait is over; a first start of a new cluster takes them at once", async () => {
  const c = await memoryCluster({ ids: ["a", "b", "c"] });
  try {
    assert.equal(c.nodes.map((n) => n.members.state), ["member", "member", "member"]);
    await c.kill("a");
    c.down.add("b");
    c.down.add("c");
    await c.restart("a");
    c.run(200);
    assert.is(c.node("a").members.state, "member");
    assert.ok(c.logs.some((l) => /^a: restarted on a database that holds state: .* \(silent at start: b, c\)/.test(l)), c.logs.join("\n"));
  } finally {
    c.close();
  }
});

test("cold start: every server restarted at once answers the others' catch-up while refusing writes; all take writes, and an add is acked", async () => {
  const ids = ["a", "b", "c"];
  const c = await memoryCluster({ ids });
  try {
    const token = c.loginAndOpen("a", "bob", "r");
    c.send("a", add(token, "t0"));
    c.run(500);
    for (const id of ids) await c.kill(id);
    await Promise.all(ids.map((id) => c.restart(id)));
    c.run(500);
    assert.equal(ids.map((id) => c.node(id).members.state), ["member", "member", "member"], c.logs.join("\n"));
    assert.ok(ids.every((id) => c.logs.some((l) => l.startsWith(`${id}: caught up with `) && !l.includes("no peer"))), "each waited for the others");
    c.send("b", add(token, "t1"));
    c.run(500);
    assert.is(idOf(c.reply("t1")!)?.startsWith("b"), true, JSON.stringify(c.reply("t1")));
  } finally {
    c.close();
  }
});

test.after(removeTempDirs);
test.run();
