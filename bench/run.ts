/**
 * `npm run bench`: measures what the machine allows (bench/limits.ts, under
 * Node and Deno), the IRC anchor (bench/irc.ts) and, as they are added,
 * DistChat itself; each measurement several times (median, min–max); writes
 * BENCHMARKS.md with the machine, the versions and the exact commands.
 *
 *   npm run bench -- [--quick] [--runs N] [--only NAME,...] [--out FILE]
 *
 * --quick takes about 2.5 minutes (it leaves out the acks comparison), the
 * full run about 15. Only a full run writes BENCHMARKS.md unless --out says
 * otherwise.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { defineCommand, parseCommandLine } from "../lib/config/cli.ts";
import { displayCommand, killAllChildren, ROOT, runtimePath } from "./_child.ts";
import { ircAnchors } from "./irc.ts";
import { limits } from "./limits.ts";
import { distchatSingle } from "./distchat_single.ts";
import { distchatCluster, recordIrc } from "./distchat_cluster.ts";
import { acks } from "./acks.ts";
import { webTransport } from "./web_transport.ts";
import { searchBench } from "./search.ts";
import { encryptedRows } from "./encrypted_rows.ts";
import type { Context, Measurement, Result } from "./_report.ts";
import { renderSection, renderTable } from "./_report.ts";
import { ratioTable } from "./_ratios.ts";

/**
 * Every measurement, in the order they run and appear in BENCHMARKS.md.
 * DistChat measurements plug in here, each a module exporting a
 * `Measurement` (bench/_report.ts) built on bench/_child.ts (servers in their
 * own process group), bench/_scenarios.ts (latency, throughput, netsplit over
 * any `ChatEndpoint`) and bench/_proxy.ts (udpLink: testing/udp_proxy.ts in front of a peer port):
 * one-server adds/s, three-server throughput, delivery latency, catch-up,
 * fan-out, memory, scaling.
 */
const MEASUREMENTS: Measurement[] = [
  limits("node"),
  limits("deno"),
  recordIrc(ircAnchors),
  distchatSingle("node"),
  distchatSingle("deno"),
  distchatCluster("node"),
  distchatCluster("deno"),
  { ...acks("node"), fullOnly: true },
  { ...acks("deno"), fullOnly: true },
  webTransport("node"),
  webTransport("deno"),
  searchBench("node"),
  searchBench("deno"),
  encryptedRows("node"),
  encryptedRows("deno"),
];

const COMMAND = defineCommand({
  name: "bench",
  about: "npm run bench: measures the machine's limits, the IRC anchor and DistChat, and writes a report.",
  usage: "npm run bench -- [--quick] [--runs N] [--only NAME,...] [--out FILE]",
  flags: {
    quick: { type: "boolean", default: false, help: "one run each, shorter bursts, no acks comparison (about 2.5 minutes; the full run takes about 15)" },
    runs: { type: "string", value: "N", help: "runs per measurement (default 3, or 1 with --quick)" },
    only: { type: "string", value: "NAMES", help: `only these measurements: ${MEASUREMENTS.map((m) => m.name).join(", ")}` },
    out: { type: "string", value: "FILE", help: "where to write the report (default: BENCHMARKS.md for a full run; data/BENCHMARKS-quick.md with --quick or --only, so the committed file is kept)" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
const quick = flags.quick!;
const runs = Number(flags.runs ?? (quick ? 1 : 3));
if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
  console.error(`--runs ${flags.runs}: give a whole number from 1 to 50`);
  process.exit(2);
}
const only = flags.only?.split(",").map((s) => s.trim()).filter(Boolean);
const chosen = only ? MEASUREMENTS.filter((m) => only.includes(m.name)) : MEASUREMENTS.filter((m) => !(quick && m.fullOnly));
if (only && chosen.length !== only.length) {
  console.error(`--only ${flags.only}: known measurements are ${MEASUREMENTS.map((m) => m.name).join(", ")}`);
  process.exit(2);
}

const out = flags.out ?? (quick || only ? join(ROOT, "data", "BENCHMARKS-quick.md") : join(ROOT, "BENCHMARKS.md"));
mkdirSync(dirname(out), { recursive: true });

const tmp = mkdtempSync(join(os.tmpdir(), "distchat-bench-"));
const cleanup = () => {
  killAllChildren();
  rmSync(tmp, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}
const deadlineMs = (quick ? 5 : 35) * 60_000;
setTimeout(() => {
  console.error(`bench: still running after ${deadlineMs / 60_000} minutes; stopping`);
  cleanup();
  process.exit(1);
}, deadlineMs).unref();

const ctx: Context = { quick, runs, tmp, log: (line) => console.error(line) };
const started = Date.now();
const sections: string[] = [];
const versions: Record<string, string> = {};
let failures = 0;
try {
  for (const m of chosen) {
    ctx.log(`${m.title} ...`);
    const t0 = Date.now();
    let result: Result | Error;
    try {
      result = await m.run(ctx);
      Object.assign(versions, result.versions);
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
      failures++;
      ctx.log(`  failed: ${result.message}`);
    }
    sections.push(renderSection(m.title, result, (Date.now() - t0) / 1000));
  }
} finally {
  cleanup();
}

const seconds = (Date.now() - started) / 1000;
const command = `npm run bench${quick || flags.runs || only ? " --" : ""}${quick ? " --quick" : ""}${flags.runs ? ` --runs ${runs}` : ""}${only ? ` --only ${only.join(",")}` : ""}`;
const doc = [
  "# Benchmarks",
  "",
  `Written by \`${command}\` (${displayCommand([runtimePath("node")])} bench/run.ts${process.argv.slice(2).length ? " " + process.argv.slice(2).join(" ") : ""}) on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC in ${seconds.toFixed(0)} s${quick ? " (quick mode: fewer runs, shorter bursts)" : ""}. Each measurement ran ${runs} times unless a table says otherwise; tables give the median and (min–max). All traffic is on 127.0.0.1.`,
  "",
  "## Ratios to anchors of this run",
  "",
  "Each DistChat figure beside an anchor measured minutes apart in this same run on this same machine, in the default (durable) configuration; the ratio is DistChat ÷ anchor. Absolute figures move 2–5× from day to day on this kind of machine; the ratios are the goals (issue 14). The sections below give every figure's runs, spread and command.",
  "",
  renderTable(ratioTable()),
  "",
  "## Machine and versions",
  "",
  ...machine(versions).map((l) => `- ${l}`),
  "",
  ...sections,
].join("\n");
writeFileSync(out, doc);
console.error(`wrote ${out} in ${seconds.toFixed(0)} s${failures ? `; ${failures} measurement(s) failed` : ""}`);
// Exit now: a measurement's idle keep-alive sockets (the web transport's HTTP agents) would hold the process for another 30 s.
process.exit(failures ? 1 : 0);

function machine(extra: Record<string, string>): string[] {
  const cpus = os.cpus();
  const first = (argv: string[]) => {
    try {
      return execFileSync(argv[0], argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0].trim();
    } catch {
      return "unknown";
    }
  };
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  const sqlite = first([runtimePath("node"), "-e", "const {DatabaseSync}=require('node:sqlite');console.log(new DatabaseSync(':memory:').prepare('select sqlite_version() v').get().v)"]);
  return [
    `CPU: ${cpus[0]?.model ?? "unknown"}, ${cpus.length} cores (os.cpus()); load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
    `Memory: ${gib(os.totalmem())} (free at the end ${gib(os.freemem())})`,
    `OS: ${os.type()} ${os.release()} ${os.arch()}; temp dir ${os.tmpdir()} on ${first(["stat", "-f", "-c", "%T", os.tmpdir()])}`,
    `UDP socket buffers: net.core.rmem_default ${first(["cat", "/proc/sys/net/core/rmem_default"])}, rmem_max ${first(["cat", "/proc/sys/net/core/rmem_max"])} bytes`,
    `Node ${first([runtimePath("node"), "--version"])} (${displayCommand([runtimePath("node")])}), SQLite ${sqlite} (node:sqlite)`,
    `${first([runtimePath("deno"), "--version"])} (${displayCommand([runtimePath("deno"), "run", "-A"])}; deno.json enables the unstable net API for Deno.listenDatagram)`,
    ...Object.entries(extra).map(([k, v]) => `${k} ${v}`),
  ];
}
