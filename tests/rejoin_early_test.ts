/**
 * Issue 27 (chaos: ack → visible on all servers): a restarted server answers
 * reads before its start's wait to hear every peer is over (docs/ARCHITECTURE.md
 * "Incarnations"). The wait (PEER_WAIT_MS, 2 s when a peer is down) exists
 * only to choose the origin it writes under; reads, held polls and catch-up
 * do not need it. On an in-memory network and the cluster's manual clock
 * (testing/memory_cluster.ts `launch`: a restart whose start the test drives):
 * with one peer down, the restarted server lists what was added while it was
 * dead, a held poll there sees a new copy from a peer, and a write is refused
 * `unavailable` with nothing stored — all before PEER_WAIT_MS has passed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Reply, Request } from "../lib/wire/messages.ts";
import { PEER_WAIT_MS } from "../lib/server/node.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { type MemoryCluster, memoryCluster } from "../testing/memory_cluster.ts";

const add = (token: string, tag: string, msg: string): Request => ({ verb: "add", tag, token, groupName: "r", msg });
const texts = (r: Reply | undefined) => r && (r.verb === "poll" || (r.verb === "ok" && r.kind === "history")) ? r.entries.map((e) => e.msg) : null;

/** Moves the clock `ms` forward 5 ms at a time, with a turn of the event loop after each step (a start's awaits run then). */
async function runTurns(c: MemoryCluster, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 5) {
    c.clock.advance(5);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** Sends `req` to `at` and waits for its reply (at most `ms` of the cluster's time). */
async function ask(c: MemoryCluster, at: string, req: Request, ms = 100): Promise<Reply | undefined> {
  c.send(at, req);
  for (let t = 0; t < ms && !c.reply(req.tag); t += 5) await runTurns(c, 5);
  return c.reply(req.tag);
}

test("a restarted server with a peer down answers reads and held polls before PEER_WAIT_MS, and refuses writes until its origin is chosen", async () => {
  const ids = ["a", "b", "c", "d"];
  const c = await memoryCluster({ ids });
  try {
    const token = c.loginAndOpen("a", "bob", "r");
    c.send("a", add(token, "t0", "before the kill"));
    c.run(500);
    await c.kill("c");
    await c.kill("d"); // down for good: c's start waits the whole PEER_WAIT_MS for it
    c.send("a", add(token, "t1", "while c was dead"));
    c.run(1000);
    assert.is(c.reply("t1")?.verb, "ok", "acked at a while c was dead");
    const launched = c.clock.now();
    let started = false;
    const starting = c.launch("c").then((s) => (started = true, s));
    await runTurns(c, 200); // c's peer port catches up from a and b meanwhile
    const node = c.node("c");
    assert.ok(!started, "c's start still waits for silent d");
    const mine = [...node.store.vector()].filter(([origin]) => origin.startsWith("c")).map(String).join();

    const history = await ask(c, "c", { verb: "history", tag: "h1", token, groupName: "r", limit: 10, before: null });
    assert.equal(texts(history), ["before the kill", "while c was dead"], `history at c before its start's wait is over: ${JSON.stringify(history)}`);

    const refused = await ask(c, "c", add(token, "t2", "refused while starting"));
    assert.ok(refused?.verb === "error" && refused.code === "unavailable" && /starting/.test(refused.message), JSON.stringify(refused));
    const login = await ask(c, "c", { verb: "login", tag: "l2", userName: "kim" });
    assert.ok(login?.verb === "error" && login.code === "unavailable", `a login is an op: refused too (${JSON.stringify(login)})`);

    const cursor = history?.verb === "ok" && history.kind === "history" ? history.cursor : new Map();
    c.send("c", { verb: "request", tag: "p1", token, groupName: "r", cursor, waitMs: 10_000 });
    await runTurns(c, 50);
    assert.is(c.reply("p1"), undefined, "the poll is held");
    c.send("a", add(token, "t3", "added at a during c's start"));
    for (let t = 0; t < 500 && !c.reply("p1"); t += 5) await runTurns(c, 5);
    assert.equal(texts(c.reply("p1")), ["added at a during c's start"], JSON.stringify(c.reply("p1")));
    assert.ok(c.clock.now() - launched < PEER_WAIT_MS, `all of it within ${c.clock.now() - launched} ms of the restart`);
    assert.ok(node.members.starting && !started);
    assert.is([...node.store.vector()].filter(([origin]) => origin.startsWith("c")).map(String).join(), mine, "c wrote no op (no touch, no add) while starting");
    assert.ok(!c.listing("c", "r").some((l) => l.endsWith("refused while starting")));

    for (let t = 0; t < 3 * PEER_WAIT_MS && !started; t += 5) await runTurns(c, 5);
    const s = await starting;
    assert.ok(!node.members.starting, `start done: origin ${s.origin}`);
    await runTurns(c, 500);
    const later = await ask(c, "c", add(token, "t4", "taken once started"), 500);
    assert.ok(later?.verb === "ok", `c takes writes after its start: ${JSON.stringify(later)}`);
  } finally {
    c.close();
  }
});

test.after(() => removeTempDirs());
test.run();
