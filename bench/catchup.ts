/**
 * Issue 27's catch-up figures alone (not a test): catch-up of 10,000 and
 * 100,000 missed messages (bench/_catchup_run.ts, as in the full run's
 * figure 2) and their anchor, SQLite's insert with synchronous=FULL and 100
 * rows per commit (bench/limits.ts), in the same process, round after round
 * and runtime after runtime, so that the ratio rows/s ÷ anchor of each round
 * is taken in one sitting. With `--before DIR` each round runs the older
 * tree and then this one (each in its own process: `--once`), for a
 * before/after in the same sitting. Prints a table of medians (min–max) with
 * the command and the load average, and writes it to `--out`.
 *
 *   git worktree add /tmp/before main && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   cp bench/catchup.ts bench/_catchup_run.ts /tmp/before/bench/
 *   npm run bench:catchup -- --runs 3 [--before /tmp/before] [--runtimes node,deno] [--counts 10000,100000]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { catchUp } from "./_catchup_run.ts";
import { type Runtime, ROOT, startChild } from "./_child.ts";
import { sqliteInserts } from "./limits.ts";
import { formatNumber, formatSummary, summarize } from "./_stats.ts";

const COMMAND = defineCommand({
  name: "catchup",
  about: "Catch-up of N missed messages (rows/s from c's process start) and SQLite's FULL 100-rows/commit insert, interleaved; ratios per round.",
  usage: "npm run bench:catchup -- [--runs N] [--runtimes node,deno] [--counts 10000,100000] [--before DIR] [--out FILE]",
  flags: {
    runs: { type: "string", value: "N", default: "3", help: "interleaved rounds" },
    runtimes: { type: "string", value: "LIST", default: "node,deno", help: "runtimes of the servers and of the SQLite anchor" },
    counts: { type: "string", value: "LIST", default: "10000,100000", help: "missed messages per catch-up (even numbers)" },
    before: { type: "string", value: "DIR", help: "an older checkout (with node_modules and these two bench files) run before this one in each round" },
    out: { type: "string", value: "FILE", default: "data/bench/catchup.md", help: "where the table goes" },
    once: { type: "boolean", help: "one round of one runtime in this tree, printed as one JSON line (used by --before)" },
  },
});
const { values: flags } = parseCommandLine(COMMAND);
const runs = Number(flags.runs);
if (!Number.isInteger(runs) || runs < 1) fail("catchup", `--runs must be a whole number ≥ 1, got ${flags.runs}`);
const runtimes = flags.runtimes.split(",");
for (const rt of runtimes) if (rt !== "node" && rt !== "deno") fail("catchup", `--runtimes lists node or deno, got ${rt}`);
const counts = flags.counts.split(",").map(Number);
for (const n of counts) if (!Number.isInteger(n) || n < 2 || n % 2) fail("catchup", `--counts lists even whole numbers, got ${flags.counts}`);

/** One round of one runtime: the anchor's rows/s, then per count the catch-up's times. */
type Round = { sqlite100: number; catchup: Record<string, { ms: number; startupMs: number; fillMs: number; cpu: { c: number; ab: number }; duplicates: number }> };

async function round(runtime: Runtime): Promise<Round> {
  const dir = mkdtempSync(join(tmpdir(), `catchup-${runtime}-`));
  try {
    const commands: string[] = [];
    const sqlite100 = await sqliteInserts(runtime, dir, "FULL", 100, 100 * 20_000, 2, commands);
    const catchup: Round["catchup"] = {};
    for (const n of counts) {
      const r = await catchUp(runtime, dir, n, commands, new Set());
      catchup[n] = { ms: r.ms, startupMs: r.startupMs, fillMs: r.fillMs, cpu: r.cpu, duplicates: r.duplicates };
      process.stderr.write(`  ${runtime} catch-up ${n}: ${r.ms.toFixed(0)} ms from the start (start ${r.startupMs.toFixed(0)} ms; fill ${(r.fillMs / 1000).toFixed(1)} s); SQLite ${sqlite100.toFixed(0)} rows/s\n`);
    }
    return { sqlite100, catchup };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A round in the tree `tree` (its own bench/catchup.ts --once, in a child process). */
async function roundIn(tree: string, runtime: Runtime): Promise<Round> {
  const node = join(ROOT, "node_modules/node/bin/node");
  const child = startChild([node, join(tree, "bench/catchup.ts"), "--once", "--runtimes", runtime, "--counts", flags.counts], { cwd: tree });
  try {
    return await child.next<Round>(30 * 60_000);
  } catch (e) {
    throw new Error(`${tree}: ${(e as Error).message}: ${child.stderr().slice(-2000)}`);
  } finally {
    await child.stop();
  }
}

if (flags.once) {
  process.stdout.write(JSON.stringify(await round(runtimes[0] as Runtime)) + "\n");
  process.exit(0);
}

const trees: [string, string][] = flags.before ? [["before", resolve(flags.before)], ["this", ROOT]] : [["this", ROOT]];
const results = new Map<string, Round[]>(); // key: tree/runtime
const loads: string[] = [];
for (let i = 1; i <= runs; i++) {
  for (const rt of runtimes as Runtime[]) {
    for (const [name, tree] of trees) {
      loads.push(readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "));
      process.stderr.write(`round ${i}/${runs}, ${rt}, ${name} (load ${loads.at(-1)})\n`);
      const r = flags.before ? await roundIn(tree, rt) : await round(rt);
      const each = counts.map((n) => `${n}: ${r.catchup[n].ms.toFixed(0)} ms, ${(n / r.catchup[n].ms * 1000 / r.sqlite100).toFixed(3)}×, c ${(r.catchup[n].cpu.c * 1e6 / n).toFixed(0)} CPU µs/op, ${r.catchup[n].duplicates} twice`);
      process.stderr.write(`  ${each.join("; ")} (SQLite ${r.sqlite100.toFixed(0)} rows/s)\n`);
      results.set(`${name}/${rt}`, [...(results.get(`${name}/${rt}`) ?? []), r]);
    }
  }
}

const rows: string[] = [];
for (const rt of runtimes) {
  for (const [name] of trees) {
    const rs = results.get(`${name}/${rt}`)!;
    const anchor = formatSummary(summarize(rs.map((r) => r.sqlite100)));
    for (const n of counts) {
      const rate = rs.map((r) => n / (r.catchup[n].ms / 1000));
      const ratio = rs.map((r, k) => rate[k] / r.sqlite100);
      const start = formatSummary(summarize(rs.map((r) => r.catchup[n].startupMs)));
      const ms = formatSummary(summarize(rs.map((r) => r.catchup[n].ms)));
      const perOp = (f: (r: Round) => number) => formatSummary(summarize(rs.map((r) => (f(r) * 1e6) / n)));
      const twice = formatSummary(summarize(rs.map((r) => r.catchup[n].duplicates)));
      rows.push(`| ${rt} | ${name} | ${formatNumber(n)} | ${ms} | ${start} | ${formatSummary(summarize(rate))} | ${anchor} | ${formatSummary(summarize(ratio), 3)}× | ${perOp((r) => r.catchup[n].cpu.c)} | ${perOp((r) => r.catchup[n].cpu.ab)} | ${twice} |`);
    }
  }
}
const table = [
  `Catch-up from c's process start (bench/_catchup_run.ts) ÷ SQLite insert, FULL, 100 rows/commit; ${runs} interleaved round(s), median (min–max); the ratio is taken per round. Load average at each round's start: ${loads.join("; ")}.`,
  "",
  "| runtime | tree | missed messages | catch-up ms from the start | process start ms | rows/s | SQLite FULL 100/commit rows/s | ratio (goal ≥ 0.25×) | c's CPU µs per op (from its start) | a + b CPU µs per op | ops c got twice |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows,
  "",
  "```sh",
  `node_modules/node/bin/node bench/catchup.ts ${process.argv.slice(2).join(" ")}`,
  "```",
].join("\n");
console.log(table);
const out = resolve(ROOT, flags.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, table + "\n");
