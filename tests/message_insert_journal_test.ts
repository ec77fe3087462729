/**
 * A message's INSERT must open no statement journal, even should a trigger
 * make it write a second table (the kept count's did: lib/store/kept_counts.ts;
 * lib/store/_messages_sql.ts, INSERT OR FAIL): a statement that
 * does opens a savepoint of every virtual table in the transaction, and
 * FTS5 then writes its pending words to the file as a segment of their own
 * (docs/PERFORMANCE_NOTES.md §2, "addrate"). Seen here as the search
 * index's segment rows: words indexed in a transaction stay in memory
 * through the messages stored after them, until the commit.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import type { Op } from "../lib/wire/messages.ts";
import { Store } from "../lib/store/store.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

const T0 = 1_700_000_000_000;
test.after(() => removeTempDirs());

const segments = (s: Store) => (s.db.prepare("SELECT count(*) AS n FROM search_data").get() as { n: number }).n;

test("messages stored after words were indexed in the same transaction leave the index's words in memory until the commit", () => {
  const s = Store.open(join(tempDir("distchat-journal-"), "b.sqlite"), "b", { sync: "normal" });
  const at = (seq: number) => ({ origin: "a", seq, deps: fromEntries([]), at: T0 + seq });
  const msg = (seq: number): Op => ({ ...at(seq), session: "sa", kind: "msg", tag: `t${seq}`, groupName: "lobby", userName: "al", msg: `words of message ${seq}` });
  s.begin();
  s.applyRemote({ ...at(1), session: "sa", kind: "login", userName: "al", ttl: 60 });
  s.applyRemote({ ...at(2), session: "sa", kind: "open", groupName: "lobby" });
  for (let n = 3; n < 13; n++) s.applyRemote(msg(n));
  s.commit();
  const before = segments(s);
  s.begin();
  assert.is(s.messages.indexPending(100), 10);
  for (let n = 13; n < 23; n++) s.applyRemote(msg(n)); // each one an INSERT into messages, with its trigger
  assert.is(segments(s), before, "no segment written before the commit");
  s.commit();
  assert.ok(segments(s) > before, "the commit writes the words");
  assert.is(s.messages.count(), 20);
  s.close();
});

test.run();
