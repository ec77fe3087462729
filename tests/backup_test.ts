/**
 * `npm run backup` (scripts/backup.ts, lib/store/backup.ts): a consistent
 * copy of a running server's database while clients write, and the
 * restore of docs/OPERATIONS.md "Backups and restores": a server started
 * on the copy writes under a new incarnation even with no peer to ask (a
 * one-server cluster), so no op id is reused; the next restart keeps that
 * incarnation. Bad input changes nothing.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { scriptCommand } from "../lib/platform/runtime.ts";
import { add, enter, login, readAll } from "../testing/cluster_ops.ts";
import { makeCluster, removeTempDirs, ROOT, type ServerHandle, startServer, tempDir, type UdpClient, udpClient } from "../testing/harness.ts";

let u: UdpClient;
const running = new Set<ServerHandle>();

/** Runs `npm run backup -- ARGS` to its exit (at most 30 s). */
function backup(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...rest] = scriptCommand(join(ROOT, "scripts/backup.ts"), args);
  return new Promise((resolve) => {
    execFile(cmd, rest, { cwd: ROOT, timeout: 30_000, encoding: "utf8" }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, stdout, stderr });
    });
  });
}

async function start(servers: string, db: string): Promise<ServerHandle> {
  const s = await startServer({ id: "a", servers, db });
  running.add(s);
  return s;
}

async function stop(s: ServerHandle): Promise<void> {
  await s.stop();
  running.delete(s);
}

test.before(async () => {
  u = await udpClient();
});

test.after(async () => {
  for (const s of running) await s.stop();
  await u.close();
  removeTempDirs();
});

test("a backup taken while clients write is consistent; restored, the server writes under a new incarnation", async () => {
  const dir = tempDir("distchat-backup-");
  const { file } = await makeCluster(["a"], dir);
  const db = join(dir, "a.sqlite");
  let a = await start(file, db);
  const alice = await login(u, a.clientAddr, "alice");
  await enter(u, a.clientAddr, alice, "r");
  const acked = new Map<string, string>();
  const write = async (text: string) => acked.set(await add(u, a.clientAddr, alice, "r", text), text);
  for (let i = 0; i < 5; i++) await write(`before-${i}`);
  const out = join(dir, "a-backup.sqlite");
  // Adds go on while the backup copies (bounded: 30 adds).
  const copying = backup("--id", "a", "--db", db, "--out", out);
  let during = 0;
  let done = false;
  void copying.then(() => (done = true));
  while (!done && during < 30) await write(`during-${during++}`);
  const r = await copying;
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /backup: wrote .*a-backup\.sqlite \(\d+ ops, origin a\) and .*a-backup\.sqlite\.key/);
  const copy = new DatabaseSync(out, { readOnly: true });
  assert.is((copy.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check, "ok");
  const inCopy = (copy.prepare("SELECT count(*) AS n FROM messages").get() as { n: number }).n;
  assert.match((copy.prepare("SELECT v FROM meta WHERE k = 'backup'").get() as { v: string }).v, /^a at \d{4}-/);
  copy.close();
  assert.ok(inCopy >= 5 && inCopy <= 5 + during, `${inCopy} messages in the copy, ${5 + during} written`);
  console.log(`    backup taken while ${during} adds were acked: ${inCopy} of ${5 + during} messages in the copy`);
  await write("after-backup");
  // Restore (docs/OPERATIONS.md): stop, remove the database's files, put the copy and its key in place, start.
  await stop(a);
  for (const s of ["", "-wal", "-shm", ".hwm", ".key"]) rmSync(`${db}${s}`, { force: true });
  copyFileSync(out, db);
  copyFileSync(`${out}.key`, `${db}.key`);
  a = await start(file, db);
  assert.match(a.stderr(), /new incarnation (a~\S+): the database is a restored backup/);
  const origin = /, origin ([^\s,]+)/.exec(a.stdout())![1];
  assert.match(origin, /^a~/);
  const next = await add(u, a.clientAddr, alice, "r", "restored-0");
  assert.ok(next.startsWith(`${origin}.`), next);
  const listed = await readAll(u, a.clientAddr, alice, "r");
  assert.is(new Set(listed.ids).size, listed.ids.length, "no id twice");
  for (const [i, id] of listed.ids.entries()) if (acked.has(id)) assert.is(listed.msgs[i], acked.get(id), `${id} names one op`);
  // The mark is gone: the next restart keeps the incarnation.
  await stop(a);
  a = await start(file, db);
  assert.not.match(a.stderr(), /new incarnation/);
  assert.ok(a.stdout().includes(`, origin ${origin},`), a.stdout());
});

test("bad input: an existing --out, a missing database, missing flags; nothing is written", async () => {
  const dir = tempDir("distchat-backup-");
  const out = join(dir, "taken.sqlite");
  writeFileSync(out, "mine");
  const db = join(dir, "a.sqlite");
  const exists = await backup("--id", "a", "--db", db, "--out", out);
  assert.is(exists.code, 1);
  assert.match(exists.stderr, /no database at/);
  writeFileSync(db, "");
  const taken = await backup("--id", "a", "--db", db, "--out", out);
  assert.is(taken.code, 1);
  assert.match(taken.stderr, /taken\.sqlite exists: give a new file/);
  assert.is(readFileSync(out, "utf8"), "mine");
  assert.is((await backup("--id", "a")).code, 2);
  assert.is((await backup("--id", "no such", "--out", join(dir, "x"))).code, 2);
  assert.not.ok(existsSync(join(dir, "x")));
});

test.run();
