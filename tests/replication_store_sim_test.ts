/**
 * The real SQLite store (lib/store/store.ts) under the deterministic replication
 * simulation (testing/sim_network.ts, run by tests/_store_sim.ts): 3–4 nodes,
 * each a Store on its own database file + Replicator, 20% loss, 5%
 * duplication, 1–40 ms jitter, partitions that heal, crashes (the database
 * survives; the Store is reopened and the Replicator recreated). The
 * workload is real chat ops made the way a server makes them (checked
 * against the node's own state first): logins (some the same name on two
 * nodes at once), opens (some the same room on two nodes at once, differing
 * in case), joins, messages (some the same (session, tag) on two nodes, as
 * after a failover), logouts.
 *
 * Once healed, every node must show the same rooms (same display names), the
 * same visible messages per room (no duplicates, each (session, tag) once),
 * each listed after the messages it depends on, and no user name held by two
 * live sessions. (That every node names the same live holder is checked by
 * tests/_pending_store_name_agreement_test.ts: it fails today, see there.)
 *
 *   STORE_SIM_SEEDS=100 node tests/run.ts replication_store_sim   many seeds
 *   STORE_SIM_SEED=17 node tests/run.ts replication_store_sim     one seed
 *   SIM_REPORT=1 ...                                              per-seed figures
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { removeTempDirs } from "../testing/harness.ts";
import { type Counts, runSeed } from "./_store_sim.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const report = env.SIM_REPORT ? (s: string) => console.log(s) : () => {};
const single = env.STORE_SIM_SEED === undefined ? null : Number(env.STORE_SIM_SEED);
const SEEDS = single !== null ? [single] : Array.from({ length: Number(env.STORE_SIM_SEEDS ?? 16) }, (_, i) => i + 1);

test(`SQLite store under the simulation, ${SEEDS.length} seeds: same rooms and messages, causal, one live holder per name`, () => {
  const failed: string[] = [];
  const total: Counts = { ops: 0, nameRaces: 0, roomRaces: 0, failoverTwins: 0, logouts: 0 };
  try {
    for (const seed of SEEDS) {
      const { problems, counts, convergedAfter } = runSeed(seed);
      for (const k of Object.keys(total) as (keyof Counts)[]) total[k] += counts[k];
      report(
        `seed ${seed}: ${counts.ops} ops (${counts.nameRaces} name races, ${counts.roomRaces} room races, ` +
          `${counts.failoverTwins} failover twins, ${counts.logouts} logouts), converged ${
            convergedAfter === null ? "never" : `${convergedAfter} ms`
          } after the faults`,
      );
      if (problems.length > 0) {
        failed.push(
          `seed ${seed} (re-run: STORE_SIM_SEED=${seed} node tests/run.ts replication_store_sim):\n  ` +
            problems.slice(0, 10).join("\n  ") + (problems.length > 10 ? `\n  … ${problems.length - 10} more` : ""),
        );
      }
    }
  } finally {
    removeTempDirs();
  }
  report(`all seeds: ${JSON.stringify(total)}`);
  assert.equal(failed, [], failed.join("\n"));
  if (single === null) {
    // The workload must really contain the races it is meant to test.
    assert.ok(total.nameRaces > 0 && total.roomRaces > 0 && total.failoverTwins > 0, JSON.stringify(total));
  }
});

test.run();
