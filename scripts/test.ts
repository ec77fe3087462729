/**
 * `npm test`: checks the generated parser is fresh, type-checks, then runs
 * the whole suite under Node and under Deno, and ends with one line
 * `N passed, N failed` adding both up. Extra arguments filter test files.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ensurePackages } from "./system_packages.ts";

const bin = (name: string) => join("node_modules", ".bin", name);
const filters = process.argv.slice(2);
let passed = 0, failed = 0;

function step(title: string, cmd: string, args: string[]): string {
  console.log(`\n=== ${title}: ${[cmd, ...args].join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 1 << 28 });
  process.stdout.write(r.stdout ?? "");
  const m = /^(\d+) passed, (\d+) failed/m.exec([...(r.stdout ?? "").matchAll(/^\d+ passed, \d+ failed.*$/gm)].at(-1)?.[0] ?? "");
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  if (r.status !== 0 && (!m || Number(m[2]) === 0)) failed++; // a step that failed without counting
  return r.stdout ?? "";
}

ensurePackages();
step("generated parser", process.execPath, ["scripts/check_gen.ts"]);
const checked = ["server.ts", "client.ts", "lib", "testing", "tests", "scripts", "bench"].filter((f) => existsSync(f));
step("type check", bin("deno"), ["check", "--quiet", ...checked]);
step("tests under Node", process.execPath, ["tests/run.ts", ...filters]);
step("tests under Deno", bin("deno"), ["run", "-A", "tests/run.ts", ...filters]);

console.log(`\nall runtimes:`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
