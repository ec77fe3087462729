/**
 * One catch-up run of BENCHMARKS.md's figure 2 (issue 27): three servers, c
 * killed (SIGKILL), N messages added on a and b (half each, 2 load processes
 * × 4 clients × 16 in flight), c restarted on its database; the time from
 * starting c's process until its `stat` vector covers a's (read every 10 ms).
 * Shared by bench/distchat_cluster.ts (the full run) and bench/catchup.ts
 * (the catch-up figures alone, interleaved with their SQLite anchor).
 *
 * @example
 * ```ts
 * const r = await catchUp("node", tmp, 10_000, [], new Set()); // { fillMs, startupMs, ms, messages }
 * ```
 */
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { Child, Runtime } from "./_child.ts";
import { cpuSeconds, displayCommand, runtimeCommand, startChild, stopAll } from "./_child.ts";
import { startBenchCluster, statsUntil } from "./_distchat_cluster_net.ts";

/** Servers' flags of the catch-up runs: the durable defaults, no rate limit. */
const SERVER_ARGS = ["--rate-limit", "0"];

type Vec = Map<string, number>;
const parseVec = (s: string): Vec => new Map(s.split(",").filter((x) => x.includes("=")).map((x) => [x.split("=")[0], Number(x.split("=")[1])]));
const covers = (v: Vec, target: Vec) => [...target].every(([k, n]) => (v.get(k) ?? 0) >= n);

/**
 * What one catch-up run measured (ms; `ms` is from starting c's process, NaN if it never caught up); the CPU
 * seconds c used from its start and a and b used meanwhile; ops c received twice (its `duplicate-op` drops).
 */
export type CatchUpRun = { fillMs: number; startupMs: number; ms: number; messages: number; cpu: { c: number; ab: number }; duplicates: number };

/** One catch-up of `n` missed messages with every server under `runtime`; commands go to `commands`, the server command line to `shown`. */
export async function catchUp(runtime: Runtime, dir: string, n: number, commands: string[], shown: Set<string>): Promise<CatchUpRun> {
  const c = await startBenchCluster(runtime, mkdtempSync(join(dir, "catch-")), 3, { pairProxies: false, args: SERVER_ARGS });
  shown.add(c.shown);
  const children: Child[] = [];
  try {
    await c.stop("c", "SIGKILL");
    // Adds that name c as their confirmer wait for c (docs/ARCHITECTURE.md "Acks"): fill once a and b no longer count c as live.
    const gone = await statsUntil(c, (rs) => rs.every((r) => {
      const ago = r.peers.c?.lastHeardMsAgo;
      return ago === null || (ago ?? 0) > 1000;
    }), 10_000, 50, ["a", "b"]);
    if (!gone) throw new Error("a and b still hear c after its kill");
    for (const id of ["a", "b"]) {
      const argv = runtimeCommand("node", "bench/_distchat_cluster_load.ts", ["count", String(c.servers[id].client.port), String(n / 2), "4", "16", "catch", id]);
      commands.push(displayCommand(argv).replace(` ${c.servers[id].client.port} `, " PORT ").replace(/ catch \w+$/, " catch ID"));
      children.push(startChild(argv));
    }
    for (const ch of children) await ch.next<{ ready: boolean }>(60_000);
    const t0 = performance.now();
    for (const ch of children) ch.send("go");
    for (const ch of children) await ch.next<{ acked: number }>(300_000);
    const fillMs = performance.now() - t0;
    const ab = await statsUntil(c, (rs) => rs.every((r) => r.vector === rs[0].vector), 60_000, 20, ["a", "b"]);
    if (!ab) throw new Error("a and b did not agree after the fill");
    const target = parseVec(ab.reports[0].vector);
    const abCpu = () => cpuSeconds(c.servers.a.pid) + cpuSeconds(c.servers.b.pid);
    const abBefore = abCpu();
    const restarted = performance.now();
    const startupMs = await c.start("c");
    const done = await statsUntil(c, (rs) => covers(parseVec(rs[0].vector), target), 120_000, 10, ["c"]);
    const cpu = { c: cpuSeconds(c.servers.c.pid), ab: abCpu() - abBefore };
    const r = done?.reports[0];
    return { fillMs, startupMs, ms: done ? done.at - restarted : NaN, messages: r?.messages ?? NaN, cpu, duplicates: r?.dropped["duplicate-op"] ?? 0 };
  } finally {
    await stopAll(children);
    await c.close();
  }
}
