/**
 * Multicast fan-out (`--multicast GROUP:PORT`) between three real servers.
 * Multicast on loopback needs a private network namespace, so the scenario
 * (tests/_multicast_scenario.ts) runs under `unshare -rn` with the same
 * runtime. Without unshare the test FAILS with a line saying so: it never
 * passes without having run.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { ROOT } from "../testing/harness.ts";

const SETUP = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec \"$@\"";

test("three servers with --multicast: messages added on each reach all (in a private network namespace)", () => {
  const probe = spawnSync("unshare", ["-rn", "true"], { encoding: "utf8", timeout: 10_000 });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? probe.error.message : (probe.stderr || `exit ${probe.status}`).trim();
    console.log(`    cluster_multicast: cannot create a network namespace (unshare -rn: ${why}); multicast NOT tested`);
    assert.unreachable(`unshare -rn unavailable (${why}): the multicast scenario could not run`);
  }
  const argv = scriptCommand(join(ROOT, "tests", "_multicast_scenario.ts"));
  const r = spawnSync("unshare", ["-rn", "sh", "-c", SETUP, "sh", ...argv], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 90_000,
    killSignal: "SIGKILL",
  });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
  console.log(out.split("\n").filter((l) => /^multicast |^problem/.test(l)).map((l) => `    ${l}`).join("\n"));
  assert.ok(!r.error, `scenario did not run: ${r.error?.message}\n${out}`);
  assert.is(r.status, 0, `scenario failed (exit ${r.status}, signal ${r.signal}):\n${out}`);
});

test.run();
