/**
 * A server without a working database must not serve (ARCHITECTURE.md
 * "Durability and acks"): it cannot start on a bad database, and exits
 * non-zero, without acking, when its file is removed or corrupted under it.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, openSync, rmSync, unlinkSync, writeFileSync, writeSync, closeSync, fstatSync } from "node:fs";
import { join } from "node:path";
import {
  lines,
  makeCluster,
  removeTempDirs,
  runServerToExit,
  type ServerHandle,
  startServer,
  tempDir,
  udpClient,
} from "../testing/harness.ts";

const started: ServerHandle[] = [];
test.after(async () => {
  await Promise.all(started.map((s) => s.stop()));
  removeTempDirs();
});

test("cannot open: --db is a directory, or a file that is not a database", async () => {
  const dir = tempDir();
  const { file } = await makeCluster(["a"], dir);
  const asDir = join(dir, "db-dir");
  mkdirSync(asDir);
  const r1 = await runServerToExit(["--id", "a", "--servers", file, "--db", asDir]);
  assert.ok(!r1.timedOut && r1.code !== 0, `exit ${r1.code}`);
  assert.is(r1.stderr.trim().split("\n").length, 1, r1.stderr);
  assert.match(r1.stderr, /database/i);
  assert.not.match(r1.stdout, /clients/);

  const garbage = join(dir, "garbage.sqlite");
  writeFileSync(garbage, "this is not a database\n".repeat(400));
  const r2 = await runServerToExit(["--id", "a", "--servers", file, "--db", garbage]);
  assert.ok(!r2.timedOut && r2.code !== 0, `exit ${r2.code}`);
  assert.is(r2.stderr.trim().split("\n").length, 1, r2.stderr);
  assert.match(r2.stderr, /Cannot open database .*garbage\.sqlite/);
});

/** Starts a server with a member session, breaks its file, sends an add; it must exit non-zero without acking. */
async function breakAndAdd(breakIt: (db: string) => void): Promise<void> {
  const srv = await startServer({ id: "a" });
  started.push(srv);
  const c = await udpClient();
  try {
    const token = (await c.request(srv.clientAddr, lines("login", "1", "victim"))).split("\n")[4];
    assert.ok((await c.request(srv.clientAddr, lines("open", "2", token, "r"))).startsWith("ok"));
    breakIt(srv.db);
    c.send(srv.clientAddr, lines("add", "3", token, "must not be acked", "r"));
    const reply = await c.next(3000);
    assert.ok(reply === null || !reply.text.startsWith("ok"), `acked: ${reply?.text}`);
    const exit = await Promise.race([srv.exited, new Promise((r) => setTimeout(() => r(null), 15_000))]);
    assert.ok(exit, "server exited");
    assert.ok((exit as { code: number | null }).code !== 0, `exit ${JSON.stringify(exit)}`);
    assert.match(srv.stderr(), /database/);
    assert.is(srv.stderr().trim().split("\n").length, 1, srv.stderr());
  } finally {
    await c.close();
  }
}

test("database file removed while running: exits non-zero, no ack", async () => {
  await breakAndAdd((db) => {
    unlinkSync(db);
    rmSync(`${db}-wal`, { force: true });
  });
});

test("database file overwritten with garbage while running: exits non-zero, no ack", async () => {
  await breakAndAdd((db) => {
    const fd = openSync(db, "r+");
    const size = Math.max(4096, fstatSync(fd).size);
    writeSync(fd, new Uint8Array(size).fill(0x5a), 0, size, 0);
    closeSync(fd);
  });
});

test.run();
