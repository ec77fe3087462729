/**
 * Where the CPU goes (issue 27; not a test): real servers under the loads of
 * BENCHMARKS.md, each sampled by Linux `perf` (CPU time, so the machine's
 * load changes how long a run takes, not where its CPU goes), with each
 * process's CPU seconds from /proc per op.
 *
 * - `single`: one server, 8 clients × 16 adds in flight; CPU µs per acked add;
 * - `echo`: the echo server of BENCHMARKS.md under the same load; µs per reply;
 * - `cluster`: one server, then three (the same 8 clients spread over them,
 *   each server its own room), `--runs` times interleaved; CPU µs per message
 *   stored on all three ÷ 3 × one server's CPU µs per acked add (issue 27's
 *   goal: ≤ 1.3);
 * - `catchup`: c killed, COUNT messages added on a and b, c restarted under
 *   perf; c's CPU µs per message caught up, and a's and b's for answering.
 *
 * Prints tables and writes them, with the command, to --out (default
 * data/perf/profile-MODE-RUNTIME.md); perf.data files go to --keep DIR if given.
 *
 *   node_modules/.bin/node bench/profile.ts single|echo|cluster|catchup [--runtime node|deno] [--seconds 3] [--runs 1] [--count 10000] [--no-perf]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { dirname, join } from "node:path";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { type Child, cpuSeconds, displayCommand, killAllChildren, ROOT, type Runtime, runtimeCommand, startChild, stopAll } from "./_child.ts";
import { type BenchCluster, startBenchCluster, statsUntil } from "./_distchat_cluster_net.ts";
import { perfAvailable, startPerf, summarizePerf } from "./_perf.ts";
import { markdownTable } from "./_trace_read.ts";
import { formatSummary, summarize } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "profile",
  about: "Where the CPU goes: perf profiles and CPU seconds per op of real servers under load.",
  usage: "node_modules/.bin/node bench/profile.ts single|echo|cluster|catchup [flags]",
  positionals: [{ name: "MODE", help: "single (default), echo, cluster or catchup" }],
  flags: {
    runtime: { type: "string", value: "node|deno", default: "node", help: "the servers' runtime" },
    seconds: { type: "string", value: "N", default: "3", help: "seconds of load" },
    runs: { type: "string", value: "N", default: "1", help: "cluster: single/cluster pairs, interleaved" },
    count: { type: "string", value: "N", default: "10000", help: "catchup: messages missed" },
    "no-perf": { type: "boolean", default: false, help: "CPU seconds only, no perf profile" },
    out: { type: "string", value: "FILE", help: "where to write the tables (default data/perf/profile-MODE-RUNTIME.md)" },
    keep: { type: "string", value: "DIR", help: "keep the perf.data files in DIR" },
  },
});
const { values: flags, positionals } = parseCommandLine(COMMAND);
const mode = positionals[0] ?? "single";
if (!["single", "echo", "cluster", "catchup"].includes(mode)) fail("profile", `the mode must be single, echo, cluster or catchup, got "${mode}"`);
if (flags.runtime !== "node" && flags.runtime !== "deno") fail("profile", `--runtime must be node or deno, got "${flags.runtime}"`);
for (const f of ["seconds", "runs", "count"] as const) if (!/^[1-9]\d*$/.test(flags[f]!)) fail("profile", `--${f} must be a whole number ≥ 1, got "${flags[f]}"`);
const runtime = flags.runtime as Runtime;
const seconds = Number(flags.seconds);
const usePerf = !flags["no-perf"] && perfAvailable();
if (!flags["no-perf"] && !usePerf) console.error("profile: perf is not available here (apt-get install linux-perf); CPU seconds only");
const out = flags.out ?? join(ROOT, "data", "perf", `profile-${mode}-${runtime}.md`);
const dir = mkdtempSync(join(os.tmpdir(), "distchat-profile-"));
const perfDir = flags.keep ?? dir;
mkdirSync(perfDir, { recursive: true });
// JIT code gets names in perf (written to /tmp/perf-PID.map by the runtime).
if (usePerf) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --perf-basic-prof`.trim();
  process.env.DENO_V8_FLAGS = "--perf-basic-prof";
}
const SERVER_ARGS = ["--rate-limit", "0"];
/** Processes whose /tmp/perf-PID.map the runtime wrote (removed at the end). */
const profiled = new Set<number>();

const report: string[] = [`# bench/profile.ts ${mode} (${runtime})`, "", "```sh", `node_modules/.bin/node bench/profile.ts ${process.argv.slice(2).join(" ")}`.trim(), "```", ""];
const say = (text: string) => {
  report.push(text, "");
  console.log(text + "\n");
};
const fmt = (x: number, d = 1) => x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });

/** The perf summary of one process as markdown: groups, entry points, top symbols; µs per op from `cpuPerOpUs`. */
function profileText(label: string, file: string, cpuPerOpUs: number, what: string): string {
  const s = summarizePerf(file);
  if (!s) return `${label}: no samples`;
  const us = (pct: number) => fmt((pct / 100) * cpuPerOpUs);
  return [
    `### ${label}: ${s.samples.toLocaleString("en-US")} samples, ${fmt(cpuPerOpUs)} CPU µs per ${what}`,
    "",
    markdownTable(["thread", "% of CPU", `µs per ${what}`], s.threads.map(([g, p]) => [g, fmt(p), us(p)])),
    "",
    markdownTable(["self time in", "% of CPU", `µs per ${what}`], s.groups.filter(([, p]) => p >= 0.5).map(([g, p]) => [g, fmt(p), us(p)])),
    "",
    markdownTable(["inclusive time in (entry point)", "% of CPU", `µs per ${what}`], s.inclusive.map(([g, p]) => [g, fmt(p), us(p)])),
    "",
    markdownTable(["JavaScript function (inclusive, all tiers)", "% of CPU", `µs per ${what}`], s.functions.map(([g, p]) => [g, fmt(p), us(p)])),
    "",
    markdownTable(["top symbols (self)", "dso", "% of CPU"], s.top.map(([p, dso, sym]) => [sym.slice(0, 110), dso, fmt(p, 2)])),
  ].join("\n");
}

/** Runs a warm-up load to its end (the JIT compiles the hot path first: a server runs for days). */
async function warmUp(children: Child[]): Promise<void> {
  for (const ch of children) ch.send("go");
  await Promise.all(children.map((ch) => ch.next(60_000)));
  await stopAll(children);
}

/** Load processes for `c` (8 clients × 16 in flight spread over its servers, or the echo load on `echoPort`), for `secs` s. */
async function loads(c: BenchCluster | null, echoPort = 0, secs = seconds): Promise<Child[]> {
  const ids = c ? c.ids : ["echo"];
  const children = ids.map((id, i) => {
    const clients = Math.floor(8 / ids.length) + (i < 8 % ids.length ? 1 : 0);
    const argv = c
      ? runtimeCommand("node", "bench/_distchat_load.ts", ["adds", String(c.servers[id].client.port), String(clients), "16", String(secs), `load${id}`, id])
      : runtimeCommand("node", "bench/_distchat_load.ts", ["echoes", String(echoPort), String(clients), "16", String(secs)]);
    if (secs === seconds) report.push(`load: \`${displayCommand(argv).replace(/ \d{4,5} /, " PORT ")}\``, "");
    return startChild(argv, { env: { NODE_OPTIONS: "" } }); // load processes are not profiled
  });
  for (const ch of children) await ch.next(60_000);
  return children;
}

const same = (rs: { vector: string; gapsPending: number }[]) => rs.every((r) => r.vector === rs[0].vector && r.gapsPending === 0);

/** Runs the load on `pids` (profiled when perf is on) and returns ops done and each pid's CPU seconds. */
async function measure(pids: Record<string, number>, children: Child[], tag: string, count: () => Promise<number>) {
  const before = await count();
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  for (const pid of Object.values(pids)) profiled.add(pid);
  const perfs = usePerf ? Object.entries(pids).map(([k, pid]) => startPerf(pid, join(perfDir, `${tag}-${k}.perf`))) : [];
  await new Promise((r) => setTimeout(r, 300)); // perf attached
  for (const ch of children) ch.send("go");
  const results = await Promise.all(children.map((ch) => ch.next<{ acked: number }>(seconds * 1000 + 60_000)));
  const done = await count();
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) - cpu0[k]]));
  for (const p of perfs) await p.stop();
  await stopAll(children);
  return { acked: results.reduce((s, r) => s + r.acked, 0), ops: done - before, cpu };
}

async function serversRun(n: number, tag: string) {
  const c = await startBenchCluster(runtime, mkdtempSync(join(dir, `${tag}-`)), n, { pairProxies: false, args: SERVER_ARGS });
  try {
    await warmUp(await loads(c, 0, 1));
    const children = await loads(c);
    await statsUntil(c, same, 20_000);
    const stored = async () => (await statsUntil(c, same, 60_000, 10))?.reports[0].messages ?? NaN;
    const pids = Object.fromEntries(c.ids.map((id) => [id, c.servers[id].pid]));
    const r = await measure(pids, children, tag, stored);
    return { ...r, shown: c.shown };
  } finally {
    await c.close();
  }
}

async function single(): Promise<void> {
  const r = await serversRun(1, "single");
  const us = (r.cpu.a * 1e6) / r.acked;
  say(`${r.acked.toLocaleString("en-US")} adds acked in ${seconds} s; server CPU ${fmt(r.cpu.a, 2)} s = ${fmt(us)} µs per acked add. Server: \`${r.shown}\``);
  if (usePerf) say(profileText("server a", join(perfDir, "single-a.perf"), us, "add"));
}

async function echo(): Promise<void> {
  const transport = runtime === "deno" ? "deno" : "dgram";
  const argv = runtimeCommand(runtime, "bench/_limits_worker.ts", ["echo", transport, String(4 << 20)]);
  const server = startChild(argv);
  try {
    const { port } = await server.next<{ port: number }>(30_000);
    await warmUp(await loads(null, port, 1));
    const children = await loads(null, port);
    const r = await measure({ echo: server.pid }, children, "echo", async () => 0);
    const us = (r.cpu.echo * 1e6) / r.acked;
    say(`${r.acked.toLocaleString("en-US")} replies in ${seconds} s; echo server CPU ${fmt(r.cpu.echo, 2)} s = ${fmt(us)} µs per reply. Server: \`${displayCommand(argv)}\``);
    if (usePerf) say(profileText("echo server", join(perfDir, "echo-echo.perf"), us, "reply"));
  } finally {
    await server.stop();
  }
}

async function cluster(): Promise<void> {
  const ratios: number[] = [], singles: number[] = [], perMsg: number[] = [];
  for (let run = 0; run < Number(flags.runs); run++) {
    const one = await serversRun(1, `single${run}`);
    const three = await serversRun(3, `cluster${run}`);
    const oneUs = (one.cpu.a * 1e6) / one.acked;
    const cpu3 = Object.values(three.cpu).reduce((s, x) => s + x, 0);
    const threeUs = (cpu3 * 1e6) / three.ops;
    singles.push(oneUs);
    perMsg.push(threeUs);
    ratios.push(threeUs / (3 * oneUs));
    say(
      `run ${run}: one server ${fmt(oneUs)} µs per acked add (${one.acked.toLocaleString("en-US")} adds); three servers ${fmt(threeUs)} µs per message stored on all ` +
        `(${three.ops.toLocaleString("en-US")} messages; a ${fmt(three.cpu.a, 2)} s, b ${fmt(three.cpu.b, 2)} s, c ${fmt(three.cpu.c, 2)} s) = ${(threeUs / (3 * oneUs)).toFixed(2)} × 3 × one server's`,
    );
    if (usePerf && run === 0) {
      for (const id of ["a", "b", "c"]) say(profileText(`cluster server ${id}`, join(perfDir, `cluster0-${id}.perf`), (three.cpu[id] * 1e6) / three.ops, "message"));
    }
  }
  say(markdownTable(["figure", `median (min–max) of ${ratios.length} run(s)`], [
    ["one server: CPU µs per acked add", formatSummary(summarize(singles), 1)],
    ["three servers: CPU µs (all three) per message stored on all three", formatSummary(summarize(perMsg), 1)],
    ["ratio ÷ (3 × one server's) — goal ≤ 1.3", formatSummary(summarize(ratios), 2)],
  ]));
}

async function catchup(): Promise<void> {
  const count = Number(flags.count);
  const c = await startBenchCluster(runtime, mkdtempSync(join(dir, "catch-")), 3, { pairProxies: false, args: SERVER_ARGS });
  const children: Child[] = [];
  try {
    await c.stop("c", "SIGKILL");
    if (!await statsUntil(c, (rs) => rs.every((r) => (r.peers.c?.lastHeardMsAgo ?? Infinity) > 1000), 10_000, 50, ["a", "b"])) throw new Error("a and b still hear c");
    for (const id of ["a", "b"]) {
      children.push(startChild(runtimeCommand("node", "bench/_distchat_cluster_load.ts", ["count", String(c.servers[id].client.port), String(count / 2), "4", "16", "catch", id]), { env: { NODE_OPTIONS: "" } }));
    }
    for (const ch of children) await ch.next(60_000);
    for (const ch of children) ch.send("go");
    for (const ch of children) await ch.next(300_000);
    const ab = await statsUntil(c, (rs) => rs.every((r) => r.vector === rs[0].vector), 60_000, 20, ["a", "b"]);
    if (!ab) throw new Error("a and b did not agree after the fill");
    const target = new Map(ab.reports[0].vector.split(",").map((kv) => [kv.split("=")[0], Number(kv.split("=")[1])] as const));
    const cpuAB = { a: cpuSeconds(c.servers.a.pid), b: cpuSeconds(c.servers.b.pid) };
    const perfs = usePerf ? ["a", "b"].map((id) => startPerf(c.servers[id].pid, join(perfDir, `catchup-${id}.perf`))) : [];
    const t0 = performance.now();
    const starting = c.start("c"); // the pid is known at once: perf attaches while the runtime starts
    const pid = c.servers.c.pid;
    for (const id of ["a", "b"]) profiled.add(c.servers[id].pid);
    profiled.add(pid);
    if (usePerf) perfs.push(startPerf(pid, join(perfDir, "catchup-c.perf")));
    await starting;
    const covered = (v: string) => [...target].every(([k, n]) => Number(new RegExp(`(?:^|,)${k}=(\\d+)`).exec(v)?.[1] ?? 0) >= n);
    const done = await statsUntil(c, (rs) => covered(rs[0].vector), 300_000, 10, ["c"]);
    if (!done) throw new Error("c did not catch up within 300 s");
    const ms = done.at - t0;
    const cpu = { a: cpuSeconds(c.servers.a.pid) - cpuAB.a, b: cpuSeconds(c.servers.b.pid) - cpuAB.b, c: cpuSeconds(pid) };
    for (const p of perfs) await p.stop();
    say(`c caught up ${count.toLocaleString("en-US")} messages in ${fmt(ms, 0)} ms from its process start (${fmt(count / (ms / 1000), 0)} rows/s); CPU: c ${fmt(cpu.c, 2)} s (from its start), a ${fmt(cpu.a, 2)} s, b ${fmt(cpu.b, 2)} s. Servers: \`${c.shown}\``);
    if (usePerf) for (const id of ["c", "a", "b"]) say(profileText(`server ${id}`, join(perfDir, `catchup-${id}.perf`), (cpu[id as "a"] * 1e6) / count, "message caught up"));
  } finally {
    await stopAll(children);
    await c.close();
  }
}

try {
  if (mode === "single") await single();
  else if (mode === "echo") await echo();
  else if (mode === "cluster") await cluster();
  else await catchup();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, report.join("\n"));
  console.log(`written to ${out}`);
} finally {
  killAllChildren();
  rmSync(dir, { recursive: true, force: true });
  for (const pid of profiled) rmSync(`/tmp/perf-${pid}.map`, { force: true });
  // --perf-basic-prof also has V8 log code events to isolate-…-PID-v8.log in the servers' working directory.
  for (const f of readdirSync(ROOT)) {
    const m = /^isolate-0x[0-9a-f]+-(\d+)-v8\.log$/.exec(f);
    if (m && profiled.has(Number(m[1]))) rmSync(join(ROOT, f), { force: true });
  }
}
