/**
 * bench:add-cost against an older tree, in interleaved rounds (not a test):
 * the CPU time of one add (the process's CPU seconds for 60,000 adds less
 * those for 10,000, so start-up cancels out; steadier than the wall clock on
 * a loaded machine) and the wall-clock total bench/add_cost.ts prints, for
 * the older tree and this one, one after the other in each round. Prints a
 * table with medians and the ratio this ÷ older, and writes it, with the
 * command that made it, to --out.
 *
 *   git worktree add /tmp/before 95e1ce4 && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   npm run bench:add-cost-pairs -- --before /tmp/before [--rounds 5] [--runtime node|deno]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";
import { ROOT } from "../testing/harness.ts";

const COMMAND = defineCommand({
  name: "add_cost_pairs",
  about: "bench:add-cost of an older tree and this one, interleaved: CPU µs and wall µs per add, medians and ratios.",
  usage: "npm run bench:add-cost-pairs -- --before DIR [--rounds N] [--runtime node|deno] [--out FILE]",
  positionals: [],
  flags: {
    before: { type: "string", value: "DIR", help: "a checkout of the older commit (with node_modules)" },
    rounds: { type: "string", value: "N", default: "5", help: "interleaved rounds" },
    runtime: { type: "string", value: "node|deno", default: "node", help: "the runtime both run on" },
    out: { type: "string", value: "FILE", default: "data/bench/add-cost-pairs.md", help: "where the table goes" },
  },
  notes: "Needs /usr/bin/time (Debian package `time`).",
});
const { values: flags } = parseCommandLine(COMMAND);
if (!flags.before) fail("add_cost_pairs", "--before DIR is needed (a checkout of the older commit)");
const rounds = Number(flags.rounds);
if (!Number.isInteger(rounds) || rounds < 1) fail("add_cost_pairs", `--rounds must be a whole number ≥ 1, got ${flags.rounds}`);
if (flags.runtime !== "node" && flags.runtime !== "deno") fail("add_cost_pairs", `--runtime is node or deno, got ${flags.runtime}`);

const NODE = join(ROOT, "node_modules/node/bin/node");
const DENO = join(ROOT, "node_modules/.bin/deno");

/** CPU seconds and the JSON line of one run of bench/add_cost.ts with `n` adds in `tree`. */
function run(tree: string, n: number): { cpu: number; total: number } {
  const argv = flags.runtime === "deno" ? [DENO, "run", "-A", "bench/add_cost.ts"] : [NODE, "bench/add_cost.ts"];
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", ...argv, String(n), "--json"], { cwd: tree, encoding: "utf8" });
  if (r.status !== 0) fail("add_cost_pairs", `${tree}: ${r.stderr || r.error}`);
  const [user, sys] = r.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
  return { cpu: user + sys, total: JSON.parse(r.stdout.trim().split("\n").at(-1)!).total };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const trees = { older: resolve(flags.before), this: ROOT };
const rows: string[] = [];
const cpu = { older: [] as number[], this: [] as number[] };
const wall = { older: [] as number[], this: [] as number[] };
for (let i = 1; i <= rounds; i++) {
  for (const which of ["older", "this"] as const) {
    const big = run(trees[which], 60_000);
    const small = run(trees[which], 10_000);
    const us = ((big.cpu - small.cpu) * 1e6) / 50_000;
    cpu[which].push(us);
    wall[which].push(big.total);
    const load = (process.platform === "linux" ? spawnSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).stdout.split(" ")[0] : "?");
    rows.push(`| ${i} | ${which} | ${us.toFixed(1)} | ${big.total.toFixed(1)} | ${load} |`);
    console.log(rows.at(-1));
  }
}
const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
const text = [
  `# bench:add-cost, ${flags.runtime}: ${trees.older} (older) against ${trees.this} (this), ${rounds} interleaved rounds`,
  "",
  `Command: \`npm run bench:add-cost-pairs -- ${process.argv.slice(2).join(" ")}\` (${new Date().toISOString()})`,
  "",
  "| round | tree | CPU µs per add | wall µs per add (60,000) | load |",
  "|---|---|---|---|---|",
  ...rows,
  "",
  `Medians: CPU ${median(cpu.older).toFixed(1)} → ${median(cpu.this).toFixed(1)} µs (this ÷ older ${ratio(cpu.this, cpu.older)}); ` +
  `wall ${median(wall.older).toFixed(1)} → ${median(wall.this).toFixed(1)} µs (${ratio(wall.this, wall.older)}).`,
  "",
].join("\n");
const out = resolve(ROOT, flags.out!);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, text);
console.log(text.split("\n").at(-2));
console.log(`written to ${out}`);
