/**
 * `npm start` (scripts/demo.ts) when its cluster already runs: it starts
 * nothing, exits 1, and names each process holding the servers file's
 * addresses with its whole command line (not cut at 80 characters); with
 * `--servers FILE` it checks that file's cluster.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { makeCluster, removeTempDirs, ROOT, startServer } from "../testing/harness.ts";
import { startProcess } from "../testing/processes.ts";
import { scriptCommand } from "../lib/platform/runtime.ts";

test("npm start -- --servers FILE while that cluster runs: exit 1, the holders' whole command lines, how to open only a client", async () => {
  const { file } = await makeCluster(["a"]);
  const srv = await startServer({ id: "a", servers: file });
  try {
    const p = startProcess(scriptCommand(join(ROOT, "scripts/demo.ts"), ["--servers", file, "--user", "zed"]), { cwd: ROOT });
    const exit = await p.exited;
    assert.is(exit.code, 1, p.stderr());
    const err = p.stderr();
    assert.match(err, /the addresses of \S+servers\.txt are in use, so a cluster is probably running already/);
    assert.match(err, /server a's client address 127\.0\.0\.1:\d+ \(process \d+: .*server\.ts --id a --servers \S+ --db \S+ .*--insecure-peers\)/, "the whole command line");
    assert.match(err, new RegExp(`npm run client -- --user NAME --servers ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} --room lobby`));
    assert.not.match(p.stdout(), /Starting/);
  } finally {
    await srv.stop();
    removeTempDirs();
  }
});

test.run();
