/**
 * Where an add's time and work go, counted rather than timed (issue 27;
 * not a test): real servers under Node with bench/_trace_preload.ts, which
 * records every event-loop callback, datagram, SQLite statement and sync.
 *
 * - `delivery`: three servers; a writer on a adds at RATE/s, a long poller
 *   on b; each add's path through a's and b's event loops, stage by stage
 *   (median and p90 µs), and what each server did per add;
 * - `load`: one server (or `--servers 3`) under the saturating load of
 *   BENCHMARKS.md (8 clients × 16 adds in flight): statements, commits,
 *   syncs, datagrams, callbacks and loop turns per acked add;
 * - `catchup`: c killed, COUNT messages added on a and b, c restarted; the
 *   same per op caught up, at c and at a and b.
 *
 * Counts do not depend on the machine's load; the µs do (the median of a
 * stage is still telling on a quiet machine). Prints the tables and writes
 * them with the command to --out (default data/perf/trace-MODE.md).
 *
 *   node_modules/.bin/node bench/trace.ts delivery [--count 1000] [--rate 200]
 *   node_modules/.bin/node bench/trace.ts load [--servers 1|3] [--seconds 3]
 *   node_modules/.bin/node bench/trace.ts catchup [--count 10000]
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { dirname, join } from "node:path";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { escapeText } from "../lib/wire/codec.ts";
import { type Child, displayCommand, killAllChildren, ROOT, runtimeCommand, startChild, stopAll } from "./_child.ts";
import { type BenchCluster, startBenchCluster, statsUntil } from "./_distchat_cluster_net.ts";
import { lines } from "./_distchat_udp.ts";
import { chatUser, Reader } from "./distchat_cluster.ts";
import { countBetween, markdownTable, perOpRows, readTraces } from "./_trace_read.ts";
import { deliveryStages } from "./_trace_stages.ts";
import { slowestDeliveries } from "./_trace_tail.ts";
import { measureFloor } from "./_floor.ts";

const COMMAND = defineCommand({
  name: "trace",
  about: "Where an add's time and work go: event traces of real servers (Node).",
  usage: "node_modules/.bin/node bench/trace.ts delivery|load|catchup [flags]",
  positionals: [{ name: "MODE", help: "delivery (default), load or catchup" }],
  flags: {
    count: { type: "string", value: "N", help: "delivery: adds traced (default 1000); catchup: messages missed (default 10000)" },
    rate: { type: "string", value: "N", default: "200", help: "delivery: adds per second" },
    servers: { type: "string", value: "N", default: "1", help: "load: 1 or 3 servers" },
    seconds: { type: "string", value: "N", default: "3", help: "load: seconds of load" },
    out: { type: "string", value: "FILE", help: "where to write the tables (default data/perf/trace-MODE.md)" },
    keep: { type: "string", value: "DIR", help: "keep the raw traces in DIR (one JSON-lines file per process and thread)" },
    strace: { type: "boolean", default: false, help: "delivery: also count each server's system calls per add (strace -c; slows every call)" },
  },
});
const { values: flags, positionals } = parseCommandLine(COMMAND);
const mode = positionals[0] ?? "delivery";
if (!["delivery", "load", "catchup"].includes(mode)) fail("trace", `the mode must be delivery, load or catchup, got "${mode}"`);
for (const f of ["count", "rate", "servers", "seconds"] as const) {
  if (flags[f] !== undefined && !/^[1-9]\d*$/.test(flags[f]!)) fail("trace", `--${f} must be a whole number ≥ 1, got "${flags[f]}"`);
}
const out = flags.out ?? join(ROOT, "data", "perf", `trace-${mode}${mode === "load" ? `-${flags.servers}` : ""}.md`);
const command = `node_modules/.bin/node bench/trace.ts ${process.argv.slice(2).join(" ")}`.trim();

const dir = mkdtempSync(join(os.tmpdir(), "distchat-trace-"));
const traces = flags.keep ?? join(dir, "traces");
mkdirSync(traces, { recursive: true });
// The servers (and only they: the preload checks its script) trace themselves.
process.env.DISTCHAT_TRACE = traces;
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --import=${join(ROOT, "bench", "_trace_preload.ts")}`.trim();

/** CLOCK_MONOTONIC µs, the traces' clock. */
const mono = (): number => Number(process.hrtime.bigint() / 1000n);
/** `close` of a cluster, once (the modes close it before reading the traces, and again in `finally`). */
const closing = new WeakMap<BenchCluster, Promise<void>>();
const close = (c: BenchCluster): Promise<void> => closing.get(c) ?? (closing.set(c, c.close()), closing.get(c)!);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Marks every running server's trace now (SIGUSR2); the mark lands when its loop gets to it. */
async function mark(c: BenchCluster, ids = c.ids): Promise<void> {
  for (const id of ids) if (c.servers[id].running) process.kill(c.servers[id].pid, "SIGUSR2");
  await sleep(100);
}
const same = (rs: { vector: string; gapsPending: number }[]) => rs.every((r) => r.vector === rs[0].vector && r.gapsPending === 0);
const peerPorts = (c: BenchCluster) => new Set(c.ids.map((id) => c.servers[id].peer.port));

const report: string[] = [`# bench/trace.ts ${mode}`, "", "```sh", command, "```", ""];
const section = (title: string, text: string) => {
  report.push(`## ${title}`, "", text, "");
  console.log(`\n${title}\n${text}`);
};

/** Per-op tables of each server between its first two marks (or from its start, `fromStart`). */
function perServer(c: BenchCluster, ops: number, what: string, fromStart: string[] = []): void {
  const all = readTraces(traces);
  for (const id of c.ids) {
    const t = all.get(c.servers[id].pid);
    if (!t || t.marks.length < (fromStart.includes(id) ? 1 : 2)) continue;
    const [t0, loops0] = fromStart.includes(id) ? [0, 0] : [t.marks[0].t, t.marks[0].loops];
    const end = t.marks[t.marks.length - 1];
    const counts = countBetween(t, t0, end.t, peerPorts(c));
    section(`Server ${id}: per ${what} (${ops.toLocaleString("en-US")} ${what}s)`, markdownTable(["what", `per ${what}`, `µs per ${what}`], perOpRows(counts, ops, end.loops - loops0)));
  }
}

/** `strace -c -f` on each of `pids` until the returned stop(); then each one's calls per syscall. */
function straceCounts(pids: Record<string, number>): () => Promise<Record<string, Map<string, number>>> {
  const runs = Object.entries(pids).map(([id, pid]) => {
    const file = join(dir, `strace-${id}.txt`);
    const p = spawn("strace", ["-c", "-f", "-q", "-o", file, "-p", String(pid)], { stdio: "ignore" });
    return { id, file, p, exited: new Promise<void>((r) => p.on("exit", () => r())) };
  });
  return async () => {
    const out: Record<string, Map<string, number>> = {};
    for (const r of runs) {
      r.p.kill("SIGINT");
      await r.exited;
      const calls = new Map<string, number>();
      // "% time     seconds  usecs/call     calls    errors syscall" rows
      for (const line of readFileSync(r.file, "utf8").split("\n")) {
        const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
        if (m && m[2] !== "total") calls.set(m[2], Number(m[1]));
      }
      out[r.id] = calls;
    }
    return out;
  };
}

async function delivery(): Promise<void> {
  const count = Number(flags.count ?? 1000), rate = Number(flags.rate);
  const c = await startBenchCluster("node", dir, 3, { pairProxies: false, args: ["--rate-limit", "0"] });
  try {
    const writer = await chatUser(c.servers.a.client, "probe");
    const poller = new Reader(await chatUser(c.servers.b.client, "probe"));
    await poller.start();
    const run = async (n: number) => {
      const adds: { tag: string; sent: number; acked: number; arrived: number }[] = [];
      // Read the clock here (the handler runs as the reply is read): performance.now() drifts from CLOCK_MONOTONIC by ~0.7 ms/s.
      poller.handlers.add((text) => {
        const i = Number(text.split(" ")[1]);
        if (adds[i] && !adds[i].arrived) adds[i].arrived = mono();
      });
      const pending: Promise<void>[] = [];
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const due = t0 + (i * 1000) / rate;
        if (due > performance.now()) await sleep(due - performance.now());
        const tag = writer.ep.tag();
        const a = { tag, sent: mono(), acked: 0, arrived: 0 };
        adds[i] = a;
        pending.push(writer.ep.request(writer.to, tag, lines("add", tag, writer.token, escapeText(`probe ${i}`), writer.room), 250).then(() => void (a.acked = mono())));
      }
      await Promise.all(pending);
      await sleep(200);
      poller.handlers.clear();
      return adds;
    };
    await run(Math.min(300, count)); // warm-up (JIT), not counted
    const stopStrace = flags.strace ? straceCounts({ a: c.servers.a.pid, b: c.servers.b.pid, c: c.servers.c.pid }) : null;
    if (stopStrace) await sleep(500); // attached
    await mark(c);
    const adds = await run(count);
    await mark(c);
    if (stopStrace) {
      const counts = await stopStrace();
      const names = [...new Set(Object.values(counts).flatMap((m) => [...m.keys()]))].sort((x, y) => (counts.a.get(y) ?? 0) - (counts.a.get(x) ?? 0));
      section(`System calls per add (strace -c -f over the ${count} adds and a little before and after; every thread)`, markdownTable(
        ["system call", "a", "b", "c"],
        names.map((n) => [n, ...["a", "b", "c"].map((id) => ((counts[id].get(n) ?? 0) / count).toFixed(2))]),
      ));
    }
    await poller.stop();
    await writer.ep.close();
    await poller.c.ep.close();
    await close(c);
    const all = readTraces(traces);
    const [a, b] = ["a", "b"].map((id) => all.get(c.servers[id].pid)!);
    const stages = deliveryStages(adds, a.main, b.main, { bPeer: c.servers.b.peer.port });
    const f = await measureFloor("node", dir);
    const sorted = adds.filter((x) => x.arrived).map((x) => x.arrived - x.sent).sort((x, y) => x - y);
    const p50 = sorted[sorted.length >> 1];
    stages.notes.push(
      `the floor of this sitting (bench/_limits_worker.ts): a one-row FULL commit ${f.commitUs.toFixed(0)} µs + a UDP round trip ${f.rttUs.toFixed(0)} µs = ` +
        `${(f.commitUs + f.rttUs).toFixed(0)} µs; traced delivery p50 ${p50.toFixed(0)} µs = ${(p50 / (f.commitUs + f.rttUs)).toFixed(2)}× the floor (issue 27's goal ≤ 1.5×)`,
    );
    section(`One add's path: a → b's long poll, ${count} adds at ${rate}/s (µs, CLOCK_MONOTONIC, same clock in every process)`, stages.table);
    const tail = slowestDeliveries(stages, ["a", "b", "c"].map((id) => ({ id, trace: all.get(c.servers[id].pid)! })));
    section("The slowest 2% of the deliveries: the stage that grew most, and what else ran meanwhile", tail.table);
    section("What the slowest have in common (share of adds during which it ran)", tail.common);
    for (const n of stages.notes) console.log(n);
    report.push(...stages.notes.map((n) => `- ${n}`), "");
    perServer(c, count, "add");
  } finally {
    await close(c);
  }
}

async function load(): Promise<void> {
  const n = Number(flags.servers), seconds = Number(flags.seconds);
  if (n !== 1 && n !== 3) fail("trace", `--servers must be 1 or 3, got ${n}`);
  const c = await startBenchCluster("node", dir, n, { pairProxies: false, args: ["--rate-limit", "0"] });
  const children: Child[] = [];
  try {
    c.ids.forEach((id, i) => {
      const clients = Math.floor(8 / n) + (i < 8 % n ? 1 : 0);
      const argv = runtimeCommand("node", "bench/_distchat_load.ts", ["adds", String(c.servers[id].client.port), String(clients), "16", String(seconds), `load${id}`, id]);
      report.push(`load: \`${displayCommand(argv).replace(` ${c.servers[id].client.port} `, " PORT ")}\``, "");
      children.push(startChild(argv));
    });
    for (const ch of children) await ch.next(60_000);
    const before = await statsUntil(c, same, 20_000);
    await mark(c);
    for (const ch of children) ch.send("go");
    const results = await Promise.all(children.map((ch) => ch.next<{ acked: number }>(seconds * 1000 + 60_000)));
    const after = await statsUntil(c, same, 60_000, 10);
    await mark(c);
    const acked = results.reduce((s, r) => s + r.acked, 0);
    const stored = after && before ? after.reports[0].messages - before.reports[0].messages : acked;
    report.push(`${acked.toLocaleString("en-US")} adds acked in ${seconds} s; ${stored.toLocaleString("en-US")} messages stored on every server`, "");
    await stopAll(children.splice(0));
    await close(c);
    perServer(c, stored, "message");
  } finally {
    await stopAll(children);
    await close(c);
  }
}

async function catchup(): Promise<void> {
  const count = Number(flags.count ?? 10000);
  const c = await startBenchCluster("node", dir, 3, { pairProxies: false, args: ["--rate-limit", "0"] });
  const children: Child[] = [];
  try {
    await c.stop("c", "SIGKILL");
    const gone = await statsUntil(c, (rs) => rs.every((r) => (r.peers.c?.lastHeardMsAgo ?? Infinity) > 1000), 10_000, 50, ["a", "b"]);
    if (!gone) throw new Error("a and b still hear c after its kill");
    for (const id of ["a", "b"]) {
      const argv = runtimeCommand("node", "bench/_distchat_cluster_load.ts", ["count", String(c.servers[id].client.port), String(count / 2), "4", "16", "catch", id]);
      children.push(startChild(argv));
    }
    for (const ch of children) await ch.next(60_000);
    for (const ch of children) ch.send("go");
    for (const ch of children) await ch.next(300_000);
    const ab = await statsUntil(c, (rs) => rs.every((r) => r.vector === rs[0].vector), 60_000, 20, ["a", "b"]);
    if (!ab) throw new Error("a and b did not agree after the fill");
    const target = ab.reports[0].vector;
    await mark(c, ["a", "b"]);
    const t0 = performance.now();
    const startMs = await c.start("c");
    const covers = (v: string) => target.split(",").every((kv) => {
      const [k, n] = kv.split("=");
      return Number(new RegExp(`(?:^|,)${k.replace(/[~]/g, "\\~")}=(\\d+)`).exec(v)?.[1] ?? 0) >= Number(n);
    });
    const done = await statsUntil(c, (rs) => covers(rs[0].vector), 300_000, 10, ["c"]);
    if (!done) throw new Error("c did not catch up within 300 s");
    const ms = done.at - t0;
    await mark(c);
    const ops = Number(done.reports[0].vector.split(",").reduce((s, kv) => s + Number(kv.split("=")[1]), 0));
    report.push(`c caught up ${count.toLocaleString("en-US")} messages (${ops.toLocaleString("en-US")} ops in its log) in ${ms.toFixed(0)} ms from its process start (startup line after ${startMs.toFixed(0)} ms)`, "");
    console.log(report.at(-2));
    await stopAll(children.splice(0));
    await close(c);
    perServer(c, count, "message caught up", ["c"]);
  } finally {
    await stopAll(children);
    await close(c);
  }
}

try {
  if (mode === "delivery") await delivery();
  else if (mode === "load") await load();
  else await catchup();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, report.join("\n"));
  console.log(`\nwritten to ${out}`);
} finally {
  killAllChildren();
  rmSync(dir, { recursive: true, force: true });
}
