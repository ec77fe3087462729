/**
 * The server's writes wait for a write lock that the checkpoint worker
 * holds (a TRUNCATE checkpoint after a deletion: lib/store/scrub.ts) instead
 * of failing, even when the transaction read before it wrote: a deferred
 * BEGIN that read first is not retried by SQLite's busy handler, fails with
 * "database is locked", and a failed write stops the server — it did, under
 * load, right after a deletion, leaving the deleted text in its `-wal`.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { Store } from "../lib/store/store.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";
import { holdWriteLock } from "../testing/lock_holder.ts";

const T0 = 1_700_000_000_000;
const SESSION = "7".repeat(64);

test.after(removeTempDirs);

test("a transaction that reads, then writes, waits for another connection's write lock and commits", async () => {
  const path = join(tempDir("distchat-wait-"), "a.sqlite");
  const store = Store.open(path, "a", { sync: "normal" });
  try {
    store.begin();
    store.appendLocal({ kind: "login", session: SESSION, userName: "ann", ttl: 300 }, T0);
    store.appendLocal({ kind: "open", session: SESSION, groupName: "r" }, T0);
    store.commit();
    const holder = holdWriteLock(path, 300);
    await holder.locked;
    let error = "";
    try {
      store.begin();
      store.db.prepare("SELECT count(*) AS n FROM ops").get(); // a read first: the snapshot is taken
      store.appendLocal({ kind: "msg", session: SESSION, tag: "t1", groupName: "r", userName: "ann", msg: "after the lock" }, T0 + 1);
      store.commit();
    } catch (e) {
      error = (e as Error).message;
    }
    await holder.released;
    assert.is(error, "", "the write waited for the lock");
    const n = store.db.prepare("SELECT count(*) AS n FROM ops WHERE msg = 'after the lock'").get() as { n: number };
    assert.is(n.n, 1, "the message was stored");
  } finally {
    store.close();
  }
});

test.run();
