/**
 * `npm test`: checks the generated parser is fresh, type-checks, then runs
 * the whole suite under Node and under Deno, and ends with one line
 * `N passed, N failed` adding both up. Extra arguments filter test files.
 * Each step's output shows as it comes. Ctrl-C (SIGINT) or SIGTERM reaches
 * the step running: the test runner stops every server it started and
 * removes its temporary directories (testing/processes.ts), then this exits.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ensurePackages } from "./system_packages.ts";
import { TEST_USAGE } from "../testing/test_usage.ts";

const bin = (name: string) => join("node_modules", ".bin", name);
const filters = process.argv.slice(2);
if (filters.includes("--help") || filters.includes("-h")) {
  console.log(TEST_USAGE);
  process.exit(0);
}
let passed = 0, failed = 0;
let running: ReturnType<typeof spawn> | null = null;
let stopped: string | null = null;

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (stopped !== null) return;
    stopped = signal;
    console.log(`\nnpm test: ${signal}; stopping the step under way (it stops its servers and removes its temporary directories)…`);
    // Ctrl-C in a terminal reaches the step too (same process group); a SIGTERM to this process alone is passed on.
    running?.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
  });
}

/** Runs one step, its stdout shown live and kept (to read its `N passed, N failed` line). */
function step(title: string, cmd: string, args: string[]): Promise<void> {
  console.log(`\n=== ${title}: ${[cmd, ...args].join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    running = child;
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      process.stdout.write(d);
    });
    const done = (status: number | null) => {
      running = null;
      const m = /^(\d+) passed, (\d+) failed/m.exec([...out.matchAll(/^\d+ passed, \d+ failed.*$/gm)].at(-1)?.[0] ?? "");
      if (m) {
        passed += Number(m[1]);
        failed += Number(m[2]);
      }
      if (status !== 0 && (!m || Number(m[2]) === 0)) failed++; // a step that failed without counting
      resolve();
    };
    child.once("exit", (code) => done(code));
    child.once("error", (e) => {
      console.log(`cannot run ${cmd}: ${e.message}`);
      done(1);
    });
  });
}

ensurePackages();
const checked = ["server.ts", "client.ts", "lib", "testing", "tests", "scripts", "bench"].filter((f) => existsSync(f));
const steps: [string, string, string[]][] = [
  ["generated parser", process.execPath, ["scripts/check_gen.ts"]],
  ["type check", bin("deno"), ["check", "--quiet", ...checked]],
  ["tests under Node", process.execPath, ["tests/run.ts", ...filters]],
  ["tests under Deno", bin("deno"), ["run", "-A", "tests/run.ts", ...filters]],
];
for (const [title, cmd, args] of steps) {
  if (stopped !== null) break;
  await step(title, cmd, args);
}

if (stopped !== null) {
  console.log(`\nnpm test: stopped by ${stopped}`);
  process.exit(130);
}
console.log(`\nall runtimes:`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
