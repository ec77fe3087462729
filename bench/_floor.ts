/**
 * The floor of issue 27's delivery goal, measured in the same run as the
 * delivery it anchors: a one-row `synchronous=FULL` commit in WAL mode (what
 * the origin's group commit does before an add can leave it) plus one UDP
 * round trip on loopback, both under the servers' runtime
 * (bench/_limits_worker.ts `sqlite` and `echo`/`ping`, the transport that
 * runtime's servers use). Shared by bench/distchat_cluster.ts (the ratio
 * table's anchor) and bench/trace.ts / bench/hotpath.ts.
 *
 * @example
 * ```ts
 * const f = await measureFloor("node", tmpDir); // { commitUs: 120, rttUs: 60, ms: 0.18 }
 * ```
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Runtime, runtimeCommand, startChild } from "./_child.ts";

/**
 * One floor measurement: a FULL one-row commit (µs, median of the runs), a loopback round trip (p50 µs, median of the
 * runs), their sum in ms; and the tail: each one-row commit's p99 and each round trip's p99 (µs, median of the runs),
 * their sum in ms (`p99Ms`: what a design that syncs before showing cannot go under at its p99).
 */
export type Floor = { commitUs: number; rttUs: number; ms: number; commitP99Us: number; rttP99Us: number; p99Ms: number; pacedP99Us: number };

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

/**
 * Measures the floor `runs` times under `runtime` (temp files under `dir`, removed); ≈ 2 s per run. With `pacedRate`,
 * also `pacedP99Us`: the p99 of `pacedCount` one-row FULL commits due at `pacedRate`/s, each its own time plus how long
 * the earlier ones held it past its due moment (open loop, as the probe's adds: a stalled sync delays the ones behind it;
 * the runtime's timer not counted); NaN without.
 */
export async function measureFloor(runtime: Runtime, dir: string, runs = 3, pacedRate = 0, pacedCount = 1000): Promise<Floor> {
  const env = { NODE_OPTIONS: "" }; // never the trace preload of bench/trace.ts
  const transport = runtime === "deno" ? "deno" : "dgram";
  const commits: number[] = [], rtts: number[] = [], commitTails: number[] = [], rttTails: number[] = [];
  for (let i = 0; i < runs; i++) {
    const d = mkdtempSync(join(dir, "floor-"));
    const w = startChild(runtimeCommand(runtime, "bench/_limits_worker.ts", ["sqlite", d, "FULL", "1", "2000", "1"]), { env });
    try {
      const r = await w.next<{ rows: number; ms: number; p99: number }>(30_000);
      commits.push((r.ms * 1000) / r.rows);
      commitTails.push(r.p99);
    } finally {
      await w.stop();
      rmSync(d, { recursive: true, force: true });
    }
  }
  const echo = startChild(runtimeCommand(runtime, "bench/_limits_worker.ts", ["echo", transport]), { env });
  try {
    const { port } = await echo.next<{ port: number }>(30_000);
    for (let i = 0; i < runs; i++) {
      const p = startChild(runtimeCommand(runtime, "bench/_limits_worker.ts", ["ping", transport, String(port), "2000"]), { env });
      try {
        const r = await p.next<{ p50: number; p99: number }>(60_000);
        rtts.push(r.p50);
        rttTails.push(r.p99);
      } finally {
        await p.stop();
      }
    }
  } finally {
    await echo.stop();
  }
  let pacedP99Us = NaN;
  if (pacedRate > 0) {
    const d = mkdtempSync(join(dir, "paced-"));
    const w = startChild(runtimeCommand(runtime, "bench/_limits_worker.ts", ["sqlite", d, "FULL", "1", String(pacedCount), String(pacedCount / pacedRate + 30), String(pacedRate)]), { env });
    try {
      pacedP99Us = (await w.next<{ p99: number }>(pacedCount / pacedRate * 1000 + 60_000)).p99;
    } finally {
      await w.stop();
      rmSync(d, { recursive: true, force: true });
    }
  }
  const commitUs = median(commits), rttUs = median(rtts), commitP99Us = median(commitTails), rttP99Us = median(rttTails);
  return { commitUs, rttUs, ms: (commitUs + rttUs) / 1000, commitP99Us, rttP99Us, p99Ms: (commitP99Us + rttP99Us) / 1000, pacedP99Us };
}
