/**
 * The short chaos run (testing/chaos.ts): five real servers, 10% loss, 5%
 * duplication and 0–20 ms jitter between them, 10% loss of client datagrams
 * and replies each way, a kill -9 about every 4 s, for 20 s; then every acked
 * (msgID, text) must be listed under that msgID by every server, once, in
 * each client's order, and the servers must agree within 15 s.
 * CHAOS_SEED=N picks another seed; `npm run chaos` runs a long one.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { removeTempDirs } from "../testing/harness.ts";
import { runChaos } from "../testing/chaos.ts";

const SEED = Number(process.env.CHAOS_SEED ?? 1);

test("chaos: 5 servers, loss, duplication, jitter, kill -9 every ~4 s: every acked id listed by every server", async () => {
  const r = await runChaos({ servers: 5, clients: 4, seconds: 20, seed: SEED });
  console.log(
    `  chaos seed ${SEED}: ${r.acked} acked, ${r.unacked} unacked, ${r.kills} kills, ack p50 ${r.latency.p50} ms ` +
      `p99 ${r.latency.p99} ms, agreed ${r.convergedMs} ms after the faults`,
  );
  assert.equal(r.problems, []);
  assert.ok(r.acked > 50, `only ${r.acked} adds acked`);
  assert.ok(r.kills >= 3, `only ${r.kills} kills`);
});

test.after(removeTempDirs);
test.run();
