/**
 * Search (issue 26, docs/PROTOCOL.md "Search"), in one run: the latency of
 * `search` over UDP in rooms of 10,000 and 1,000,000 messages (p50, p99 of
 * each kind of query), and what the index costs an add — acked adds/s of a
 * server with the index and of one started with --no-search, runs
 * alternated, and their ratio (the issue asks ≥ 0.8×).
 *
 *   npm run bench:search -- [--runtime node|deno] [--quick]
 *
 * Also a measurement of `npm run bench` (--only search-node,search-deno).
 * The big rooms are filled in bulk before their server starts
 * (testing/big_room.ts): the op log, the messages and the index, as adds
 * would leave them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { join } from "node:path";
import type { Runtime } from "./_child.ts";
import { killAllChildren } from "./_child.ts";
import type { Context, Measurement, Result, Table } from "./_report.ts";
import { formatNumber, formatSummary, percentile, summarize } from "./_stats.ts";
import { startBenchServer } from "./_distchat_server.ts";
import { addsOnce } from "./distchat_single.ts";
import { fillRoom } from "../testing/big_room.ts";
import { lines, udpClient } from "../testing/harness.ts";
import { defineCommand, parseCommandLine } from "../lib/config/cli.ts";

/** The kinds of query timed, each against the room's filler text ("stored message number N of a big room, padded …"). */
const QUERIES: { kind: string; query: (i: number, size: number) => string }[] = [
  { kind: "one rare word (a message's number)", query: (i, size) => String(1 + ((i * 7919) % size)) },
  { kind: "a word in every message (newest 20 of all)", query: () => "padded" },
  { kind: "two words, one rare", query: (i, size) => `plain ${1 + ((i * 104729) % size)}` },
  { kind: "a prefix", query: (i) => `${10 + (i % 89)}*` },
  { kind: "a word in no message", query: (i) => `quokka${i}` },
];

/** p50 and p99 (ms) of `n` searches of each kind in a room of `size` messages, over UDP. */
async function searchLatency(runtime: Runtime, dir: string, size: number, n: number, log: (l: string) => void): Promise<{ rows: string[][]; shown: string; fillS: number }> {
  const runDir = mkdtempSync(join(dir, `search${size}-`));
  const t0 = performance.now();
  fillRoom(join(runDir, "a.sqlite"), { room: "big", count: size });
  const fillS = (performance.now() - t0) / 1000;
  log(`  filled ${size} messages in ${fillS.toFixed(1)} s`);
  const srv = await startBenchServer(runtime, runDir, ["--rate-limit", "0"]);
  const u = await udpClient();
  const to = { host: "127.0.0.1", port: srv.port };
  try {
    const token = (await u.request(to, lines("login", "l", "reader"))).split("\n")[4];
    await u.request(to, lines("connect", "c", token, "big"));
    const rows: string[][] = [];
    let tag = 0;
    // Warm-up (not timed): the file was just written; the first queries read its pages in.
    for (const q of QUERIES) for (let i = 0; i < 20; i++) await u.request(to, lines("search", `w${++tag}`, token, "big", q.query(n + i, size), 20), 10_000);
    for (const q of QUERIES) {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const r = await u.request(to, lines("search", `s${++tag}`, token, "big", q.query(i, size), 20), 10_000);
        ms.push(performance.now() - t);
        if (!r.startsWith("ok\n")) throw new Error(`search ${q.query(i, size)}: ${r.replace(/\n/g, " | ")}`);
      }
      rows.push([formatNumber(size), q.kind, formatNumber(percentile(ms, 50), 2), formatNumber(percentile(ms, 99), 2)]);
      log(`  ${size}: ${q.kind}: p50 ${percentile(ms, 50).toFixed(2)} ms, p99 ${percentile(ms, 99).toFixed(2)} ms`);
    }
    return { rows, shown: srv.shown, fillS };
  } finally {
    await u.close();
    await srv.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * Acked adds/s (8 clients) with and without the index, `runs` pairs, each
 * pair's two runs back to back on fresh servers (which goes first
 * alternates): the machine's load drifts, so each pair's ratio is the figure.
 */
async function indexCost(runtime: Runtime, dir: string, runs: number, seconds: number, log: (l: string) => void): Promise<{ on: number[]; off: number[]; ratios: number[]; shown: string[] }> {
  const on: number[] = [], off: number[] = [], ratios: number[] = [], shown: string[] = [], commands: string[] = [];
  for (let run = 0; run < runs; run++) {
    for (const index of run % 2 === 0 ? [true, false] : [false, true]) {
      const runDir = mkdtempSync(join(dir, "adds-"));
      const srv = await startBenchServer(runtime, runDir, ["--rate-limit", "0", ...(index ? [] : ["--no-search"])]);
      shown.push(srv.shown);
      try {
        await addsOnce(srv.port, srv.pid, 8, 0.5, `warm${run}`, []);
        const r = await addsOnce(srv.port, srv.pid, 8, seconds, `adds${run}`, commands);
        (index ? on : off).push(r.rate);
        log(`  adds with the index ${index ? "on" : "off"}: ${r.rate.toFixed(0)}/s`);
      } finally {
        await srv.stop();
        rmSync(runDir, { recursive: true, force: true });
      }
    }
    ratios.push(on[on.length - 1] / off[off.length - 1]);
  }
  return { on, off, ratios, shown };
}

/** The measurement, with the server under `runtime`. */
export function searchBench(runtime: Runtime): Measurement {
  const label = runtime === "node" ? "Node" : "Deno";
  return {
    name: `search-${runtime}`,
    title: `Search under ${label}: latency in rooms of 10,000 and 1,000,000 messages, and what the index costs an add`,
    async run(ctx: Context): Promise<Result> {
      const dir = mkdtempSync(join(ctx.tmp, `search-${runtime}-`));
      try {
        const n = ctx.quick ? 50 : 200;
        const small = await searchLatency(runtime, dir, 10_000, n, ctx.log);
        const big = await searchLatency(runtime, dir, ctx.quick ? 200_000 : 1_000_000, n, ctx.log);
        const cost = await indexCost(runtime, dir, ctx.quick ? 2 : Math.max(6, ctx.runs), ctx.quick ? 3 : 4, ctx.log);
        const on = summarize(cost.on), off = summarize(cost.off), ratio = summarize(cost.ratios);
        const latency: Table = {
          caption: `Search over UDP (one client, one query at a time, ${n} of each kind after 20 of each not timed, up to 20 hits a page, best first (the default order); ms from send to reply):`,
          head: ["room", "query", "p50 ms", "p99 ms"],
          rows: [...small.rows, ...big.rows],
        };
        const adds: Table = {
          caption: `Acked durable adds/s with the search index on and off (8 clients, 16 in flight each, a fresh server per run, ${cost.on.length} pairs of runs back to back; median, min–max):`,
          head: ["index", "acked adds/s"],
          rows: [
            ["on", formatSummary(on)],
            ["off (--no-search)", formatSummary(off)],
            ["on ÷ off, per pair", `${formatSummary(ratio, 2)}×`],
          ],
        };
        return {
          tables: [latency, adds],
          notes: [
            `The rooms were filled in bulk before their server started (testing/big_room.ts: ${formatNumber(small.fillS, 1)} s for 10,000 and ${formatNumber(big.fillS, 1)} s for the big one, index included).`,
            "Every query reads at most the newest 1,000 matches from the FTS5 index in rowid (delivery) order, intersected with the room's own token, and ranks them by BM25 over their texts (lib/rules/search_rank.ts): a page never walks other rooms' matches nor all of a common word's.",
          ],
          commands: [small.shown, ...new Set(cost.shown)],
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

if (import.meta.main ?? process.argv[1]?.endsWith("search.ts")) {
  const COMMAND = defineCommand({
    name: "bench:search",
    about: "Search latency in rooms of 10,000 and 1,000,000 messages, and adds/s with the index on and off.",
    usage: "npm run bench:search -- [--runtime node|deno] [--quick]",
    flags: {
      runtime: { type: "string", value: "node|deno", default: "node", help: "the server's runtime" },
      quick: { type: "boolean", default: false, help: "50 queries of each kind, a room of 200,000, one run of adds each way" },
    },
  });
  const { values } = parseCommandLine(COMMAND);
  const runtime = values.runtime === "deno" ? "deno" : "node";
  const tmp = mkdtempSync(join(tmpdir(), "distchat-bench-search-"));
  try {
    const r = await searchBench(runtime).run({ quick: values.quick === true, runs: 3, tmp, log: (l) => console.error(l) });
    for (const t of r.tables) {
      console.log(t.caption ?? "");
      for (const row of [t.head, ...t.rows]) console.log(row.join(" | "));
      console.log("");
    }
    for (const note of r.notes ?? []) console.log(`- ${note}`);
  } finally {
    killAllChildren();
    rmSync(tmp, { recursive: true, force: true });
  }
}
