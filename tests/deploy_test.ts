/**
 * The files of deploy/ (docs/DEPLOY.md) stay true to the code: every
 * `distchat_…` metric the alert rules use is one a real server's /metrics
 * exports, and the systemd unit's command line is one server.ts accepts.
 * (`systemd-analyze verify` and `promtool check rules` check their syntax:
 * docs/DEPLOY.md says how; neither is needed to run this test.)
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseServerFlags } from "../lib/config/server_flags.ts";
import { makeCluster, removeTempDirs, ROOT, startServer, tempDir } from "../testing/harness.ts";

const deploy = (f: string) => readFileSync(join(ROOT, "deploy", f), "utf8");

test.after(() => removeTempDirs());

test("every metric of deploy/distchat-alerts.yml is exported by /metrics", async () => {
  const { file } = await makeCluster(["a", "b"], tempDir("distchat-deploy-"), { web: "http" });
  // b stays down: a exports its peer gauges for b.
  const a = await startServer({ id: "a", servers: file });
  try {
    const r = await fetch(`${a.web}/metrics`);
    assert.is(r.status, 200);
    const text = await r.text();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((m) => m[1]));
    const samples = new Set([...text.matchAll(/^(distchat_\w+?)(?:\{|\s)/gm)].map((m) => m[1]));
    const used = new Set([...deploy("distchat-alerts.yml").matchAll(/\bdistchat_\w+/g)].map((m) => m[0]));
    assert.ok(used.size >= 6, [...used].join(" "));
    for (const name of used) {
      const family = name.replace(/_(bucket|sum|count)$/, "");
      assert.ok(families.has(name) || (families.has(family) && samples.has(name)), `${name} is not exported:\n${[...families].join("\n")}`);
    }
  } finally {
    await a.stop();
  }
});

test("the systemd unit's command line is one server.ts accepts", () => {
  const unit = deploy("distchat@.service").replace(/\\\n\s*/g, " ");
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1].trim().split(/\s+/);
  const args = exec.slice(exec.indexOf("server.ts") + 1).filter((a) => a !== "$DISTCHAT_FLAGS").map((a) => a.replace("%i", "a"));
  const f = parseServerFlags(args);
  assert.is(f.id, "a");
  assert.is(f.db, "/var/lib/distchat/a.sqlite");
  assert.is(f.logFormat, "journal");
  assert.match(unit, /^StateDirectory=distchat$/m);
});

test.run();
