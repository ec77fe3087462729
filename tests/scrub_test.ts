/**
 * Scrubbing (lib/store/scrub.ts, issue 20 row 13): text the retention limit
 * expunges leaves every file of the database — the `.sqlite` (deleted cells
 * and freed pages zeroed) and the `-wal` (truncated by the checkpoint worker
 * after the commit) — while the server runs. In process, on real files with
 * the real worker; then a real server whose clock the test moves two hours
 * on (libfaketime) after its messages were sent.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { statSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Store } from "../lib/store/store.ts";
import { startCheckpointer } from "../lib/store/checkpointer.ts";
import { lines, parsePoll, removeTempDirs, startServer, tempDir, udpClient } from "../testing/harness.ts";
import { add, enter, login, tag, within } from "../testing/cluster_ops.ts";
import { movableClock } from "../testing/movable_clock.ts";
import { textsInDb } from "../testing/db_files.ts";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const SESSION = "6".repeat(64);

test.after(removeTempDirs);

test("after a sweep that expunged messages, a scrub leaves their text in no file; the kept ones stay", async () => {
  const path = join(tempDir("distchat-scrub-"), "a.sqlite");
  const store = Store.open(path, "a", { sync: "normal", retention: { maxAgeMs: 0, maxPerRoom: 5 } });
  const cp = startCheckpointer(store, path, () => {}, 20);
  try {
    store.begin();
    store.appendLocal({ kind: "login", session: SESSION, userName: "ann", ttl: 300 }, T0 - 3 * HOUR);
    store.appendLocal({ kind: "open", session: SESSION, groupName: "r" }, T0 - 3 * HOUR);
    store.commit();
    // Unique texts, some long enough for overflow pages; one commit each, so the log holds many frames.
    const texts = Array.from({ length: 40 }, (_, i) => `secret-${String(i).padStart(3, "0")}-${i % 4 === 0 ? "x".repeat(1990) : "short"}`);
    const markers = texts.map((t) => t.slice(0, 10));
    texts.forEach((msg, i) => {
      store.begin();
      store.appendLocal({ kind: "msg", session: SESSION, tag: `t${i}`, groupName: "r", userName: "ann", msg }, T0 - 3 * HOUR + i);
      store.commit();
    });
    await new Promise((r) => setTimeout(r, 100)); // passive checkpoints copy the log; they never clear it
    store.begin();
    assert.is(store.retention.sweep(T0, 1000), 35);
    store.commit();
    const gone = markers.slice(0, 35), kept = markers.slice(35);
    assert.ok(textsInDb(path, gone).length > 0, "before the scrub, the log still holds expunged text (the issue)");
    assert.ok(store.erasures.take(), "the sweep noted that text was deleted");
    assert.not.ok(store.erasures.take(), "once");
    assert.ok(await cp.scrub(), "scrubbed");
    assert.equal(textsInDb(path, gone), [], "no expunged text in .sqlite, -wal or -shm");
    assert.equal(textsInDb(path, kept), kept, "the kept messages are there (the check reads the files)");
    assert.is(statSync(`${path}-wal`).size, 0, "the log is truncated");
    // The server goes on writing after a scrub.
    store.begin();
    store.appendLocal({ kind: "msg", session: SESSION, tag: "late", groupName: "r", userName: "ann", msg: "after-scrub" }, T0);
    store.commit();
    assert.equal(textsInDb(path, ["after-scrub"]), ["after-scrub"]);
  } finally {
    await cp.stop();
    store.close();
  }
});

test("a scrub asked while the server's transaction is open waits for it; with the worker stopped, the server's own connection scrubs", async () => {
  const path = join(tempDir("distchat-scrub-"), "a.sqlite");
  const store = Store.open(path, "a", { sync: "normal" });
  const cp = startCheckpointer(store, path, () => {}, 20);
  store.begin();
  store.appendLocal({ kind: "login", session: SESSION, userName: "ann", ttl: 300 }, T0);
  const pending = cp.scrub(); // the open transaction holds the write lock: the worker waits, then retries
  await new Promise((r) => setTimeout(r, 300));
  store.commit();
  assert.ok(await pending);
  assert.is(statSync(`${path}-wal`).size, 0);
  await cp.stop();
  store.begin();
  store.appendLocal({ kind: "logout", session: SESSION }, T0);
  store.commit();
  assert.ok(statSync(`${path}-wal`).size > 0);
  assert.ok(await cp.scrub(), "scrubbed by the server's connection");
  assert.is(statSync(`${path}-wal`).size, 0);
  store.close();
});

test("a scrub that a reader holds up is retried every turn until it can, and logged while held up", async () => {
  const path = join(tempDir("distchat-scrub-"), "a.sqlite");
  const store = Store.open(path, "a", { sync: "normal" });
  const logged: string[] = [];
  const cp = startCheckpointer(store, path, (line) => logged.push(line), 20, 200);
  const reader = new DatabaseSync(path);
  try {
    store.begin();
    store.db.exec("CREATE TABLE scratch (t TEXT); INSERT INTO scratch VALUES ('held-secret-" + "z".repeat(500) + "')");
    store.commit();
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) AS n FROM scratch").get(); // a snapshot that still has the text: the log cannot be cut
    store.begin();
    store.db.exec("DELETE FROM scratch");
    store.commit();
    let result: boolean | null = null;
    const pending = cp.scrub().then((r) => (result = r));
    const stuck = await within(5_000, async () => logged.some((l) => l.includes("not truncated yet")), 50);
    assert.ok(stuck !== null, `a held-up scrub is logged: ${logged.join(" | ")}`);
    assert.is(result, null, "not done while the reader holds the log");
    assert.equal(textsInDb(path, ["held-secret"]), ["held-secret"], "still in the log (the check reads it)");
    reader.exec("COMMIT");
    assert.ok(await pending, "done once the reader ended");
    assert.equal(textsInDb(path, ["held-secret"]), []);
  } finally {
    reader.close();
    await cp.stop();
    store.close();
  }
});

test("row 13, a real server: after retention expunges messages, their text is in none of its files while it runs", async () => {
  const dir = tempDir("distchat-scrub-");
  const clock = movableClock(dir);
  const srv = await startServer({ id: "a", db: join(dir, "a.sqlite"), wrap: clock.wrap, extraArgs: ["--retain-messages", "5", "--session-ttl", "100000"] });
  const u = await udpClient();
  try {
    const ann = await login(u, srv.clientAddr, "ann");
    await enter(u, srv.clientAddr, ann, "r");
    const texts = Array.from({ length: 30 }, (_, i) => `expunge-me-${String(i).padStart(3, "0")} ${i % 5 === 0 ? "y".repeat(1900) : ""}`);
    for (const t of texts) await add(u, srv.clientAddr, ann, "r", t);
    const markers = texts.map((t) => t.slice(0, 14));
    const gone = markers.slice(0, 25), kept = markers.slice(25);
    assert.equal(textsInDb(srv.db, markers), markers, "every text is on disk");
    clock.move("+2h"); // the 30 messages are two hours old: all but the newest 5 go
    const clean = await within(15_000, async () => textsInDb(srv.db, gone).length === 0, 200);
    assert.ok(clean !== null, `still in the files: ${textsInDb(srv.db, gone).join(", ")}`);
    assert.equal(textsInDb(srv.db, kept), kept, "the 5 kept are there (the check reads the files)");
    const listed = parsePoll(await u.request(srv.clientAddr, lines("request", tag(), ann, "r", "0"), 5000)).entries.map((e) => e.msg.slice(0, 14));
    assert.equal(listed, kept);
    assert.is(srv.stderr().match(/background checkpoints stopped/), null);
  } finally {
    await u.close();
    await srv.stop();
  }
});

test.run();
