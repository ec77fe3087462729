/**
 * Same simulation as tests/replication_store_sim_test.ts; checks that once
 * healed every node names the same live holder of every user name
 * (docs/PROTOCOL.md: concurrent claims "are settled the same way on every
 * server").
 *
 * It found that settling a claim against the other session's state *as this
 * node had it* depended on arrival order (a login concurrent with another
 * session's logout won on nodes that had the logout first, lost on the
 * others). lib/store/name_claims.ts now takes the claims in key order and
 * judges each only by its own vector, so the outcome is order-independent.
 * STORE_SIM_SEEDS=N runs more seeds (150 passed when it was fixed).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { removeTempDirs } from "../testing/harness.ts";
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
