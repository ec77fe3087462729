import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Op } from "../lib/wire/messages.ts";
import { Store } from "../lib/store/store.ts";
import { openDatabase } from "../lib/store/_schema.ts";
import { messageStatements } from "../lib/store/_messages_sql.ts";
import { fromEntries } from "../lib/wire/vector.ts";
import { removeTempDirs, tempDir } from "../testing/harness.ts";

const T0 = 1_700_000_000_000;
test.after(() => removeTempDirs());

/** A database with messages in rooms of mixed-case names from two origins, a hidden twin, a blanked add and notices. */
function filled(): string {
  const path = join(tempDir("distchat-plans-"), "c.sqlite");
  const s = Store.open(path, "c", { sync: "normal" });
  const at = (origin: string, seq: number, deps: [string, number][] = []) => ({ origin, seq, deps: fromEntries(deps), at: T0 + seq });
  const ops: Op[] = [
    { ...at("a", 1), session: "sa", kind: "login", userName: "al", ttl: 60 },
    { ...at("a", 2), session: "sa", kind: "open", groupName: "Lobby" },
    { ...at("a", 3), session: "sa", kind: "open", groupName: "side.ROOM" },
    { ...at("b", 1, [["a", 3]]), session: "sa", kind: "join", groupName: "LOBBY" },
  ];
  for (let i = 0; i < 12; i++) {
    ops.push({ ...at("a", 4 + i), session: "sa", kind: "msg", tag: `t${i}`, groupName: i % 2 ? "Lobby" : "side.ROOM", userName: "al", msg: `m${i}` });
  }
  ops.push({ ...at("b", 2, [["a", 15]]), session: "sa", kind: "msg", tag: "t3", groupName: "lobby", userName: "al", msg: "twin" }); // hidden twin of a.7
  ops.push({ ...at("b", 3, [["a", 15]]), session: "sa", kind: "msg", tag: "gone", groupName: "lobby", userName: "al", msg: "" }); // a tombstone: no row
  s.begin();
  for (const op of ops) s.applyRemote(op);
  s.commit();
  s.close();
  return path;
}

test("no statement a store prepares scans the messages table, but the count of visible messages made once at the start", () => {
  const path = filled();
  const seen = new Set<string>();
  const prepare = DatabaseSync.prototype.prepare;
  DatabaseSync.prototype.prepare = function (this: DatabaseSync, sql: string) {
    seen.add(sql);
    return prepare.call(this, sql);
  } as typeof prepare;
  let s: Store;
  try {
    s = Store.open(path, "c", { sync: "normal" });
  } finally {
    DatabaseSync.prototype.prepare = prepare;
  }
  try {
    for (const st of Object.values(messageStatements(s.db))) seen.add(st.sourceSQL);
    assert.ok(seen.size > 60, `${seen.size} statements`);
    for (const sql of seen) {
      if (/^\s*(PRAGMA|CREATE|BEGIN|COMMIT|ROLLBACK)\b/i.test(sql) || /^INSERT OR REPLACE INTO kept_counts/.test(sql)) continue;
      const plan = (s.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail);
      assert.equal(plan.filter((d) => /^SCAN (messages|m)\b/.test(d)), [], `${sql}: ${plan.join(" | ")}`);
    }
  } finally {
    s.close();
  }
});

test("byId, msgRow and anyDseq find by an op's id the row the id names, as a scan by (origin, seq) does", () => {
  const db = openDatabase(filled(), "normal");
  try {
    const st = messageStatements(db);
    const scan = db.prepare("SELECT m.rkey, m.dseq, m.session, m.tag, m.hidden, o.user FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq " +
      "WHERE m.origin = ? AND m.seq = ? AND m.notice = 0 AND o.kind = 'msg'");
    const ids = db.prepare("SELECT origin, seq FROM ops").all() as { origin: string; seq: number }[];
    assert.ok(ids.length > 15);
    let found = 0;
    for (const { origin, seq } of [...ids, { origin: "a", seq: 99 }, { origin: "z", seq: 1 }]) {
      const want = scan.get(origin, seq) as Record<string, unknown> | undefined;
      if (want) found++;
      const pick = (keys: string[]) => want && Object.fromEntries(keys.map((k) => [k, want[k]]));
      assert.equal(st.byId.get(origin, seq) && { ...st.byId.get(origin, seq) }, pick(["rkey", "dseq", "session", "tag", "hidden"]), `byId ${origin}.${seq}`);
      assert.equal(st.msgRow.get(origin, seq) && { ...st.msgRow.get(origin, seq) }, pick(["rkey", "dseq", "session", "hidden", "user"]), `msgRow ${origin}.${seq}`);
      assert.equal(st.anyDseq.get(origin, seq) && { ...st.anyDseq.get(origin, seq) }, pick(["dseq"]), `anyDseq ${origin}.${seq}`);
    }
    assert.is(found, 13); // 12 messages and the hidden twin; not the tombstone, not the notices
  } finally {
    db.close();
  }
});

test.run();
