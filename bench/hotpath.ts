/**
 * Issue 27's two hot-path ratios alone, with their anchors, interleaved, in
 * rounds (not a test; a few minutes instead of `npm run bench`'s fifteen):
 *
 * - `adds8 ÷ echo8`: acked adds/s of one server (8 clients × 16 in flight,
 *   `--rate-limit 0`, fresh database; bench/distchat_single.ts `addsOnce`)
 *   against the echo server of the same runtime under the same load
 *   (goal ≥ 0.5×); with the server's CPU µs per acked add;
 * - `cross p50 ÷ floor`: cross-server delivery from the send (three servers,
 *   a writer on a at 200/s, a long poller on b; bench/distchat_cluster.ts
 *   `probeLatency`) against the floor of the same round (bench/_floor.ts: a
 *   one-row FULL commit + a loopback round trip; goal ≤ 1.5×).
 *
 * Each round measures echo, adds, delivery and floor for each runtime, one
 * after the other, so a change in the machine's load hits all of them.
 * Prints one line per measurement and a summary (median, min–max of the
 * rounds, and the load average), and writes it with the command to --out.
 *
 *   npm run bench:hotpath -- [--rounds 3] [--runtime node,deno] [--seconds 3] [--count 400] [--only adds|delivery] [--out FILE]
 */
import { mkdtempSync, rmSync } from "node:fs";
import process from "node:process";
import { join } from "node:path";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { benchTempDir, loadAverage, type Runtime, runtimeCommand, startChild, writeSummary } from "./_child.ts";
import { addsOnce } from "./distchat_single.ts";
import { startBenchServer } from "./_distchat_server.ts";
import { deliveryRound } from "./_delivery_probe.ts";
import { measureFloor } from "./_floor.ts";
import { formatSummary, percentile, summarize } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "hotpath",
  about: "Issue 27's hot-path ratios (adds/s ÷ echo, delivery p50 ÷ floor) with their anchors, interleaved rounds.",
  usage: "npm run bench:hotpath -- [--rounds N] [--runtime node,deno] [--seconds N] [--count N] [--only adds|delivery] [--out FILE]",
  flags: {
    rounds: { type: "string", value: "N", default: "3", help: "rounds, each measuring every figure and anchor once per runtime" },
    runtime: { type: "string", value: "LIST", default: "node,deno", help: "the servers' runtimes, comma-separated" },
    seconds: { type: "string", value: "N", default: "3", help: "seconds of each adds and echo load" },
    count: { type: "string", value: "N", default: "400", help: "adds of the delivery probe per round (200/s, after 100 of warm-up)" },
    only: { type: "string", value: "adds|delivery", help: "measure only the adds ratio (echo, adds) or only the delivery ratio (delivery, floor)" },
    out: { type: "string", value: "FILE", default: "data/bench/hotpath.md", help: "where the summary goes" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
const rounds = Number(flags.rounds), seconds = Number(flags.seconds), count = Number(flags.count);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) fail("hotpath", `--rounds must be a whole number from 1 to 20, got ${flags.rounds}`);
if (!(seconds > 0 && seconds <= 30)) fail("hotpath", `--seconds must be a number of seconds up to 30, got ${flags.seconds}`);
if (!Number.isInteger(count) || count < 10 || count > 10_000) fail("hotpath", `--count must be a whole number from 10 to 10000, got ${flags.count}`);
if (flags.only !== undefined && flags.only !== "adds" && flags.only !== "delivery") fail("hotpath", `--only is adds or delivery, got "${flags.only}"`);
const doAdds = flags.only !== "delivery", doDelivery = flags.only !== "adds";
const runtimes = flags.runtime!.split(",").map((s) => s.trim());
for (const r of runtimes) if (r !== "node" && r !== "deno") fail("hotpath", `--runtime lists node and/or deno, got "${r}"`);

const SERVER_ARGS = ["--rate-limit", "0"];
const { dir, cleanup } = benchTempDir("distchat-hotpath-");
const load = loadAverage;

/** The echo server's replies/s under the adds load, and its CPU µs per reply. */
async function echo8(runtime: Runtime): Promise<{ rate: number; cpuUs: number }> {
  const e = startChild(runtimeCommand(runtime, "bench/_limits_worker.ts", ["echo", runtime === "deno" ? "deno" : "dgram", String(4 << 20)]));
  try {
    const { port } = await e.next<{ port: number }>(30_000);
    await addsOnce(port, e.pid, 8, 0.5, "", [], "echoes");
    const r = await addsOnce(port, e.pid, 8, seconds, "", [], "echoes");
    return { rate: r.rate, cpuUs: (r.serverCores * 1e6) / r.rate };
  } finally {
    await e.stop();
  }
}

/** One server's acked adds/s (8 clients × 16 in flight) and its CPU µs per acked add. */
async function adds8(runtime: Runtime, round: number): Promise<{ rate: number; cpuUs: number }> {
  const d = mkdtempSync(join(dir, "adds-"));
  const srv = await startBenchServer(runtime, d, SERVER_ARGS);
  try {
    await addsOnce(srv.port, srv.pid, 8, 1, `warm${round}`, []);
    const r = await addsOnce(srv.port, srv.pid, 8, seconds, `adds${round}`, []);
    return { rate: r.rate, cpuUs: (r.serverCores * 1e6) / r.rate };
  } finally {
    await srv.stop();
    rmSync(d, { recursive: true, force: true });
  }
}

/** Delivery from the send, a → b's long poll, 200/s: p50 and p99 ms. */
async function cross(runtime: Runtime): Promise<{ p50: number; p99: number; lost: number }> {
  const r = await deliveryRound(runtime, dir, count);
  return { p50: percentile(r.fromSend, 50), p99: percentile(r.fromSend, 99), lost: r.lost };
}

type Row = { adds: number; echo: number; addCpu: number; echoCpu: number; p50: number; p99: number; floor: number; loads: string[] };
const rows = new Map<string, Row[]>(runtimes.map((r) => [r, []]));
const command = `node_modules/node/bin/node bench/hotpath.ts ${process.argv.slice(2).join(" ")}`.trim();
try {
  for (let round = 0; round < rounds; round++) {
    for (const rt of runtimes as Runtime[]) {
      const l0 = load();
      const none = { rate: NaN, cpuUs: NaN };
      const e = doAdds ? await echo8(rt) : none;
      const a = doAdds ? await adds8(rt, round) : none;
      const x = doDelivery ? await cross(rt) : { p50: NaN, p99: NaN, lost: 0 };
      const f = doDelivery ? await measureFloor(rt, dir) : { ms: NaN, commitUs: NaN, rttUs: NaN };
      const row = { adds: a.rate, echo: e.rate, addCpu: a.cpuUs, echoCpu: e.cpuUs, p50: x.p50, p99: x.p99, floor: f.ms, loads: [l0, load()] };
      rows.get(rt)!.push(row);
      console.log(
        `round ${round} ${rt}: adds ${a.rate.toFixed(0)}/s (${a.cpuUs.toFixed(1)} CPU µs/add), echo ${e.rate.toFixed(0)}/s → ${(a.rate / e.rate).toFixed(2)}×; ` +
          `delivery p50 ${x.p50.toFixed(2)} p99 ${x.p99.toFixed(2)} ms (lost ${x.lost}), floor ${f.ms.toFixed(3)} ms (commit ${f.commitUs.toFixed(0)} + rtt ${f.rttUs.toFixed(0)} µs) → ${(x.p50 / f.ms).toFixed(2)}×; load ${row.loads.join(" → ")}`,
      );
    }
  }
  const S = (xs: number[], d = 0) => formatSummary(summarize(xs), d);
  const lines = [
    `\`${command}\` (${new Date().toISOString().slice(0, 16)} UTC, ${rounds} interleaved round(s); median (min–max) of the rounds; the servers with --rate-limit 0):`,
    "",
    "| runtime | adds/s | echo/s | adds ÷ echo (≥ 0.5×) | CPU µs per add | echo CPU µs per reply | delivery p50 ms | p99 ms | floor ms | p50 ÷ floor (≤ 1.5×) | load average |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const [rt, rs] of rows) {
    lines.push(`| ${rt} | ${S(rs.map((r) => r.adds))} | ${S(rs.map((r) => r.echo))} | ${S(rs.map((r) => r.adds / r.echo), 2)}× | ${S(rs.map((r) => r.addCpu), 1)} | ${S(rs.map((r) => r.echoCpu), 1)} | ${S(rs.map((r) => r.p50), 2)} | ${S(rs.map((r) => r.p99), 2)} | ${S(rs.map((r) => r.floor), 3)} | ${S(rs.map((r) => r.p50 / r.floor), 2)}× | ${rs[0].loads[0]} … ${rs.at(-1)!.loads[1]} |`);
  }
  writeSummary(lines, flags.out!);
} finally {
  cleanup();
}
