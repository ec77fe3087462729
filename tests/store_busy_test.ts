/**
 * The server's connection waits for a lock another connection holds instead
 * of failing: a TRUNCATE checkpoint of the checkpoint worker (a scrub) blocks
 * writers while it copies the log, and under load that took over 2 s — the
 * old busy timeout — so a write failed with "database is locked" and the
 * server exited (issue 20 re-run, row 13 under Deno). Here a worker thread
 * holds the write lock for 2.5 s while the main connection writes.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { openDatabase } from "../lib/store/_schema.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

const HOLDER = `
const { DatabaseSync } = require("node:sqlite");
const { parentPort, workerData } = require("node:worker_threads");
const db = new DatabaseSync(workerData.path);
db.exec("BEGIN IMMEDIATE");
parentPort.postMessage("locked");
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
db.exec("COMMIT");
db.close();
parentPort.postMessage("released");
`;

test("a write waits out a lock held longer than 2 s (a checkpoint on a slow disk) instead of failing", async () => {
  const path = join(tempDir("distchat-busy-"), "a.sqlite");
  const db = openDatabase(path, "normal");
  db.exec("CREATE TABLE t (x INTEGER)");
  const worker = new Worker(HOLDER, { eval: true, workerData: { path, holdMs: 2500 } });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
    });
    db.exec("INSERT INTO t VALUES (1)"); // blocks until the worker commits
    const row = db.prepare("SELECT count(*) AS n FROM t").get() as { n: number };
    assert.is(row.n, 1);
  } finally {
    db.close();
    await worker.terminate();
  }
});

test.after(removeTempDirs);
test.run();
