/**
 * The test runner itself (tests/run.ts, scripts/test.ts): `--help` prints
 * the usage (filters, BROWSER_TESTS, CI) and runs nothing; each file's name
 * shows as it runs; SIGINT stops every server process group the tests
 * started and removes their temporary directories (a Ctrl-C must not leave
 * a server behind with parent PID 1).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "../testing/harness.ts";
import { startProcess } from "../testing/processes.ts";
import { scriptCommand } from "../lib/platform/runtime.ts";

/** Whether any process of group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return ok();
}

test("--help prints the usage and runs no test (tests/run.ts and npm test's scripts/test.ts)", async () => {
  for (const script of ["tests/run.ts", "scripts/test.ts"]) {
    const p = startProcess(scriptCommand(join(ROOT, script), ["--help"]), { cwd: ROOT });
    const exit = await p.exited;
    assert.is(exit.code, 0, `${script}: ${p.stderr()}`);
    for (const word of [/usage: npm test -- \[FILTER/, /BROWSER_TESTS=all/, /CI runs/, /Ctrl-C stops the run/]) assert.match(p.stdout(), word, script);
    assert.not.match(p.stdout(), /passed, \d+ failed|=== /, `${script} ran nothing`);
  }
});

test("SIGINT in a test run: the runner kills the servers its tests started and removes their temporary directories", async () => {
  const dir = join(ROOT, "tests", "fixtures", "runner");
  const run = startProcess(scriptCommand(join(ROOT, "tests/run.ts"), ["hold"]), { cwd: ROOT, env: { DISTCHAT_TESTS_DIR: dir } });
  try {
    assert.ok(await until(() => /holding \{/.test(run.stdout()) || run.ended, 30_000), "the held test started its server");
    assert.match(run.stdout(), /hold_test\.ts \(1\/1/, "the file's name shows as it runs");
    const held = JSON.parse(/holding (\{.*\})/.exec(run.stdout())![1]) as { pid: number; dir: string; db: string };
    assert.ok(groupAlive(held.pid), "the server runs");
    assert.ok(existsSync(held.dir) && existsSync(dirname(held.db)));
    process.kill(run.pid, "SIGINT"); // as Ctrl-C reaches the runner
    const exit = await run.exited;
    assert.is(exit.code, 130, run.stderr());
    assert.match(run.stdout(), /SIGINT: stopped \d+ process groups? the tests started/);
    assert.ok(await until(() => !groupAlive(held.pid), 5000), "no process of the server's group is left");
    assert.not.ok(existsSync(held.dir), "its temporary directory is gone");
    assert.not.ok(existsSync(dirname(held.db)), "the server's database directory is gone");
  } finally {
    await run.kill9();
  }
});

test.run();
