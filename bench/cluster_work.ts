/**
 * Issue 27's cluster goal as work, not rate (not a test): three whole
 * servers in one process (testing/memory_cluster.ts: each built as
 * server.ts builds one, its own SQLite store at --sync normal, an in-memory
 * network with a manual clock), and one server alone, under the same fixed
 * schedule — every 5 ms of the clock, BATCH adds to each server of the
 * three (3 × BATCH to the one), so batches, commits and `got`s are the same
 * in every run whatever else loads the machine. Prints the process's CPU µs
 * (process.cpuUsage) per message stored on all three, per add acked by the
 * one, and the ratio ÷ (3 × the one's), goal ≤ 1.3; single and cluster runs
 * interleaved. No sockets and no fsync: what it leaves out is the kernel's
 * part of bench/profile.ts cluster (datagrams, syncs); the test client's
 * encoding and decoding (one request and one reply per add) counts in both.
 *
 *   node_modules/.bin/node bench/cluster_work.ts [--runs 3] [--rounds 400] [--batch 8]
 */
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { memoryCluster } from "../testing/memory_cluster.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { formatSummary, summarize } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "cluster_work",
  about: "CPU µs per message of three in-process servers against one, under one fixed schedule of adds (issue 27's cluster goal).",
  usage: "node_modules/.bin/node bench/cluster_work.ts [--runs N] [--rounds N] [--batch N]",
  flags: {
    runs: { type: "string", value: "N", default: "3", help: "single/cluster pairs, interleaved" },
    rounds: { type: "string", value: "N", default: "400", help: "rounds of 5 ms of the clock measured (after as many to warm up)" },
    batch: { type: "string", value: "N", default: "8", help: "adds per server of the three per round (the one gets 3 × N)" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
for (const f of ["runs", "rounds", "batch"] as const) if (!/^[1-9]\d*$/.test(flags[f]!)) fail("cluster_work", `--${f} must be a whole number ≥ 1, got "${flags[f]}"`);
const runs = Number(flags.runs), rounds = Number(flags.rounds), batch = Number(flags.batch);

/** One run on `ids`: CPU µs per message stored on every server (and acked). */
async function run(ids: string[]): Promise<{ us: number; messages: number; acked: number }> {
  const c = await memoryCluster({ ids });
  try {
    const tokens = ids.map((id) => c.loginAndOpen(id, `user${id}`, `room${id}`));
    const per = (batch * 3) / ids.length;
    let n = 0;
    const round = () => {
      ids.forEach((id, i) => {
        for (let k = 0; k < per; k++) c.send(id, { verb: "add", tag: `t${n++}`, token: tokens[i], groupName: `room${id}`, msg: `message number ${n}, a line of chat of a usual length` });
      });
      c.run(5);
    };
    for (let r = 0; r < rounds; r++) round(); // warm-up: the JIT compiles the hot path first
    c.run(1000);
    const stored = () => Math.min(...ids.map((id) => c.node(id).store.messages.count()));
    const okAdds = () => c.replies.filter((r) => r.verb === "ok" && r.kind === "add").length;
    const [m0, a0] = [stored(), okAdds()];
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < rounds; r++) round();
    c.run(1000); // every message on every server, every ack out
    const cpu = process.cpuUsage(cpu0);
    const messages = stored() - m0, acked = okAdds() - a0;
    if (messages !== rounds * batch * 3 || acked !== messages) throw new Error(`${ids.length} server(s): ${messages} stored on all and ${acked} acked of ${rounds * batch * 3}`);
    return { us: (cpu.user + cpu.system) / messages, messages, acked };
  } finally {
    c.close();
  }
}

const singles: number[] = [], threes: number[] = [], ratios: number[] = [];
for (let i = 0; i < runs; i++) {
  const one = await run(["a"]);
  const three = await run(["a", "b", "c"]);
  singles.push(one.us);
  threes.push(three.us);
  ratios.push(three.us / (3 * one.us));
  console.log(`run ${i}: one server ${one.us.toFixed(1)} µs per acked add; three servers ${three.us.toFixed(1)} µs per message stored on all (${three.messages} messages) = ${(three.us / (3 * one.us)).toFixed(2)} × 3 × one server's`);
}
console.log(`one server µs per acked add: ${formatSummary(summarize(singles), 1)}`);
console.log(`three servers µs per message stored on all: ${formatSummary(summarize(threes), 1)}`);
console.log(`ratio ÷ (3 × one server's), goal ≤ 1.3: ${formatSummary(summarize(ratios), 2)}`);
removeTempDirs();
