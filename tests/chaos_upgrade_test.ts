/**
 * A rolling upgrade under the chaos harness (testing/chaos.ts): three
 * servers start on the previous release (peer protocol 1,
 * testing/previous_release.ts), their peer traffic crosses fault-injecting
 * proxies (10% loss, 5% duplication, 0–20 ms jitter), clients lose 10% of
 * their datagrams each way, and every ~3 s one server is killed -9 and
 * restarted on this release, in order, until all run it. Then every acked
 * (msgID, text) must be listed by every server, once, in each client's
 * order, and the servers must agree within 15 s.
 * CHAOS_SEED=N picks another seed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { removeTempDirs, tempDir } from "../testing/harness.ts";
import { runChaos } from "../testing/chaos.ts";
import { unpackPreviousRelease } from "../testing/previous_release.ts";

const SEED = Number(process.env.CHAOS_SEED ?? 1);

test("chaos rolling upgrade: 3 servers of the previous release crash-upgraded one by one under loss: every acked id on every server", async () => {
  const previous = unpackPreviousRelease(tempDir());
  const r = await runChaos({ servers: 3, clients: 3, seconds: 14, killEveryMs: 3000, seed: SEED, previousRelease: previous.command });
  console.log(
    `  chaos upgrade seed ${SEED}: ${r.acked} acked, ${r.unacked} unacked, ${r.kills} kills, ${r.upgraded}/3 upgraded, ` +
      `agreed ${r.convergedMs} ms after the faults`,
  );
  assert.equal(r.problems, []);
  assert.is(r.upgraded, 3, "not every server was upgraded");
  assert.ok(r.acked > 20, `only ${r.acked} adds acked`);
});

test.after(removeTempDirs);
test.run();
