/**
 * The variants bench/op_sql.ts times: the schema as it is, each secondary
 * index dropped in turn, each table alone, candidate leaner layouts, and
 * the catch-up bench's SQLite anchor. Each runs on a fresh database made by
 * lib/store/_schema.ts `openDatabase`.
 */
import type { DatabaseSync } from "node:sqlite";
import { OPS_INSERT } from "../lib/store/op_log.ts";
import { messageStatements } from "../lib/store/_messages_sql.ts";
import { keptCount } from "../lib/store/kept_counts.ts";

/** The values of one message op, made before the clock starts. */
export type OpValues = {
  origin: string;
  seq: number;
  deps: string;
  at: number;
  session: string;
  room: string;
  rkey: string;
  user: string;
  tag: string;
  msg: string;
  conf: string;
  ksum: number;
};

/**
 * One variant: SQL (or a function) run after the database is made, which statements run
 * (ops INSERT, twin look-up, messages INSERT; all by default), or a whole
 * step of its own (`prepare`), and its own transaction size.
 */
export type Variant = {
  name: string;
  about: string;
  setup?: string | ((db: DatabaseSync) => void);
  ops?: boolean;
  messages?: boolean;
  twin?: boolean;
  batch?: number;
  prepare?: (db: DatabaseSync) => (o: OpValues, n: number) => void;
};

/** A 53-bit FNV-1a-like hash of session and tag (what an INTEGER key of (session, tag) would hold). */
export function sessionTagHash(session: string, tag: string): number {
  let h = 0x811c9dc5, l = 0;
  const s = `${session}\n${tag}`;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    l = Math.imul(l ^ s.charCodeAt(i), 0x5bd1e995) >>> 0;
  }
  return (l & 0x1fffff) * 0x100000000 + h;
}

const OPS_PARTIAL = "DROP INDEX ops_acct; DROP INDEX ops_mod; DROP INDEX ops_open;";

/** Every variant, in the order they run in a round. */
export const OP_SQL_VARIANTS: Variant[] = [
  { name: "anchor", about: "the catch-up anchor: a 3-column row, no secondary index, 100 rows/commit", batch: 100, prepare: anchor },
  { name: "anchor1000", about: "the same anchor at 1,000 rows/commit", batch: 1000, prepare: anchor },
  { name: "full", about: "ops INSERT + twin look-up + messages INSERT, the schema as it is" },
  {
    name: "kept_trigger",
    about: "full, with the visible messages' count kept by a TEMP trigger per inserted row (as before §3e) instead of noted by the writer",
    setup: (db) => void keptCount(db, "messages", (row) => `${row}.hidden = 0 AND ${row}.notice = 0`),
  },
  { name: "-ops_id", about: "full without ops_id (origin, seq)", setup: "DROP INDEX ops_id;" },
  { name: "-ops_partial", about: "full without ops_acct, ops_mod, ops_open (partial: no entry for a message)", setup: OPS_PARTIAL },
  { name: "-messages_origin", about: "full without messages_origin (rkey, notice, origin, seq)", setup: "DROP INDEX messages_origin;" },
  { name: "-session_tag", about: "full without messages_session_tag and without the twin look-up", setup: "DROP INDEX messages_session_tag;", twin: false },
  { name: "-twin", about: "full without the twin look-up (a SELECT by (session, tag))", twin: false },
  { name: "ops", about: "the ops INSERT alone (messages untouched)", messages: false },
  { name: "ops_bare", about: "the ops INSERT alone into a table with no secondary index", messages: false, setup: `DROP INDEX ops_id; ${OPS_PARTIAL}` },
  { name: "messages", about: "twin look-up + messages INSERT alone (no ops row)", ops: false },
  {
    name: "messages_bare",
    about: "messages INSERT alone into its key (rkey, notice, dseq), no secondary index, no look-up",
    ops: false,
    twin: false,
    setup: "DROP INDEX messages_origin; DROP INDEX messages_session_tag;",
  },
  {
    name: "stag_hash",
    about: "full, with (session, tag) indexed as one INTEGER hash (checked against the row) instead of messages_session_tag",
    setup: "DROP INDEX messages_session_tag; ALTER TABLE messages ADD COLUMN stag INTEGER NOT NULL DEFAULT 0; CREATE INDEX messages_stag ON messages (stag);",
    prepare: hashed,
  },
  {
    name: "stag_prefix",
    about: "full, with messages_session_tag on (substr(session, 1, 12), tag) instead of (session, tag); the look-up also checks session",
    setup: "DROP INDEX messages_session_tag; CREATE INDEX messages_stag ON messages (substr(session, 1, 12), tag);",
    prepare: prefixed,
  },
  {
    name: "messages_rowid",
    about: "full, with messages a rowid table (its key (rkey, notice, dseq) then a unique index of its own) instead of WITHOUT ROWID",
    setup: withRowid,
  },
];

/** Makes `messages` again from its own DDL without WITHOUT ROWID, with its indexes. */
function withRowid(db: DatabaseSync): void {
  const sql = (db.prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'messages' AND sql IS NOT NULL").all() as { sql: string }[]).map((r) => r.sql);
  db.exec("DROP TABLE messages");
  for (const s of sql) db.exec(s.replace(/\)\s*WITHOUT ROWID\s*$/, ")"));
  const left = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'messages' AND sql LIKE '%WITHOUT ROWID%'").get();
  if (left) throw new Error("messages is still WITHOUT ROWID");
}

function prefixed(db: DatabaseSync): (o: OpValues) => void {
  const ops = db.prepare(OPS_INSERT);
  const twin = db.prepare("SELECT rkey, dseq, origin, ksum FROM messages WHERE substr(session, 1, 12) = substr(?1, 1, 12) AND tag = ?2 AND session = ?1 AND hidden = 0");
  const insert = messageStatements(db).insert;
  return (o) => {
    const dseq = Number(ops.run(o.origin, o.seq, "msg", o.deps, o.at, o.session, o.room, o.user, o.tag, o.msg, null, o.conf, null).lastInsertRowid);
    twin.get(o.session, o.tag);
    insert.run(o.rkey, dseq, o.origin, o.seq, o.session, o.tag, 0, o.ksum);
  };
}

function anchor(db: DatabaseSync): (o: OpValues) => void {
  db.exec("CREATE TABLE m (id INTEGER PRIMARY KEY, room TEXT NOT NULL, body TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO m (room, body) VALUES (?, ?)");
  const body = "x".repeat(100);
  return () => insert.run("lobby", body);
}

function hashed(db: DatabaseSync): (o: OpValues) => void {
  const ops = db.prepare(OPS_INSERT);
  const twin = db.prepare("SELECT rkey, dseq, origin, ksum FROM messages WHERE stag = ? AND session = ? AND tag = ? AND hidden = 0");
  const insert = db.prepare("INSERT INTO messages (rkey, dseq, origin, seq, session, tag, hidden, ksum, stag) VALUES (?,?,?,?,?,?,?,?,?)");
  return (o) => {
    const dseq = Number(ops.run(o.origin, o.seq, "msg", o.deps, o.at, o.session, o.room, o.user, o.tag, o.msg, null, o.conf, null).lastInsertRowid);
    const h = sessionTagHash(o.session, o.tag);
    twin.get(h, o.session, o.tag);
    insert.run(o.rkey, dseq, o.origin, o.seq, o.session, o.tag, 0, o.ksum, h);
  };
}
