/**
 * The test runner: loads every tests/*_test.ts (or those whose names contain
 * one of the arguments) as uvu suites, runs them in order, and ends with the
 * line `N passed, N failed`. Runs the same under Node and Deno.
 *
 *   node tests/run.ts [filter...]
 *   deno run -A tests/run.ts [filter...]
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runtimeName } from "../lib/platform/runtime.ts";

type SuiteRun = () => Promise<[string | true, number, number, number]>;
const g = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: (string | SuiteRun)[][]; UVU_INDEX: number };
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];

/** The whole run may take at most this long before it is called failed. */
const DEADLINE_MS = Number(process.env.TEST_DEADLINE_MS ?? 20 * 60_000);

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith("_test.ts") && !f.startsWith("_"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const deadline = setTimeout(() => {
  console.log(`\nTest run exceeded ${DEADLINE_MS} ms; stopping.\n0 passed, 1 failed`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref?.();

const started = Date.now();
let passed = 0, failed = 0, skipped = 0;
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
for (const group of g.UVU_QUEUE) {
  const name = group.shift() as string;
  process.stdout.write(`\n${name}\n`);
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
