/**
 * The SQL of lib/store/messages.ts: how a listed row's sender, text and facts
 * are read from the op log, and every statement the Messages table runs
 * (prepared once per connection). Private to lib/store/.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/**
 * The sender and text of a listed row: a message's own, or a notice's
 * (docs/PROTOCOL.md "Notices"): U+0001, then "join", "leave[ REASON]", "quit[ REASON]", or a
 * moderation op's "ACTION TARGET[ TEXT]"; the sender of a join or leave is
 * its session's user.
 */
export const USER = "COALESCE(o.user, (SELECT s.user FROM sessions s WHERE s.id = o.session), '')";
export const TEXT = "CASE o.kind WHEN 'msg' THEN " +
  "CASE WHEN m.flags & 1 THEN (SELECT eo.msg FROM edits e JOIN ops eo ON eo.origin = e.eorigin AND eo.seq = e.eseq WHERE e.torigin = m.origin AND e.tseq = m.seq) " +
  "ELSE o.msg END " +
  "WHEN 'mod' THEN char(1) || o.tag || ' ' || o.conf || CASE WHEN o.msg = '' THEN '' ELSE ' ' || o.msg END " +
  "WHEN 'act' THEN char(1) || o.tag || ' ' || o.conf " +
  "WHEN 'leave' THEN char(1) || CASE WHEN o.tag = 'quit' THEN 'quit' ELSE 'leave' END || CASE WHEN o.msg IS NULL OR o.msg = '' THEN '' ELSE ' ' || o.msg END " +
  "ELSE char(1) || o.kind END";
/** The columns of a listed row after its text: what `meta` reads. */
export const FACTS = "m.flags, o.re";
/** Messages as `MessageEntry` rows with their `dseq`, their text from the op log (a WHERE clause follows). */
export const ENTRIES_DSEQ = `SELECT m.dseq, m.origin, m.seq, ${USER} AS user, o.at, ${TEXT} AS msg, ${FACTS} FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq`;

/**
 * The message (or notice) row of an op, joined to it by the row's key (rkey, notice, dseq), which the op gives as
 * lower(room), 0 or 1, aseq (lower() folds ASCII letters as nameKey does; names are ASCII). An ON condition on
 * m.notice follows, then a WHERE on o.origin, o.seq: looked up the other way, by `messages_origin`, an id alone (no
 * room) scanned every message (76 ms at 100,000).
 */
export const OP_ROW = "ops o JOIN messages m ON m.rkey = lower(o.room) AND m.dseq = o.aseq AND m.origin = o.origin AND m.seq = o.seq";
const BY_OP = `${OP_ROW} AND m.notice = 0`;

/** The confirmer a row's op names ("" for none, and for notices: a moderation op keeps its target in `conf`). */
export const CONF = "CASE o.kind WHEN 'msg' THEN COALESCE(o.conf, '') ELSE '' END AS conf";

/*
 * Bound limits are written `LIMIT ?N + 0`: SQLite 3.53 prepares a statement
 * whose LIMIT is a bare parameter again at every run (docs/PERFORMANCE_NOTES.md
 * "1."); the expression gives the same plan and rows without it.
 */

/** The statements of the Messages table, by name. */
export type MessageStatements = Record<
  | "visibleByTag" | "hide" | "insert" | "insertNotice" | "addByTag" | "originRange" | "refuse" | "byId" | "bestTwin" | "show" | "bound"
  | "dseqOf" | "newest" | "newestBefore" | "lastOf" | "recentOf" | "visibleTwin" | "setFlag" | "remove" | "msgRow" | "byDseq" | "recentKeys"
  | "anyDseq" | "pendingOps" | "pendingTexts" | "anyByDseq" | "lastOp" | "roomOf" | "lastBefore",
  StatementSync
>;

/** `s`, returning its rows as arrays (aseq, rkey, msg): the two reads of the search index's backlog make no object per row. */
const arrays = (s: StatementSync): StatementSync => (s.setReturnArrays(true), s);

/** Prepares the Messages table's statements on `db`. */
export function messageStatements(db: DatabaseSync): MessageStatements {
  const p = (sql: string) => db.prepare(sql);
return {
    visibleByTag: p("SELECT rkey, dseq, origin, ksum FROM messages WHERE session = ? AND tag = ? AND hidden = 0"),
    hide: p("UPDATE messages SET hidden = 1 WHERE rkey = ? AND notice = 0 AND dseq = ?"),
    // OR FAIL, not the default ABORT: should a trigger make the insert write a second table (the kept count's did; it now
    // notes inserts without one, lib/store/kept_counts.ts), an ABORT statement
    // that writes two tables opens a statement journal (pages copied) and a savepoint of every virtual table in the
    // transaction, which makes FTS5 flush its pending words as a segment (lib/store/search.ts). One VALUES row fails
    // before it writes anything, so FAIL undoes the same; an error that stops the statement midway (disk full, I/O)
    // then rolls back the whole transaction, which the group commit treats as it does any failed write: the server stops.
    insert: p("INSERT OR FAIL INTO messages (rkey, dseq, origin, seq, session, tag, hidden, ksum) VALUES (?,?,?,?,?,?,?,?)"),
    insertNotice: p("INSERT OR IGNORE INTO messages (rkey, notice, dseq, origin, seq, session, tag, hidden, ksum) VALUES (?,1,?,?,?,?,?,0,0)"),
    addByTag: p(
      "SELECT m.rkey, m.origin, m.seq, o.msg, COALESCE(o.conf, '') AS conf FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq " +
        "WHERE m.session = ? AND m.tag = ? AND m.hidden = 0",
    ),
    originRange: p(
      `SELECT m.dseq, m.seq, m.hidden, m.refused, m.session, m.tag, ${USER} AS user, o.at, ${TEXT} AS msg, ${CONF}, ${FACTS} FROM messages m ` +
        "JOIN ops o ON o.origin = m.origin AND o.seq = m.seq WHERE m.rkey = ?1 AND m.notice = ?5 AND m.origin = ?2 AND m.seq > ?3 " +
        "ORDER BY m.seq LIMIT ?4 + 0",
    ),
    dseqOf: p("SELECT dseq FROM messages WHERE rkey = ? AND notice = ? AND origin = ? AND seq = ?"),
    lastOf: p("SELECT max(seq) AS n FROM messages WHERE rkey = ? AND notice = ? AND origin = ?"),
    visibleTwin: p(`SELECT m.origin, m.seq, ${CONF} FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq ` +
      "WHERE m.session = ? AND m.tag = ? AND m.hidden = 0"),
    lastBefore: p("SELECT seq FROM messages WHERE rkey = ?1 AND notice = ?2 AND origin = ?3 AND dseq < ?4 ORDER BY seq DESC LIMIT 1"),
    recentOf: p(`SELECT m.seq, m.dseq, m.hidden, m.refused, m.session, m.tag, ${CONF} FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq ` +
      "WHERE m.rkey = ?1 AND m.notice = 0 AND m.origin = ?2 ORDER BY m.seq DESC LIMIT ?3 + 0"),
    newest: p(`${ENTRIES_DSEQ} WHERE m.rkey = ?1 AND m.notice = ?3 AND m.hidden = 0 ORDER BY m.dseq DESC LIMIT ?2 + 0`),
    newestBefore: p(`${ENTRIES_DSEQ} WHERE m.rkey = ?1 AND m.notice = ?4 AND m.dseq < ?2 AND m.hidden = 0 ORDER BY m.dseq DESC LIMIT ?3 + 0`),
    byId: p(`SELECT m.rkey, m.dseq, m.session, m.tag, m.hidden FROM ${BY_OP} WHERE o.origin = ? AND o.seq = ? AND o.kind = 'msg'`),
    refuse: p("UPDATE messages SET hidden = 1, refused = 1 WHERE rkey = ? AND notice = 0 AND dseq = ?"),
    bestTwin: p("SELECT rkey, dseq FROM messages WHERE session = ? AND tag = ? AND refused = 0 ORDER BY ksum, origin LIMIT 1"),
    show: p("UPDATE messages SET hidden = 0 WHERE rkey = ? AND notice = 0 AND dseq = ?"),
    setFlag: p("UPDATE messages SET flags = flags | ?3 WHERE rkey = ?1 AND notice = 0 AND origin = ?4 AND seq = ?2"),
    remove: p("DELETE FROM messages WHERE rkey = ? AND notice = 0 AND dseq = ?"),
    msgRow: p(`SELECT m.rkey, m.dseq, m.session, m.hidden, o.user FROM ${BY_OP} WHERE o.origin = ? AND o.seq = ? AND o.kind = 'msg'`),
    byDseq: p(`${ENTRIES_DSEQ} WHERE m.rkey = ? AND m.notice = 0 AND m.dseq = ? AND m.hidden = 0`),
    recentKeys: p("SELECT dseq, ksum, origin FROM messages WHERE rkey = ?1 AND notice = 0 AND hidden = 0 ORDER BY dseq DESC LIMIT ?2 + 0"),
    anyDseq: p(`SELECT m.dseq FROM ${BY_OP} WHERE o.origin = ? AND o.seq = ?`),
    // The messages to index after a mark, with their room key and current text in one read (msg null: its row is gone). The row
    // is found by its key (rkey, notice, dseq): SQLite's lower() folds ASCII letters only, as nameKey does (lib/wire/names.ts).
    pendingOps: arrays(p(
      `SELECT o.aseq, lower(o.room) AS rkey, ${TEXT} AS msg FROM ops o LEFT JOIN messages m ON m.rkey = lower(o.room) AND m.notice = 0 AND m.dseq = o.aseq ` +
        "WHERE o.aseq > ?1 AND o.kind = 'msg' AND o.msg <> '' ORDER BY o.aseq LIMIT ?2 + 0",
    )),
    // The same while no message past the mark was edited (lib/store/messages.ts `indexPending`): a message's text is then its
    // op's own (TEXT above takes an edit's only for a row flagged edited), and its row needs no look-up.
    pendingTexts: arrays(p("SELECT o.aseq, lower(o.room) AS rkey, o.msg FROM ops o WHERE o.aseq > ?1 AND o.kind = 'msg' AND o.msg <> '' ORDER BY o.aseq LIMIT ?2 + 0")),
    anyByDseq: p(`SELECT ${TEXT} AS msg FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq WHERE m.rkey = ? AND m.notice = 0 AND m.dseq = ?`),
    lastOp: p("SELECT max(aseq) AS n FROM ops"),
    roomOf: p("SELECT room FROM ops WHERE aseq = ?"),
    bound: p(
      "SELECT m.origin, m.ksum, COALESCE(o.conf, '') AS conf FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq " +
        "WHERE m.session = ?1 AND m.tag = ?2 AND m.refused = 0 " +
        "AND (o.conf = ?3 OR o.origin = ?3 OR substr(o.origin, 1, length(?3) + 1) = ?3 || '~')",
    ),
  };
}
