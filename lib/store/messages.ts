/**
 * Chat messages of the store (`messages`, with their text in `ops`).
 * Private to lib/store/: reached through Store.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Vector } from "../wire/vector.ts";
import { get } from "../wire/vector.ts";
import { nameKey } from "../wire/names.ts";
import { type Key, visibleTwin } from "../rules/conflict.ts";
import { keptCount } from "./kept_counts.ts";
import type { SettledTest, Settling } from "./settling.ts";

/** What stable delivery reads of a row (lib/store/settling.ts). */
type WaitRow = { seq: number; hidden: number; refused: number; session: string; tag: string; conf: string };

/** A visible message of a room, as polls list it. */
export type MessageEntry = { origin: string; seq: number; user: string; at: number; msg: string };

/** The stored message of an add, found by (session, tag); `conf` "": no confirmer. */
export type StoredAdd = { origin: string; seq: number; rkey: string; msg: string; conf: string };

/**
 * The sender and text of a listed row: a message's own, or a notice's
 * (docs/PROTOCOL.md "Notices"): U+0001, then "join", "leave", or a
 * moderation op's "ACTION TARGET[ TEXT]"; the sender of a join or leave is
 * its session's user.
 */
const USER = "COALESCE(o.user, (SELECT s.user FROM sessions s WHERE s.id = o.session), '')";
const TEXT = "CASE o.kind WHEN 'msg' THEN o.msg WHEN 'mod' THEN char(1) || o.tag || ' ' || o.conf || CASE WHEN o.msg = '' THEN '' ELSE ' ' || o.msg END " +
  "ELSE char(1) || o.kind END";
/** Messages as `MessageEntry` rows with their `dseq`, their text from the op log (a WHERE clause follows). */
const ENTRIES_DSEQ = `SELECT m.dseq, m.origin, m.seq, ${USER} AS user, o.at, ${TEXT} AS msg FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq`;

/**
 * The key notices of room `rkey` are stored under in `messages`: a room of
 * their own, so readers that do not list notices never pass over them (a
 * fan-out to 1,000 polls of a room 1,000 sessions joined stays one cheap
 * read), and readers that do merge the two by delivery order. Only this
 * file writes or reads it; what a commit changed is told by room key
 * (Store.takeDirty: `rooms` and `notices`).
 */
const noticeKey = (rkey: string): string => "\u0001" + rkey;

/** Rows read per index range when listing messages. */
const SCAN_BATCH = 64;

/** The confirmer a row's op names ("" for none, and for notices: a moderation op keeps its target in `conf`). */
const CONF = "CASE o.kind WHEN 'msg' THEN COALESCE(o.conf, '') ELSE '' END AS conf";

/*
 * Bound limits are written `LIMIT ?N + 0`: SQLite 3.53 prepares a statement
 * whose LIMIT is a bare parameter again at every run (docs/PERFORMANCE_NOTES.md
 * "1."); the expression gives the same plan and rows without it.
 */

export class Messages {
  #s: Record<
    "visibleByTag" | "hide" | "insert" | "insertNotice" | "addByTag" | "originRange" | "refuse" | "byId" | "bestTwin" | "show" | "bound" | "dseqOf" | "newest" | "newestBefore" | "lastOf" | "recentOf" | "visibleTwin",
    StatementSync
  >;

  /** Visible chat messages stored (kept by SQLite: no scan). */
  readonly count: () => number;

  constructor(db: DatabaseSync) {
    const p = (sql: string) => db.prepare(sql);
    this.count = keptCount(db, "messages", (row) => `${row}.hidden = 0 AND ${row}.notice = 0`);
    this.#s = {
      visibleByTag: p("SELECT rkey, dseq, origin, ksum FROM messages WHERE session = ? AND tag = ? AND hidden = 0"),
      hide: p("UPDATE messages SET hidden = 1 WHERE rkey = ? AND dseq = ?"),
      insert: p("INSERT INTO messages (rkey, dseq, origin, seq, session, tag, hidden, ksum) VALUES (?,?,?,?,?,?,?,?)"),
      insertNotice: p("INSERT OR IGNORE INTO messages (rkey, dseq, origin, seq, session, tag, hidden, ksum, notice) VALUES (?,?,?,?,?,?,0,0,1)"),
      addByTag: p(
        "SELECT m.rkey, m.origin, m.seq, o.msg, COALESCE(o.conf, '') AS conf FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq " +
          "WHERE m.session = ? AND m.tag = ? AND m.hidden = 0",
      ),
      originRange: p(
        `SELECT m.dseq, m.seq, m.hidden, m.refused, m.session, m.tag, ${USER} AS user, o.at, ${TEXT} AS msg, ${CONF} FROM messages m ` +
          "JOIN ops o ON o.origin = m.origin AND o.seq = m.seq WHERE m.rkey = ?1 AND m.origin = ?2 AND m.seq > ?3 " +
          "ORDER BY m.seq LIMIT ?4 + 0",
      ),
      dseqOf: p("SELECT dseq FROM messages WHERE rkey = ? AND origin = ? AND seq = ?"),
      lastOf: p("SELECT max(seq) AS n FROM messages WHERE rkey = ? AND origin = ?"),
      visibleTwin: p(`SELECT m.origin, m.seq, ${CONF} FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq ` +
        "WHERE m.session = ? AND m.tag = ? AND m.hidden = 0"),
      recentOf: p(`SELECT m.seq, m.hidden, m.refused, m.session, m.tag, ${CONF} FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq ` +
        "WHERE m.rkey = ?1 AND m.origin = ?2 ORDER BY m.seq DESC LIMIT ?3 + 0"),
      newest: p(`${ENTRIES_DSEQ} WHERE m.rkey = ?1 AND m.hidden = 0 ORDER BY m.dseq DESC LIMIT ?2 + 0`),
      newestBefore: p(`${ENTRIES_DSEQ} WHERE m.rkey = ?1 AND m.dseq < ?2 AND m.hidden = 0 ORDER BY m.dseq DESC LIMIT ?3 + 0`),
      byId: p("SELECT m.rkey, m.dseq, m.session, m.tag, m.hidden FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq " +
        "WHERE o.origin = ? AND o.seq = ? AND o.kind = 'msg'"),
      refuse: p("UPDATE messages SET hidden = 1, refused = 1 WHERE rkey = ? AND dseq = ?"),
      bestTwin: p("SELECT rkey, dseq FROM messages WHERE session = ? AND tag = ? AND refused = 0 ORDER BY ksum, origin LIMIT 1"),
      show: p("UPDATE messages SET hidden = 0 WHERE rkey = ? AND dseq = ?"),
      bound: p(
        "SELECT 1 AS x FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq " +
          "WHERE m.session = ?1 AND m.tag = ?2 AND m.refused = 0 " +
          "AND (o.conf = ?3 OR o.origin = ?3 OR substr(o.origin, 1, length(?3) + 1) = ?3 || '~') LIMIT 1",
      ),
    };
  }

  /**
   * Stores the message of op `origin.seq` (key `k`, delivered `dseq`-th
   * here) with the twin rule: of two messages of one (session, tag) the
   * smaller key is visible. `noTwin`: the caller has just seen that there
   * is no visible message of this (session, tag), so the look-up is skipped.
   * Returns true when the new message is visible.
   */
  insert(
    m: { groupName: string; dseq: number; origin: string; seq: number; session: string; tag: string },
    k: Key,
    noTwin: boolean,
  ): boolean {
    type Twin = { rkey: string; dseq: number; origin: string; ksum: number };
    const twin = noTwin ? undefined : this.#s.visibleByTag.get(m.session, m.tag) as Twin | undefined;
    let hidden = 0;
    if (twin) {
      if (visibleTwin(k, [twin.ksum, twin.origin]) === "new") this.#s.hide.run(twin.rkey, twin.dseq);
      else hidden = 1;
    }
    this.#s.insert.run(nameKey(m.groupName), m.dseq, m.origin, m.seq, m.session, m.tag, hidden, k[0]);
    return hidden === 0;
  }

  /** Stores the notice row of op `origin.seq` (a join, leave or moderation op) in room `rkey`. */
  insertNotice(rkey: string, dseq: number, origin: string, seq: number, session: string): void {
    this.#s.insertNotice.run(noticeKey(rkey), dseq, origin, seq, session, `~${origin}.${seq}`);
  }

  /**
   * True when server `server` is bound to a copy of (session, tag): one not
   * refused that it made (under any incarnation) or that names it as its
   * confirmer (docs/ARCHITECTURE.md "Acks").
   */
  boundAt(session: string, tag: string, server: string): boolean {
    return this.#s.bound.get(session, tag, server) !== undefined;
  }

  /**
   * Hides message `target` ("origin.seq") for good (a hide op of its
   * confirmer); when it was the visible copy, the best copy not refused
   * becomes visible. Returns the room key whose listing changed, or null.
   */
  refuse(target: string): string | null {
    const dot = target.lastIndexOf(".");
    type Row = { rkey: string; dseq: number; session: string; tag: string; hidden: number };
    const row = this.#s.byId.get(target.slice(0, dot), Number(target.slice(dot + 1))) as Row | undefined;
    if (!row) return null;
    this.#s.refuse.run(row.rkey, row.dseq);
    if (row.hidden) return null;
    const best = this.#s.bestTwin.get(row.session, row.tag) as { rkey: string; dseq: number } | undefined;
    if (best) this.#s.show.run(best.rkey, best.dseq);
    return best?.rkey ?? null;
  }

  /** The visible message a session added with `tag`, or null. */
  byTag(session: string, tag: string): StoredAdd | null {
    const row = this.#s.addByTag.get(session, tag) as StoredAdd | undefined;
    return row ? { origin: row.origin, seq: row.seq, rkey: row.rkey, msg: row.msg, conf: row.conf } : null;
  }

  /**
   * Visible messages of a room the cursor does not cover, in delivery
   * order, read lazily. Per origin they are a suffix of the room's messages
   * in both seq and delivery order (causal, FIFO delivery), so this merges
   * one index range per origin of `origins` and never reads a covered message.
   * Notices are listed only with `notices`; without it SQLite passes them
   * over (so polls of clients that do not list notices keep one cursor,
   * and a fan-out to them stays one read). With `settling`, an origin's
   * listing stops before its first visible copy that is not settled here
   * (lib/store/settling.ts), so the cursor never passes over it.
   */
  *uncovered(groupName: string, cursor: Vector, origins: Iterable<string>, notices = false, settling?: Settling): Generator<MessageEntry> {
    const rkey = nameKey(groupName);
    const settled = settling?.test();
    type Row = MessageEntry & WaitRow & { dseq: number };
    const keys = notices ? [rkey, noticeKey(rkey)] : [rkey];
    const streams = [...origins].flatMap((origin) => keys.map((k) => ({ k, origin, after: get(cursor, origin), rows: [] as Row[], at: 0, done: false })));
    /** Per origin, the seq of its first unsettled copy: its notices after it wait too (the cursor is per origin). */
    const stopAt = new Map<string, number>();
    const head = (st: typeof streams[number]): Row | null => {
      if (st.at < st.rows.length) return st.rows[st.at];
      if (st.done) return null;
      st.rows = this.#s.originRange.all(st.k, st.origin, st.after, SCAN_BATCH) as Row[];
      st.at = 0;
      st.done = st.rows.length < SCAN_BATCH;
      const stop = settled ? st.rows.findIndex((r) => this.#waits(settled, st.origin, r)) : -1;
      if (stop >= 0) {
        settling!.held(rkey);
        stopAt.set(st.origin, Math.min(stopAt.get(st.origin) ?? Infinity, st.rows[stop].seq));
        st.rows.length = stop;
        st.done = true;
      }
      if (st.rows.length === 0) return null;
      st.after = st.rows[st.rows.length - 1].seq;
      return st.rows[0];
    };
    for (;;) {
      let best: typeof streams[number] | null = null;
      let bestRow: Row | null = null;
      for (const st of streams) head(st); // every head loaded first: a stop found by one holds back its origin's other stream
      for (const st of streams) {
        const r = head(st);
        if (r && r.seq >= (stopAt.get(st.origin) ?? Infinity)) {
          st.at = st.rows.length;
          st.done = true;
          continue;
        }
        if (r && (!bestRow || r.dseq < bestRow.dseq)) (best = st, bestRow = r);
      }
      if (!best || !bestRow) return;
      best.at++;
      if (!bestRow.hidden) {
        yield { origin: best.origin, seq: bestRow.seq, user: bestRow.user, at: bestRow.at, msg: bestRow.msg };
      }
    }
  }

  /**
   * True when a reader may not be passed over row `r` of `origin` yet: a
   * visible copy not settled, or a hidden one not refused whose visible twin
   * is not settled (refused, that twin would give way to it).
   */
  #waits(settled: SettledTest, origin: string, r: WaitRow): boolean {
    if (!r.hidden) return r.conf !== "" && !settled(origin, r.seq, r.conf);
    if (r.refused) return false;
    const twin = this.#s.visibleTwin.get(r.session, r.tag) as { origin: string; seq: number; conf: string } | undefined;
    return twin === undefined || (twin.conf !== "" && !settled(twin.origin, twin.seq, twin.conf));
  }

  /**
   * Up to `limit` visible messages of a room, newest first: the newest, or
   * those stored here before message `before` (null when this server does
   * not have that message). One index range, whatever the room's size.
   */
  newest(groupName: string, before: { origin: string; seq: number } | null, limit: number, notices = false): MessageEntry[] | null {
    const rkey = nameKey(groupName);
    const keys = notices ? [rkey, noticeKey(rkey)] : [rkey];
    let at: number | null = null;
    if (before !== null) {
      for (const k of keys) {
        const row = this.#s.dseqOf.get(k, before.origin, before.seq) as { dseq: number } | undefined;
        if (row) at = row.dseq;
      }
      if (at === null) return null;
    }
    type Row = MessageEntry & { dseq: number };
    const rows: Row[] = [];
    for (const k of keys) {
      rows.push(...(at === null ? this.#s.newest.all(k, limit) : this.#s.newestBefore.all(k, at, limit)) as Row[]);
    }
    if (keys.length > 1) rows.sort((x, y) => y.dseq - x.dseq);
    return rows.slice(0, limit).map(({ origin, seq, user, at, msg }) => ({ origin, seq, user, at, msg }));
  }

  /**
   * The live tail of a room: per origin of `origins`, the highest seq of its
   * messages and notices stored in the room (two index seeks each). A poll from it lists
   * only messages stored later. Sessions that ask while the room is the same
   * get the same cursor, so their held polls are answered by one read.
   * With `settling`, an origin's tail stays below its lowest visible copy
   * not yet settled among its SCAN_BATCH newest in the room, so a poll from
   * it lists that copy once it settles.
   */
  tail(groupName: string, origins: Iterable<string>, settling?: Settling): Vector {
    const rkey = nameKey(groupName);
    const settled = settling?.test();
    const out = new Map<string, number>();
    for (const origin of origins) {
      for (const k of [rkey, noticeKey(rkey)]) {
        const n = (this.#s.lastOf.get(k, origin) as { n: number | null }).n;
        if (n !== null && n > (out.get(origin) ?? 0)) out.set(origin, n);
      }
      if (!settled || !out.has(origin)) continue;
      let low = Infinity;
      for (const r of this.#s.recentOf.all(rkey, origin, SCAN_BATCH) as WaitRow[]) if (this.#waits(settled, origin, r)) low = r.seq;
      if (low === Infinity) continue;
      settling!.held(rkey);
      if (low - 1 > 0) out.set(origin, Math.min(out.get(origin)!, low - 1));
      else out.delete(origin);
    }
    return out;
  }
}
