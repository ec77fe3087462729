/**
 * The test runner: loads every tests/*_test.ts (or those whose names contain
 * one of the arguments) as uvu suites, runs them in order, and ends with the
 * line `N passed, N failed`. Runs the same under Node and Deno. Each file's
 * name is printed as it loads and as it runs. On SIGINT or SIGTERM every
 * server process group the tests started is killed and their temporary
 * directories removed (testing/processes.ts `stopOnSignals`).
 *
 *   node tests/run.ts [filter...]      (--help: the usage)
 *   deno run -A tests/run.ts [filter...]
 *   TEST_ORDER=reverse: the files in reverse order
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runtimeName } from "../lib/platform/runtime.ts";
import { stopOnSignals } from "../testing/processes.ts";
import { removeTempDirs } from "../testing/harness.ts";
import { TEST_USAGE } from "../testing/test_usage.ts";

type SuiteRun = () => Promise<[string | true, number, number, number]>;
const g = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: (string | SuiteRun)[][]; UVU_INDEX: number };
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];

/** The whole run may take at most this long before it is called failed. */
const DEADLINE_MS = Number(process.env.TEST_DEADLINE_MS ?? 20 * 60_000);

/** Where the test files are: tests/ (DISTCHAT_TESTS_DIR: another folder, for the runner's own test, tests/runner_test.ts). */
const here = process.env.DISTCHAT_TESTS_DIR ?? dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
if (filters.includes("--help") || filters.includes("-h")) {
  console.log(TEST_USAGE);
  process.exit(0);
}
stopOnSignals(removeTempDirs);
const files = readdirSync(here)
  .filter((f) => f.endsWith("_test.ts") && !f.startsWith("_"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
// npm test runs Node and Deno at once, Deno in reverse order, so the heaviest files do not coincide.
if (process.env.TEST_ORDER === "reverse") files.reverse();

const deadline = setTimeout(() => {
  console.log(`\nTest run exceeded ${DEADLINE_MS} ms; stopping.\n0 passed, 1 failed`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref?.();

const started = Date.now();
let passed = 0, failed = 0, skipped = 0;
console.log(`${runtimeName()}: ${files.length} test file${files.length === 1 ? "" : "s"}${filters.length ? ` matching ${filters.join(", ")}` : ""}`);
if (files.length === 0) console.log(`no test file's name contains ${filters.join(" or ")} (tests/*_test.ts; --help for the usage)`);
for (const [i, file] of files.entries()) {
  g.UVU_QUEUE.push([file]);
  g.UVU_INDEX = i;
  try {
    await import(pathToFileURL(join(here, file)).href);
  } catch (e) {
    console.log(`\n${file}: failed to load: ${(e as Error).stack ?? e}`);
    failed++;
    g.UVU_QUEUE[i] = [file];
  }
}
for (const [i, group] of g.UVU_QUEUE.entries()) {
  const name = group.shift() as string;
  process.stdout.write(`\n${name} (${i + 1}/${files.length}, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  for (const run of group as SuiteRun[]) {
    const [errors, ran, skip, total] = await run();
    passed += ran;
    failed += total - ran;
    skipped += skip;
    if (errors !== true) process.stdout.write("\n" + errors + "\n");
  }
}
clearTimeout(deadline);
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\n${runtimeName()}: ${files.length} files in ${secs} s`);
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
process.exitCode = failed > 0 ? 1 : 0;
// Sockets or timers a failed test left behind must not keep the run alive.
setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref?.();
