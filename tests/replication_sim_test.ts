/**
 * Deterministic simulation of the server network (lib/replication/replicator.ts over
 * testing/sim_network.ts): 3–5 nodes, random ops, 20% loss, 5% duplication,
 * latency jitter, partitions that heal, crashes that lose the replication
 * state but keep the log. Once the faults end and no new op is made, every
 * node must hold the same ops, once each, in causal order, within 10 s.
 *
 *   SIM_SEEDS=200 node tests/run.ts replication_sim   many seeds
 *   SIM_SEED=17 node tests/run.ts replication_sim     one seed
 *   SIM_REPORT=1 ...                                  print measurements
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mulberry32, pick } from "../testing/prng.ts";
import { MemoryLog } from "../testing/memory_log.ts";
import { FAULTS_END, NO_FAULTS, runScenario, SimCluster } from "../testing/sim_network.ts";
import type { Faults } from "../testing/sim_network.ts";

const IDS = ["a", "b", "c", "d", "e"];
const FAULTS: Faults = { loss: 0.2, dup: 0.05, minLatencyMs: 1, maxLatencyMs: 40 };
const REPAIR_MS = 10_000;

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const report = env.SIM_REPORT ? (s: string) => console.log(s) : () => {};

const single = env.SIM_SEED === undefined ? null : Number(env.SIM_SEED);
const seeds = single !== null ? [single] : Array.from({ length: Number(env.SIM_SEEDS ?? 60) }, (_, i) => i + 1);

test(`${seeds.length} seeded runs converge: same ops, once each, causal order`, () => {
  const failed: string[] = [];
  let worst = 0;
  for (const seed of seeds) {
    const o = runScenario(seed, () => new MemoryLog());
    report(
      `seed ${seed}: ${o.nodes} nodes, ${o.ops} ops, converged ${
        o.convergedAt === null ? "never" : `${o.convergedAt - FAULTS_END} ms`
      } after the faults, ${o.datagrams} datagrams`,
    );
    if (o.convergedAt !== null) worst = Math.max(worst, o.convergedAt - FAULTS_END);
    if (o.asksAfter > 0) o.problems.push(`${o.asksAfter} asks after converging`);
    if (o.problems.length > 0) {
      failed.push(
        `seed ${seed} (re-run: SIM_SEED=${seed} node tests/run.ts replication_sim):\n  ` +
          o.problems.slice(0, 8).join("\n  "),
      );
    }
  }
  report(`worst repair time after faults: ${worst} ms`);
  assert.equal(failed, [], failed.join("\n"));
});

test("300 ops under 20% loss and 5% duplication converge quickly", () => {
  const times: number[] = [];
  let datagrams = 0;
  for (let seed = 300; seed < 310; seed++) {
    const ids = IDS.slice(0, 4);
    const cluster = new SimCluster({ ids, seed, makeLog: () => new MemoryLog(), faults: FAULTS });
    const prng = mulberry32(seed);
    for (let i = 0; i < 300; i++) cluster.net.at(prng() * 3000, () => cluster.createOp(pick(prng, ids)));
    cluster.runUntil(3000);
    const at = cluster.runUntilConverged(3000 + REPAIR_MS, 1);
    assert.ok(at !== null, `seed ${seed} did not converge`);
    assert.equal(cluster.problems(), [], `seed ${seed}`);
    times.push(at! - 3000);
    datagrams += cluster.net.stats.sent;
  }
  times.sort((a, b) => a - b);
  report(
    `300 ops in 3 s, 4 nodes, 20% loss, 5% dup, 10 seeds: all hold all ops ${times[5]} ms (median), ` +
      `${times[9]} ms (worst) after the last op; ${Math.round(datagrams / 10)} datagrams per run`,
  );
  assert.ok(times[9] < 3000, `took ${times[9]} ms`);
});

test("catch-up of 10,000 missed ops takes few round trips", () => {
  const cluster = new SimCluster({
    ids: ["a", "b", "c"],
    seed: 10_000,
    makeLog: () => new MemoryLog(),
    faults: NO_FAULTS,
  });
  cluster.crash("c");
  for (let i = 0; i < 10_000; i++) {
    cluster.createOp(
      i % 3 === 0 ? "b" : "a",
      (h) => ({ ...h, kind: "msg", tag: `t${i}`, groupName: "lobby", userName: "bob", msg: `message number ${i}` }),
    );
  }
  cluster.runUntil(2000);
  const sentBefore = cluster.net.stats.sent;
  const start = cluster.now;
  const wall = performance.now();
  cluster.restart("c");
  const at = cluster.runUntilConverged(start + 5000, 1);
  const wallMs = Math.round(performance.now() - wall);
  assert.ok(at !== null, "c did not catch up within 5 s (simulated)");
  assert.equal(cluster.problems(), []);
  const c = cluster.nodes.get("c")!.replicator.status(cluster.now);
  const datagrams = cluster.net.stats.sent - sentBefore;
  report(
    `catch-up of 10,000 ops: ${at! - start} ms simulated (latency <= 1 ms; ${wallMs} ms of CPU here, ` +
      `codec and HMAC included), ${c.asksSent} asks, ` +
      `${datagrams} datagrams in all, ${c.dropped["duplicate-op"] ?? 0} duplicate ops received`,
  );
  assert.ok(c.asksSent <= 40, `${c.asksSent} asks`);
});

test.run();
