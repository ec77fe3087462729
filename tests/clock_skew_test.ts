/**
 * Clock skew between real server processes (docs/ARCHITECTURE.md "Time"):
 * three keyed servers, c's clock 10 minutes ahead and b's 2 minutes behind
 * (Debian's libfaketime, preloaded). Replication runs both ways, a client fails over to
 * and from the skewed servers with its token, a name live on one is taken
 * on all, a session expires on every server within the documented bound
 * (ttl plus remote slack) and not before its ttl, and the skew shows in the
 * status reports and in one log line. The status tool's own clock is the
 * real one: the skewed servers answer its stale nonce with their time.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { add, askState, enter, login, readAll, sleep, tag, within } from "../testing/cluster_ops.ts";
import { skewedClock } from "../testing/movable_clock.ts";
import { lines, makeCluster, removeTempDirs, type ServerHandle, startServer, tempDir, udpClient } from "../testing/harness.ts";

const TTL = 6;
/** Each server's clock: b two minutes behind, c ten minutes ahead (libfaketime; see testing/movable_clock.ts). */
const skew = (id: string): string[] => (id === "b" ? skewedClock("-120s") : id === "c" ? skewedClock("+600s") : []);

test("a server 10 minutes ahead and one 2 minutes behind: replication, failover, names, expiry and status agree", async () => {
  const dir = tempDir("distchat-skew-");
  const key = randomBytes(32);
  const keyFile = join(dir, "cluster.key");
  writeFileSync(keyFile, key, { mode: 0o600 });
  const { file, entries } = await makeCluster(["a", "b", "c"], dir);
  const at = Object.fromEntries(entries.map((e) => [e.id, e]));
  const running: ServerHandle[] = [];
  const u = await udpClient();
  try {
    for (const id of ["a", "b", "c"]) {
      running.push(await startServer({ id, servers: file, db: join(dir, `${id}.sqlite`), ttl: TTL, wrap: skew(id), extraArgs: ["--cluster-key", keyFile] }));
    }
    const [a, b, c] = running;
    // Every server hears both others and knows their clocks.
    const heard = await within(10_000, async () => {
      for (const s of running) {
        const r = await askState(u, s.peerAddr, key);
        if (!r || Object.values(r.peers).some((p) => p.lastHeardMsAgo === null || p.clockOffsetMs == null)) return false;
      }
      return true;
    });
    assert.ok(heard !== null, "the servers hear each other");
    const ra = await askState(u, a.peerAddr, key);
    const rc = await askState(u, c.peerAddr, key);
    assert.ok(rc !== null, "the status query reaches the server 10 minutes ahead (after its clock hint)");
    const near = (ms: number | null | undefined, want: number) => ms != null && Math.abs(ms - want) < 2000;
    assert.ok(near(ra?.peers.c.clockOffsetMs, 600_000), `a sees c ${ra?.peers.c.clockOffsetMs} ms ahead`);
    assert.ok(near(ra?.peers.b.clockOffsetMs, -120_000), `a sees b ${ra?.peers.b.clockOffsetMs} ms off`);
    assert.ok(near(rc?.peers.b.clockOffsetMs, -720_000), `c sees b ${rc?.peers.b.clockOffsetMs} ms off`);

    // Replication both ways: a room made on the fast server is known on the slow one, and the reverse.
    const alice = await login(u, c.clientAddr, "alice");
    await enter(u, c.clientAddr, alice, "fast");
    const bob = await login(u, b.clientAddr, "bob");
    await enter(u, b.clientAddr, bob, "slow");
    const roomsOn = async (s: ServerHandle, token: string) => (await u.request(s.clientAddr, lines("rooms", tag(), token))).split("\n").slice(5);
    assert.ok(
      await within(5000, async () => (await roomsOn(b, bob)).includes("fast") && (await roomsOn(c, alice)).includes("slow")),
      "rooms replicate between the fast and the slow server",
    );

    // A name live on c is taken on a and b (the fast server's login does not look expired there).
    for (const s of [a, b]) {
      const r = await u.request(s.clientAddr, lines("login", tag(), "alice"));
      assert.is(r.split("\n")[2], "name-taken", `login alice on ${s.id}: ${r}`);
    }

    // Failover with the same token, to and from the skewed servers; every line once everywhere.
    await enter(u, b.clientAddr, bob, "fast");
    const sent = [
      await add(u, c.clientAddr, alice, "fast", "alice on c"),
      await add(u, a.clientAddr, alice, "fast", "alice on a"),
      await add(u, b.clientAddr, alice, "fast", "alice on b"),
      await add(u, c.clientAddr, bob, "fast", "bob on c"),
    ];
    for (const s of running) {
      const ok = await within(5000, async () => (await readAll(u, s.clientAddr, bob, "fast")).ids.length === sent.length);
      const got = await readAll(u, s.clientAddr, bob, "fast");
      assert.ok(ok !== null, `${s.id} lists ${got.ids.join(" ")}`);
      assert.equal([...got.ids].sort(), [...sent].sort(), `${s.id}: every line once`);
    }

    // Expiry: carol logs in on the fast server, joins, and goes idle. dave (on a) watches `who`.
    const carol = await login(u, c.clientAddr, "carol");
    await enter(u, c.clientAddr, carol, "idle");
    const idleFrom = Date.now();
    const dave = await login(u, a.clientAddr, "dave");
    await sleep(300);
    const whoOn = async (s: ServerHandle) => (await u.request(s.clientAddr, lines("who", tag(), dave, "idle"))).split("\n").slice(6);
    await sleep(Math.max(0, idleFrom + (TTL - 1.5) * 1000 - Date.now()));
    for (const s of running) assert.ok((await whoOn(s)).includes("carol"), `carol still live on ${s.id} before her ttl`);
    // Bound: ttl + remoteSlack (ttl/10 + 1 s) + replication delay.
    const boundMs = TTL * 1000 + Math.ceil(TTL * 100) + 1000 + 1000;
    await sleep(Math.max(0, idleFrom + boundMs - Date.now()));
    for (const s of running) assert.not.ok((await whoOn(s)).includes("carol"), `carol expired on ${s.id} within the bound`);
    const again = await u.request(a.clientAddr, lines("login", tag(), "carol"));
    assert.ok(again.startsWith("ok\n"), `the name is free again: ${again}`);

    assert.match(a.stdout() + a.stderr(), /the clock of c is 60\d s ahead of this server's/);
    assert.match(c.stdout() + c.stderr(), /the clock of b is 72\d s behind this server's/);
  } finally {
    await Promise.all(running.map((s) => s.stop()));
    await u.close();
  }
});

test.after(removeTempDirs);
test.run();
