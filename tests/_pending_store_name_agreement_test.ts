/**
 * PENDING (the runner ignores files starting with "_"): a store bug, not a
 * test bug. Same simulation as tests/replication_store_sim_test.ts; checks
 * that once healed every node names the same live holder of every user name
 * (PROTOCOL.md: concurrent claims "are settled the same way on every
 * server").
 *
 * Fails today (seeds 1, 4, 9 of 1–16): lib/store.ts #login settles a
 * conflict against the other session's state *as this node has it now*. If
 * session E (login c.37) is logged out (b.39) before session X logs in
 * (a.39, which had not seen E at all), a node that applies E-login, X-login,
 * E-logout ends X (E's key is smaller, E is still live here when X's login
 * is applied), then ends E: nobody holds the name. A node that applies
 * E-login, E-logout, X-login skips E (ended) and X holds it. Same ops,
 * different state. A fix needs an order-independent rule, e.g. record the
 * logout's time (or op) and, when a session ends, revive sessions it beat
 * that were made after that logout.
 *
 * Run it directly (tests/run.ts skips files starting with "_"):
 *   node_modules/.bin/node tests/_pending_store_name_agreement_test.ts
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { removeTempDirs } from "./_harness.ts";
import { runSeed } from "./_store_sim.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const single = env.STORE_SIM_SEED === undefined ? null : Number(env.STORE_SIM_SEED);
const SEEDS = single !== null ? [single] : Array.from({ length: Number(env.STORE_SIM_SEEDS ?? 16) }, (_, i) => i + 1);

test(`every node names the same live holder of each user name (${SEEDS.length} seeds)`, () => {
  const failed: string[] = [];
  try {
    for (const seed of SEEDS) {
      const { nameDisagreements } = runSeed(seed);
      if (nameDisagreements.length > 0) {
        failed.push(`seed ${seed} (re-run: STORE_SIM_SEED=${seed}):\n  ` + nameDisagreements.slice(0, 6).join("\n  "));
      }
    }
  } finally {
    removeTempDirs();
  }
  assert.equal(failed, [], failed.join("\n"));
});

test.run();
