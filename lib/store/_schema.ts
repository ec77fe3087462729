/**
 * The SQLite schema of lib/store/store.ts and how a database is opened. Private to
 * the store.
 *
 * - `ops`: the operation log; rowid = local application order (causal).
 * - `sessions`, `rooms`, `members`, `messages`: tables derived from the log.
 * - `replies`: answers of state-changing requests, for retransmissions.
 *
 * Keys of names are case-folded (`lower()`); `ksum`/`korigin` hold the
 * conflict key `(sum(VT), origin)` of the op that set a row (ARCHITECTURE.md).
 */
import { closeSync, existsSync, openSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { eraseOnDelete } from "./scrub.ts";
import { ACTS_DDL } from "./message_acts.ts";

export const SCHEMA_VERSION = 6;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ops (
  aseq INTEGER PRIMARY KEY,
  origin TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  deps TEXT NOT NULL,
  at INTEGER NOT NULL,
  session TEXT NOT NULL,
  room TEXT,
  user TEXT,
  tag TEXT,
  msg TEXT,
  ttl INTEGER,
  -- msg: the confirmer named by the origin; hide, act: the target message's "origin.seq"; mod: the target name
  conf TEXT,
  -- msg: the message it replies to ("origin.seq")
  re TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS ops_id ON ops (origin, seq);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  ukey TEXT NOT NULL,
  ttl INTEGER NOT NULL,
  born INTEGER NOT NULL,
  last_active INTEGER NOT NULL,
  ended INTEGER NOT NULL DEFAULT 0,
  ksum INTEGER NOT NULL,
  korigin TEXT NOT NULL,
  -- full vector timestamp of the login op (what its origin had seen)
  login_vt TEXT NOT NULL DEFAULT '0',
  -- "origin.seq" of every logout op of the session, comma-separated
  logouts TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_ukey ON sessions (ukey) WHERE ended = 0;
CREATE INDEX IF NOT EXISTS sessions_ukey_all ON sessions (ukey);
CREATE TABLE IF NOT EXISTS rooms (
  rkey TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  ksum INTEGER NOT NULL,
  korigin TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
  rkey TEXT NOT NULL,
  session TEXT NOT NULL,
  -- ms after which the session is surely expired (Sessions.expiresBound): who reads live members only
  expires INTEGER NOT NULL DEFAULT 0,
  -- conflict key of the membership's newest join (a kick removes memberships joined before it)
  jsum INTEGER NOT NULL DEFAULT 0,
  jorigin TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (rkey, session)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_session ON members (session);
CREATE INDEX IF NOT EXISTS members_live ON members (rkey, expires);
CREATE TABLE IF NOT EXISTS messages (
  rkey TEXT NOT NULL,
  -- 1: a notice (the row of a join, leave, moderation or act op: docs/PROTOCOL.md "Notices"), listed only to clients
  -- that ask; a room's notices are a key range of their own (lib/store/messages.ts)
  notice INTEGER NOT NULL DEFAULT 0,
  dseq INTEGER NOT NULL,
  origin TEXT NOT NULL,
  seq INTEGER NOT NULL,
  session TEXT NOT NULL,
  tag TEXT NOT NULL,
  hidden INTEGER NOT NULL DEFAULT 0,
  ksum INTEGER NOT NULL,
  -- 1: hidden for good by a hide op of its confirmer (never shown again)
  refused INTEGER NOT NULL DEFAULT 0,
  -- lib/store/message_acts.ts: 1 edited, 2 reacted to
  flags INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (rkey, notice, dseq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_origin ON messages (rkey, notice, origin, seq);
CREATE INDEX IF NOT EXISTS messages_session_tag ON messages (session, tag);
CREATE TABLE IF NOT EXISTS replies (
  k TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replies_at ON replies (at);
-- accounts and moderation are folds of their ops (lib/rules/ledger.ts, lib/rules/moderation.ts)
CREATE INDEX IF NOT EXISTS ops_acct ON ops (lower(user)) WHERE kind = 'acct';
CREATE INDEX IF NOT EXISTS ops_mod ON ops (lower(room)) WHERE kind = 'mod';
CREATE INDEX IF NOT EXISTS ops_open ON ops (lower(room)) WHERE kind = 'open';
-- the registrations ("origin.seq") a session proved its password for, or made
CREATE TABLE IF NOT EXISTS bindings (session TEXT NOT NULL, reg TEXT NOT NULL, PRIMARY KEY (session, reg)) WITHOUT ROWID;
-- direct conversations: each of the two parts of a conversation's room key (lib/server/direct.ts)
CREATE TABLE IF NOT EXISTS dm_parts (part TEXT NOT NULL, rkey TEXT NOT NULL, PRIMARY KEY (part, rkey)) WITHOUT ROWID;
`;

/**
 * Version 1 lacked what the order-independent name rule needs: each login's
 * vector timestamp and each session's logouts (filled in from the op log).
 */
function migrateFrom1(db: DatabaseSync): void {
  db.exec(`
    BEGIN;
    ALTER TABLE sessions ADD COLUMN login_vt TEXT NOT NULL DEFAULT '0';
    ALTER TABLE sessions ADD COLUMN logouts TEXT NOT NULL DEFAULT '';
    UPDATE sessions SET logouts = COALESCE((SELECT group_concat(o.origin || '.' || o.seq) FROM ops o
      WHERE o.kind = 'logout' AND o.session = sessions.id), '');
    UPDATE meta SET v = '2' WHERE k = 'schema';
    COMMIT;
  `);
}

/** Version 2 lacked the confirmer of a message and hide ops (two-disk acks), and members' expiry bound. */
function migrateFrom2(db: DatabaseSync): void {
  db.exec(`
    BEGIN;
    ALTER TABLE ops ADD COLUMN conf TEXT;
    ALTER TABLE messages ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE members ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;
    UPDATE members SET expires = COALESCE((SELECT s.last_active + s.ttl * 1100 + 31000 FROM sessions s WHERE s.id = members.session), 0);
    UPDATE meta SET v = '3' WHERE k = 'schema';
    COMMIT;
  `);
}

/** Version 3 lacked the join key of a membership (kicks) and notices. */
function migrateFrom3(db: DatabaseSync): void {
  db.exec(`
    BEGIN;
    ALTER TABLE members ADD COLUMN jsum INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE members ADD COLUMN jorigin TEXT NOT NULL DEFAULT '';
    ALTER TABLE messages ADD COLUMN notice INTEGER NOT NULL DEFAULT 0;
    UPDATE meta SET v = '4' WHERE k = 'schema';
    COMMIT;
  `);
}

/** Version 4 lacked replies, edits, deletions, reactions and read markers (lib/store/message_acts.ts). */
function migrateFrom4(db: DatabaseSync): void {
  db.exec(`
    BEGIN;
    ALTER TABLE ops ADD COLUMN re TEXT;
    ALTER TABLE messages ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
    UPDATE meta SET v = '5' WHERE k = 'schema';
    COMMIT;
  `);
}

/**
 * Version 5 kept a room's notices under the room key U+0001 || rkey; from 6
 * the `notice` column is part of the key. The table is made anew (its
 * primary key changes) and its indexes come back with DDL.
 */
function migrateFrom5(db: DatabaseSync): void {
  const table = DDL.slice(DDL.indexOf("CREATE TABLE IF NOT EXISTS messages ("), DDL.indexOf("CREATE UNIQUE INDEX IF NOT EXISTS messages_origin"));
  db.exec(`
    BEGIN;
    ${table.replace("IF NOT EXISTS messages (", "messages_v6 (")}
    INSERT INTO messages_v6 (rkey, notice, dseq, origin, seq, session, tag, hidden, ksum, refused, flags)
      SELECT CASE WHEN notice = 1 AND substr(rkey, 1, 1) = char(1) THEN substr(rkey, 2) ELSE rkey END,
        notice, dseq, origin, seq, session, tag, hidden, ksum, refused, flags FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v6 RENAME TO messages;
    UPDATE meta SET v = '6' WHERE k = 'schema';
    COMMIT;
  `);
}

/** How hard a commit waits for the disk: FULL survives power loss, NORMAL a process crash. */
export type SyncMode = "full" | "normal";

/** How long the server's connection waits for a lock held by the checkpoint worker, ms. */
export const WRITE_WAIT_MS = 30_000;

/**
 * Opens (creating if needed) a DistChat database in WAL mode and checks it
 * is one. Throws an Error whose message names the path and the problem.
 */
export function openDatabase(path: string, sync: SyncMode): DatabaseSync {
  let db: DatabaseSync | undefined;
  try {
    // Owner-only: SQLite gives its -wal and -shm files the database file's mode.
    if (path !== ":memory:" && !existsSync(path)) closeSync(openSync(path, "a", 0o600));
    db = new DatabaseSync(path);
    // A write waits for the checkpoint worker rather than failing: a TRUNCATE checkpoint (a scrub, lib/store/scrub.ts)
    // blocks writers while it copies the log, which on a loaded disk took over 2 s, and a failed write stops the server.
    // Only a transaction that takes the lock before it reads waits: Store.begin is BEGIN IMMEDIATE.
    db.exec(`PRAGMA busy_timeout = ${WRITE_WAIT_MS}`);
    const mode = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string };
    if (mode.journal_mode !== "wal") throw new Error(`journal mode is ${mode.journal_mode}, WAL is needed`);
    db.exec(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    db.exec("PRAGMA foreign_keys = OFF");
    eraseOnDelete(db); // deleted text is overwritten in the file, not only unlinked
    const row = db.prepare("SELECT name FROM sqlite_master WHERE name = 'meta'").get()
      ? db.prepare("SELECT v FROM meta WHERE k = 'schema'").get() as { v: string } | undefined
      : undefined;
    if (row?.v === "1") migrateFrom1(db);
    if (row?.v === "1" || row?.v === "2") migrateFrom2(db);
    if (row?.v === "1" || row?.v === "2" || row?.v === "3") migrateFrom3(db);
    if (row?.v === "1" || row?.v === "2" || row?.v === "3" || row?.v === "4") migrateFrom4(db);
    if (row !== undefined && ["1", "2", "3", "4", "5"].includes(row.v)) migrateFrom5(db);
    db.exec(DDL);
    db.exec(ACTS_DDL);
    if (!row) db.prepare("INSERT OR IGNORE INTO meta (k, v) VALUES ('schema', ?)").run(String(SCHEMA_VERSION));
    else if (!["1", "2", "3", "4", "5", String(SCHEMA_VERSION)].includes(row.v)) {
      throw new Error(`schema version ${row.v}, expected ${SCHEMA_VERSION}`);
    }
    return db;
  } catch (e) {
    try {
      db?.close();
    } catch { /* already broken */ }
    throw new Error(`Cannot open database ${path}: ${(e as Error).message}`);
  }
}
