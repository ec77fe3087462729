/**
 * `npm test`: checks the generated parser is fresh, type-checks, then runs
 * the whole suite under Node and under Deno at the same time (most of a
 * test's time is spent waiting on servers, so two runs share the machine's
 * cores well; Deno takes the files in reverse order, so the heaviest ones do
 * not coincide), and ends with one line `N passed, N failed` adding both
 * up. Extra arguments filter test files. The Node run's output shows as it
 * comes; Deno's is kept and shown whole when it ends. TEST_SERIAL=1 runs
 * the two one after the other, each shown as it comes. Ctrl-C (SIGINT) or SIGTERM reaches
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
const running = new Set<ReturnType<typeof spawn>>();
let stopped: string | null = null;

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (stopped !== null) return;
    stopped = signal;
    console.log(`\nnpm test: ${signal}; stopping the step under way (it stops its servers and removes its temporary directories)…`);
    // Ctrl-C in a terminal reaches the step too (same process group); a SIGTERM to this process alone is passed on.
    for (const child of running) child.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
  });
}

/**
 * Runs one step and reads its `N passed, N failed` line. Its stdout is shown
 * live, or (`quiet`) kept and shown whole, under its title, when it ends.
 */
function step(title: string, cmd: string, args: string[], opts: { quiet?: boolean; env?: Record<string, string> } = {}): Promise<void> {
  const head = `\n=== ${title}: ${[cmd, ...args].join(" ")}`;
  console.log(opts.quiet ? `${head}\n(runs meanwhile; its output is shown when it ends)` : head);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", opts.quiet ? "pipe" : "inherit"], env: { ...process.env, ...opts.env } });
    running.add(child);
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (!opts.quiet) process.stdout.write(d);
    });
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (out += d));
    const done = (status: number | null) => {
      running.delete(child);
      if (opts.quiet) console.log(`${head}\n${out}`);
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
await step("generated parser", process.execPath, ["scripts/check_gen.ts"]);
if (stopped === null) await step("type check", bin("deno"), ["check", "--quiet", ...checked]);
// Each runtime's suite starts its servers on ports of its own (testing/ports.ts): the two run side by side.
const underNode = () => step("tests under Node", process.execPath, ["tests/run.ts", ...filters], { env: { DISTCHAT_TEST_PORTS: "20000-25999" } });
const underDeno = (quiet: boolean) =>
  step("tests under Deno", bin("deno"), ["run", "-A", "tests/run.ts", ...filters], { quiet, env: { TEST_ORDER: "reverse", DISTCHAT_TEST_PORTS: "26000-31999" } });
if (stopped === null && process.env.TEST_SERIAL === "1") {
  await underNode();
  if (stopped === null) await underDeno(false);
} else if (stopped === null) {
  await Promise.all([underNode(), underDeno(true)]);
}

if (stopped !== null) {
  console.log(`\nnpm test: stopped by ${stopped}`);
  process.exit(130);
}
console.log(`\nall runtimes:`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
