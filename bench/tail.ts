/**
 * Issue 27's delivery tail alone (not a test; about 40 s a round): the p99
 * of cross-server delivery from the send (three DistChat servers, a writer
 * on a at 200/s, a long poller on b: bench/_delivery_probe.ts) against the
 * p99 of three linked ngircd servers under the same pattern (s1 → s2:
 * bench/irc.ts `ircLatencyRound`), and the floor's own tail in the same
 * round (bench/_floor.ts: each one-row FULL commit's p99 + each loopback
 * round trip's p99 — what a design that syncs before showing cannot beat —
 * and the p99 of one-row FULL commits due at 200/s, each timed from when it
 * was due: the disk's tail under the probe's own pattern, stalls queued).
 * Rounds interleave ngircd and each runtime, so a change of load hits all.
 * Prints one line per round and a summary (per runtime: median and min–max
 * of the rounds, and the p99 of all the rounds' samples pooled), and writes
 * it with the command to --out.
 *
 *   node_modules/node/bin/node bench/tail.ts [--rounds 3] [--runtime node,deno] [--count 1000] [--slow] [--out FILE] [-- SERVER FLAGS]
 *
 * --slow also lists each round's slowest 1% as "ms into the round:ms", to
 * see whether they come with a period (a 100 ms checkpoint, the 200 ms index).
 * --warm-up N sets the adds before the measured ones (default 100: a Deno
 * server's first major GC then falls in the measured adds, a Node server's
 * in its start-up; docs/PERFORMANCE_NOTES.md §8b, seventh sitting).
 * --gc runs the servers with V8's GC trace (bench/_gc_trace.ts) and lists,
 * per round, the main threads' pauses ≥ 2 ms on a and b while the adds were
 * measured, and how many of the slowest 1% were in flight during one.
 */
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { benchTempDir, loadAverage, type Runtime, writeSummary } from "./_child.ts";
import { deliveryRound, PROBE_RATE } from "./_delivery_probe.ts";
import { measureFloor } from "./_floor.ts";
import { ensureNgircd, ircLatencyRound } from "./irc.ts";
import { formatSummary, percentile, summarize } from "./_stats.ts";
import { GcLog, type GcPause, gcTraceEnv, slowDuringGc } from "./_gc_trace.ts";

const COMMAND = defineCommand({
  name: "tail",
  about: "Issue 27's delivery p99 against three linked ngircd servers' p99 and the floor's p99, interleaved rounds.",
  usage: "node_modules/.bin/node bench/tail.ts [--rounds N] [--runtime node,deno] [--count N] [--slow] [--gc] [--warm-up N] [--out FILE] [-- SERVER FLAGS]",
  positionals: [{ name: "-- SERVER FLAGS", help: "passed to every server.ts" }],
  flags: {
    rounds: { type: "string", value: "N", default: "3", help: "rounds, each measuring ngircd, then each runtime's delivery and floor" },
    runtime: { type: "string", value: "LIST", default: "node,deno", help: "the servers' runtimes, comma-separated" },
    count: { type: "string", value: "N", default: "1000", help: "lines (adds) per round and system, at 200/s after the warm-up (ngircd: 100 lines)" },
    slow: { type: "boolean", default: false, help: "list each round's slowest 1% as \"ms into the round:ms\"" },
    "warm-up": { type: "string", value: "N", default: "100", help: "DistChat's adds before the measured ones in each round's fresh cluster" },
    gc: { type: "boolean", default: false, help: "trace the servers' garbage collections: pauses ≥ 2 ms on a and b, and the slowest 1% in flight during one" },
    out: { type: "string", value: "FILE", default: "data/bench/tail.md", help: "where the summary goes" },
  },
});
const { values: flags, positionals } = parseCommandLine(COMMAND);
const rounds = Number(flags.rounds), count = Number(flags.count);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) fail("tail", `--rounds must be a whole number from 1 to 20, got ${flags.rounds}`);
if (!Number.isInteger(count) || count < 100 || count > 10_000) fail("tail", `--count must be a whole number from 100 to 10000, got ${flags.count}`);
const warmUp = Number(flags["warm-up"]);
if (!Number.isInteger(warmUp) || warmUp < 1 || warmUp > 10_000) fail("tail", `--warm-up must be a whole number from 1 to 10000, got ${flags["warm-up"]}`);
const runtimes = flags.runtime!.split(",").map((s) => s.trim());
for (const r of runtimes) if (r !== "node" && r !== "deno") fail("tail", `--runtime lists node and/or deno, got "${r}"`);

const { dir, cleanup } = benchTempDir("distchat-tail-");
const load = loadAverage;

/** The slowest 1% of a round's samples (in send order, 5 ms apart) as "ms into the round:ms". */
const slowest = (xs: number[]) => {
  const cut = percentile(xs, 99);
  return xs.map((x, i) => [i * (1000 / PROBE_RATE), x] as const).filter(([, x]) => x >= cut).map(([t, x]) => `${t.toFixed(0)}:${x.toFixed(1)}`).join(" ");
};

/** The main threads' GC pauses ≥ 2 ms on a and b while a round's adds were measured, and the slowest 1% in flight during one. */
const gcLine = (gc: GcLog, x: { fromSend: number[]; sentAt: number[] }): string => {
  if (x.sentAt.length === 0) return "gc: no samples";
  const from = x.sentAt[0], to = Math.max(...x.sentAt.map((t, i) => t + x.fromSend[i]));
  const pauses = gc.pauses({ ids: ["a", "b"], from, to, minMs: 2 });
  const { slow, during } = slowDuringGc(x.sentAt, x.fromSend, percentile(x.fromSend, 99), pauses);
  const marking = (p: GcPause) => (p.markingMs > 0 ? ` (marking ${p.markingMs.toFixed(0)} ms)` : "");
  const list = pauses.map((p) => `${p.id} ${p.kind} ${p.ms.toFixed(1)} ms${marking(p)} at ${(p.endAt - from).toFixed(0)}`).join(", ");
  return `gc on a, b (main threads, ≥ 2 ms, ms into the round): ${list || "none"}; the slowest 1%: ${during} of ${slow} in flight during one`;
};

type Row = { p50: number; p99: number; irc50: number; irc99: number; floor: number; floor99: number; commit99: number; rtt99: number; paced99: number; lost: number; loads: string[] };
const rows = new Map<string, Row[]>(runtimes.map((r) => [r, []]));
const pooled = new Map<string, number[]>([["irc", []], ...runtimes.map((r) => [r, []] as [string, number[]])]);
const command = `node_modules/node/bin/node bench/tail.ts ${process.argv.slice(2).join(" ")}`.trim();
try {
  const ngircd = ensureNgircd((l) => console.error(l));
  for (let round = 0; round < rounds; round++) {
    const l0 = load();
    const irc = await ircLatencyRound(dir, ngircd.path, { count, rate: PROBE_RATE }, `t${round}`);
    pooled.get("irc")!.push(...irc.samples);
    const irc50 = percentile(irc.samples, 50), irc99 = percentile(irc.samples, 99);
    console.log(`round ${round} ngircd: p50 ${irc50.toFixed(2)} p99 ${irc99.toFixed(2)} ms (lost ${irc.lost})${flags.slow ? `; slowest ${slowest(irc.samples)}` : ""}`);
    for (const rt of runtimes as Runtime[]) {
      const gc = new GcLog();
      const x = await deliveryRound(rt, dir, count, positionals, { warmUp, ...(flags.gc ? { env: gcTraceEnv(rt), onStdout: gc.hear } : {}) });
      const f = await measureFloor(rt, dir, 3, PROBE_RATE, count);
      pooled.get(rt)!.push(...x.fromSend);
      const row = {
        p50: percentile(x.fromSend, 50), p99: percentile(x.fromSend, 99), irc50, irc99, floor: f.ms, floor99: f.p99Ms,
        commit99: f.commitP99Us, rtt99: f.rttP99Us, paced99: f.pacedP99Us, lost: x.lost, loads: [l0, load()],
      };
      rows.get(rt)!.push(row);
      console.log(
        `round ${round} ${rt}: delivery p50 ${row.p50.toFixed(2)} p99 ${row.p99.toFixed(2)} ms (lost ${x.lost}) → p99 ÷ ngircd ${(row.p99 / irc99).toFixed(2)}×; ` +
          `floor p50 ${f.ms.toFixed(3)} p99 ${f.p99Ms.toFixed(3)} ms (commit p99 ${f.commitP99Us.toFixed(0)} + rtt p99 ${f.rttP99Us.toFixed(0)} µs; commits at ${PROBE_RATE}/s: p99 ${f.pacedP99Us.toFixed(0)} µs); load ${row.loads.join(" → ")}` +
          (flags.slow ? `\n  slowest ${slowest(x.fromSend)}` : "") + (flags.gc ? `\n  ${gcLine(gc, x)}` : ""),
      );
    }
  }
  const S = (xs: number[], d = 2) => formatSummary(summarize(xs), d);
  const ircAll = pooled.get("irc")!;
  const lines = [
    `\`${command}\` (${new Date().toISOString().slice(0, 16)} UTC, ${rounds} interleaved round(s) of ${count} at ${PROBE_RATE}/s after ${warmUp} of warm-up; median (min–max) of the rounds; ` +
      `"pooled" is the p99 of all rounds' samples together; the servers with --rate-limit 0${positionals.length ? " " + positionals.join(" ") : ""}):`,
    "",
    "| runtime | delivery p50 ms | delivery p99 ms | pooled p99 ms | ngircd p50 ms | ngircd p99 ms | ngircd pooled p99 ms | p99 ÷ ngircd p99 (≤ 3×) | pooled ratio | floor p50 ms | floor p99 ms (commit p99 + rtt p99) | p99 ÷ floor p99 | one-row commits at 200/s, p99 ms | lost | load average |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const [rt, rs] of rows) {
    const all = pooled.get(rt)!;
    lines.push(
      `| ${rt} | ${S(rs.map((r) => r.p50))} | ${S(rs.map((r) => r.p99))} | ${percentile(all, 99).toFixed(2)} | ${S(rs.map((r) => r.irc50))} | ${S(rs.map((r) => r.irc99))} | ` +
        `${percentile(ircAll, 99).toFixed(2)} | ${S(rs.map((r) => r.p99 / r.irc99))}× | ${(percentile(all, 99) / percentile(ircAll, 99)).toFixed(2)}× | ${S(rs.map((r) => r.floor), 3)} | ` +
        `${S(rs.map((r) => r.floor99), 3)} (${S(rs.map((r) => r.commit99), 0)} + ${S(rs.map((r) => r.rtt99), 0)} µs) | ${S(rs.map((r) => r.p99 / r.floor99))}× | ${S(rs.map((r) => r.paced99 / 1000))} | ` +
        `${rs.reduce((s, r) => s + r.lost, 0)} | ${rs[0].loads[0]} … ${rs.at(-1)!.loads[1]} |`,
    );
  }
  writeSummary(lines, flags.out!);
} finally {
  cleanup();
}
