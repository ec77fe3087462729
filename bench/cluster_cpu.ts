/**
 * Issue 27's cluster goal alone (not a test; the same loads and CPU readings
 * as `npm run bench`'s rows "acked adds/s, one server, 8 clients" and
 * "messages/s stored on all of 3 servers"): CPU seconds of all three servers
 * per message stored on all three ÷ (3 × one server's CPU seconds per acked
 * add), goal ≤ 1.3. Each run starts a fresh single server (0.5 s warm-up,
 * the bench's 1-client run, then 8 clients × 16 in flight) and a fresh three-server cluster (the same
 * 8 clients spread over it, 0.5 s warm-up, 200/s probes a → b alongside, as
 * in the bench); runs and runtimes interleaved. CPU from /proc of the
 * servers only, not of the load processes. Prints each run, the medians
 * (min–max) and the load average before and after.
 *
 *   npm run bench:cluster-cpu -- [--runtime node|deno|both] [--runs 3] [--seconds 3] [--warmup 0.5] [--load-on a,b,c] [--no-probe]
 *
 * --load-on a puts all 8 clients on a: b and c then only apply and confirm,
 * which splits a message's CPU into the origin's and each copy's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { killAllChildren, type Runtime } from "./_child.ts";
import { startBenchCluster } from "./_distchat_cluster_net.ts";
import { startBenchServer } from "./_distchat_server.ts";
import { CLUSTER_WARMUP_S, saturate, warmUp } from "./_cluster_saturate.ts";
import { chatUser, probeLatency, Reader } from "./distchat_cluster.ts";
import { addsOnce } from "./distchat_single.ts";
import { markdownTable } from "./_trace_read.ts";
import { formatSummary, summarize } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "cluster-cpu",
  about: "Issue 27's cluster goal: CPU of three servers per message stored on all ÷ 3 × one server's CPU per acked add.",
  usage: "npm run bench:cluster-cpu -- [--runtime node|deno|both] [--runs N] [--seconds N] [--warmup S] [--load-on IDS] [--no-probe]",
  flags: {
    runtime: { type: "string", value: "node|deno|both", default: "both", help: "the servers' runtime (both: interleaved)" },
    runs: { type: "string", value: "N", default: "3", help: "single/cluster pairs per runtime" },
    seconds: { type: "string", value: "N", default: "3", help: "seconds of each timed load (the full bench's 3; --quick's 1.5 is not whole)" },
    "load-on": { type: "string", value: "IDS", default: "a,b,c", help: "the servers the 8 clients go to (the bench: all three; \"a\": b and c only apply and confirm)" },
    "no-probe": { type: "boolean", default: false, help: "no 200/s probe a → b during the cluster's load (the bench has it)" },
    warmup: { type: "string", value: "S", default: String(CLUSTER_WARMUP_S), help: "seconds of the cluster's warm-up load (the bench's)" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
if (!["node", "deno", "both"].includes(flags.runtime!)) fail("cluster-cpu", `--runtime must be node, deno or both, got "${flags.runtime}"`);
for (const f of ["runs", "seconds"] as const) if (!/^[1-9]\d*$/.test(flags[f]!)) fail("cluster-cpu", `--${f} must be a whole number ≥ 1, got "${flags[f]}"`);
const runtimes: Runtime[] = flags.runtime === "both" ? ["node", "deno"] : [flags.runtime as Runtime];
const seconds = Number(flags.seconds);
const warmup = Number(flags.warmup);
const loadOn = flags["load-on"]!.split(",");
if (loadOn.length === 0 || loadOn.some((id) => !["a", "b", "c"].includes(id)) || new Set(loadOn).size !== loadOn.length) {
  fail("cluster-cpu", `--load-on must list some of a, b, c once each, comma-separated, got "${flags["load-on"]}"`);
}
if (!(warmup > 0 && warmup <= 60)) fail("cluster-cpu", `--warmup must be a number of seconds from 0 to 60, got "${flags.warmup}"`);
const SERVER_ARGS = ["--rate-limit", "0"];
const PROBE_RATE = 200;
const dir = mkdtempSync(join(os.tmpdir(), "distchat-cluster-cpu-"));
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");

type Run = { oneUs: number; adds: number; threeUs: number; stored: number; ratio: number };

/** One server, 8 clients × 16 in flight: CPU µs per acked add and adds/s. */
async function one(runtime: Runtime, run: number): Promise<{ us: number; rate: number }> {
  const srv = await startBenchServer(runtime, mkdtempSync(join(dir, "one-")), SERVER_ARGS);
  try {
    // As the bench's 8-client figure: after 0.5 s of warm-up and its 1-client run.
    await addsOnce(srv.port, srv.pid, 8, 0.5, `warmup${run}`, []);
    await addsOnce(srv.port, srv.pid, 1, seconds, `adds1r${run}`, []);
    const r = await addsOnce(srv.port, srv.pid, 8, seconds, `adds8r${run}`, []);
    return { us: r.serverCpuPerAddUs, rate: r.rate };
  } finally {
    await srv.stop();
  }
}

/** A fresh three-server cluster; started again (twice at most) when a port it was given was taken meanwhile (freePort's race). */
async function startCluster(runtime: Runtime) {
  for (let attempt = 1;; attempt++) {
    try {
      return await startBenchCluster(runtime, mkdtempSync(join(dir, "three-")), 3, { pairProxies: false, args: SERVER_ARGS });
    } catch (e) {
      if (attempt === 3 || !/port is in use/.test(String(e))) throw e;
      console.log(`(a port was taken meanwhile; starting the cluster again)`);
    }
  }
}

/** Three servers under the bench's saturating load with its probe (unless --no-probe): CPU µs (all three) per message stored on all, and msgs/s. */
async function three(runtime: Runtime, run: number): Promise<{ us: number; rate: number; each: string }> {
  const c = await startCluster(runtime);
  try {
    const writer = await chatUser(c.servers.a.client, "probe");
    const poller = new Reader(await chatUser(c.servers.b.client, "probe"));
    try {
      await poller.start();
      await probeLatency(writer, poller, PROBE_RATE, 100);
      await warmUp(c, warmup, `r${run}`, loadOn);
      const probe = () => probeLatency(writer, poller, PROBE_RATE, Math.round(PROBE_RATE * seconds * 0.8));
      const r = await saturate(c, { seconds, tag: `r${run}`, commands: [], during: flags["no-probe"] ? undefined : probe, on: loadOn });
      const each = c.ids.map((id) => `${id} ${((r.cpu[id] * 1e6) / r.messages).toFixed(1)}`).join(", ");
      return { us: r.cpuPerMessageUs, rate: r.stored, each };
    } finally {
      await poller.stop();
      await writer.ep.close();
      await poller.c.ep.close();
    }
  } finally {
    await c.close();
  }
}

const results = new Map<Runtime, Run[]>(runtimes.map((rt) => [rt, []]));
const loadBefore = load();
console.log(`load average before: ${loadBefore}`);
try {
  for (let run = 0; run < Number(flags.runs); run++) {
    for (const rt of runtimes) {
      const s = await one(rt, run);
      const t = await three(rt, run);
      const r = { oneUs: s.us, adds: s.rate, threeUs: t.us, stored: t.rate, ratio: t.us / (3 * s.us) };
      results.get(rt)!.push(r);
      console.log(
        `${rt} run ${run}: one server ${r.oneUs.toFixed(1)} µs/add (${r.adds.toFixed(0)} adds/s); three ${r.threeUs.toFixed(1)} µs/msg ` +
          `(${r.stored.toFixed(0)} msgs/s stored on all; by server ${t.each}) = ${r.ratio.toFixed(2)} × 3 × one's; load ${load()}`,
      );
    }
  }
} finally {
  killAllChildren();
  rmSync(dir, { recursive: true, force: true });
}
const S = (rs: Run[], f: (r: Run) => number, d = 1) => formatSummary(summarize(rs.map(f)), d);
const med = (rs: Run[], f: (r: Run) => number) => summarize(rs.map(f)).median;
console.log(
  "\n" +
    markdownTable(["figure (median, min–max)", ...runtimes], [
      ["one server: CPU µs per acked add", ...runtimes.map((rt) => S(results.get(rt)!, (r) => r.oneUs))],
      ["one server: acked adds/s", ...runtimes.map((rt) => S(results.get(rt)!, (r) => r.adds, 0))],
      ["three servers: CPU µs (all three) per message stored on all", ...runtimes.map((rt) => S(results.get(rt)!, (r) => r.threeUs))],
      ["three servers: messages/s stored on all", ...runtimes.map((rt) => S(results.get(rt)!, (r) => r.stored, 0))],
      ["ratio per run ÷ (3 × one server's), goal ≤ 1.3", ...runtimes.map((rt) => S(results.get(rt)!, (r) => r.ratio, 2))],
      ["ratio of the medians (as the bench's ratio table)", ...runtimes.map((rt) => (med(results.get(rt)!, (r) => r.threeUs) / (3 * med(results.get(rt)!, (r) => r.oneUs))).toFixed(2))],
    ]) +
    `\n\nload average before ${loadBefore}, after ${load()}; ${seconds} s loads, cluster warm-up ${warmup} s${flags["no-probe"] ? ", no probe" : ""}${flags["load-on"] !== "a,b,c" ? `, load on ${flags["load-on"]} only` : ""}, servers with ${SERVER_ARGS.join(" ")}`,
);
