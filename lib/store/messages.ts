/**
 * Chat messages of the store (`messages`, with their text in `ops`).
 * Private to lib/store/: reached through Store.
 */
import type { DatabaseSync } from "node:sqlite";
import { type MessageStatements, messageStatements } from "./_messages_sql.ts";
import { get, type Vector } from "../wire/vector.ts";
import { nameKey } from "../wire/names.ts";
import { type Key, visibleTwin } from "../rules/conflict.ts";
import { type NotedCount, notedCount } from "./kept_counts.ts";
import { refuses } from "../rules/binding.ts";
import type { SettledTest, Settling } from "./settling.ts";

import { EDITED, type MessageActs, REACTED } from "./message_acts.ts";
import { SearchIndex } from "./search.ts";
import { MAX_UNREAD, type MsgId } from "../wire/messages.ts";
import { unreadAfter } from "../rules/message_acts.ts";

/** What stable delivery reads of a row (lib/store/settling.ts). */
type WaitRow = { seq: number; dseq: number; hidden: number; refused: number; session: string; tag: string; conf: string };

/** What a listed message says besides its text (docs/PROTOCOL.md "Message actions"). */
export type EntryMeta = { edited?: true; re?: MsgId; reactions?: [string, number][] };

/** A visible message of a room, as polls list it. */
export type MessageEntry = { origin: string; seq: number; user: string; at: number; msg: string; meta?: EntryMeta };

/** The stored message of an add, found by (session, tag); `conf` "": no confirmer. */
export type StoredAdd = { origin: string; seq: number; rkey: string; msg: string; conf: string };

/** A listed row as read, with its facts. */
type Listed = MessageEntry & { flags: number; re: string | null };

const parseId = (id: string): MsgId => {
  const dot = id.lastIndexOf(".");
  return { origin: id.slice(0, dot), n: Number(id.slice(dot + 1)) };
};

/**
 * A room's rows in `messages` come in two kinds, its messages (`notice` 0)
 * and its notices (1), each a range of its own in the table's key (rkey,
 * notice, dseq): readers that do not list notices never pass over them (a
 * fan-out to 1,000 polls of a room 1,000 sessions joined stays one cheap
 * read), and readers that do merge the two by delivery order.
 */
const MESSAGE_ROWS = 0, NOTICE_ROWS = 1;
/** The kinds of row a reader lists. */
const kindsOf = (notices: boolean): number[] => notices ? [MESSAGE_ROWS, NOTICE_ROWS] : [MESSAGE_ROWS];

/** Rows read per index range when listing messages. */
const SCAN_BATCH = 64;

export class Messages {
  #s: MessageStatements;
  #acts: MessageActs;
  /** The full-text index (lib/store/search.ts). */
  readonly search: SearchIndex;
  /** The delivery sequence of the newest message stored (what the index must reach). */
  #newest = 0;
  /** A message not indexed yet may have been edited (its text is then its edit's): true from the start until the index catches up. */
  #editedPending = true;

  /** Visible chat messages stored (kept: no scan); `insert` notes its visible rows, the store flushes them (lib/store/kept_counts.ts). */
  readonly visible: NotedCount;
  /** The same count as a number (what `state` reports). */
  readonly count = (): number => this.visible.read();

  /** `search`: keep the full-text index (lib/store/search.ts). */
  constructor(db: DatabaseSync, acts: MessageActs, search: boolean) {
    this.#acts = acts;
    this.search = new SearchIndex(db, search, (dseq) => this.#textAt(dseq));
    this.visible = notedCount(db, "messages", (row) => `${row}.hidden = 0 AND ${row}.notice = 0`);
    this.#s = messageStatements(db);
    // What a start finds stored past the index's mark (a crash before indexing, an index made again) is indexed as the rest.
    this.#newest = (this.#s.lastOp.get() as { n: number | null }).n ?? 0;
  }

  /**
   * Stores the message of op `origin.seq` in room `rkey` (key `k`, delivered
   * `dseq`-th here) with the twin rule: of two messages of one (session, tag) the
   * smaller key is visible. `noTwin`: the caller has just seen that there
   * is no visible message of this (session, tag), so the look-up is skipped.
   * Returns true when the new message is visible.
   */
  insert(m: { origin: string; seq: number; session: string; tag: string }, rkey: string, dseq: number, k: Key, noTwin: boolean): boolean {
    type Twin = { rkey: string; dseq: number; origin: string; ksum: number };
    const twin = noTwin ? undefined : this.#s.visibleByTag.get(m.session, m.tag) as Twin | undefined;
    let hidden = 0;
    if (twin) {
      if (visibleTwin(k, [twin.ksum, twin.origin]) === "new") this.#s.hide.run(twin.rkey, twin.dseq);
      else hidden = 1;
    }
    this.#s.insert.run(rkey, dseq, m.origin, m.seq, m.session, m.tag, hidden, k[0]);
    if (hidden === 0) this.visible.inserted();
    if (dseq > this.#newest) this.#newest = dseq;
    return hidden === 0; // indexed for search later, in bulk (indexPending)
  }

  /** The stored row of message `origin.seq` (not a notice), or null: its room key, delivery seq, session, sender and whether hidden. */
  row(origin: string, seq: number): { rkey: string; dseq: number; session: string; hidden: number; user: string } | null {
    return (this.#s.msgRow.get(origin, seq) as { rkey: string; dseq: number; session: string; hidden: number; user: string } | undefined) ?? null;
  }

  /** Message `origin.seq` was edited or reacted to: its flag `bit`. */
  flag(origin: string, seq: number, bit: number): void {
    const r = this.row(origin, seq);
    if (r) this.#s.setFlag.run(r.rkey, seq, bit, origin), this.#editedPending ||= (bit & EDITED) !== 0 && r.dseq > this.search.upto;
  }

  /**
   * Message `origin.seq` is about to take `text` by an edit (call it before
   * the edit is recorded): in the search index its old words go and the new
   * ones come (one not indexed yet is indexed later with its current text).
   */
  reindex(origin: string, seq: number, text: string): void {
    const r = this.row(origin, seq);
    if (!r || r.dseq > this.search.upto) return;
    this.search.remove(r.dseq, r.rkey, this.#textOf(r.rkey, r.dseq));
    this.search.add(r.dseq, r.rkey, text);
  }

  /**
   * Message `origin.seq` is deleted (or expunged): its search entry and its
   * row go; call it while its text is still there. Returns its room key, or
   * null when it was not stored.
   */
  remove(origin: string, seq: number): string | null {
    const r = this.row(origin, seq);
    if (!r) return null;
    if (r.dseq <= this.search.upto) this.search.remove(r.dseq, r.rkey, this.#textOf(r.rkey, r.dseq));
    this.#s.remove.run(r.rkey, r.dseq);
    return r.rkey;
  }

  /** The current text of the message delivered `dseq`-th here, in whichever room ("" when gone). */
  #textAt(dseq: number): string {
    const op = this.#s.roomOf.get(dseq) as { room: string } | undefined;
    return op ? this.#textOf(nameKey(op.room), dseq) : "";
  }

  /** The current text of stored message `dseq` of `rkey` (its latest edit's), as indexed. */
  #textOf(rkey: string, dseq: number): string {
    return (this.#s.anyByDseq.get(rkey, dseq) as { msg: string } | undefined)?.msg ?? "";
  }

  /** True when messages wait to be indexed for search. */
  get indexBehind(): boolean {
    return this.search.enabled && this.#newest > this.search.upto;
  }

  /**
   * Indexes for search up to `limit` messages stored since the index's mark
   * (lib/store/search.ts), with their current text, in the caller's
   * transaction; returns how many it read (fewer than `limit`: caught up).
   * While no message past the mark was edited, their ops' texts are read without the join to `messages`.
   */
  indexPending(limit: number): number {
    if (!this.search.enabled) return 0;
    const read = this.#editedPending ? this.#s.pendingOps : this.#s.pendingTexts;
    const rows = read.all(this.search.upto, limit) as unknown as [aseq: number, rkey: string, msg: string | null][];
    for (const [aseq, rkey, msg] of rows) if (msg !== null) this.search.add(aseq, rkey, msg);
    const last = rows.length < limit ? (this.#s.lastOp.get() as { n: number | null }).n ?? 0 : rows[rows.length - 1][0];
    this.search.setUpto(last);
    if (rows.length < limit) this.#editedPending = false; // every message stored is indexed
    return rows.length;
  }

  /** The entries of search hits (delivery seqs of room `rkeys`' messages), in the order given; those no longer listed are left out. */
  hits(rkeys: readonly string[], dseqs: readonly number[]): (MessageEntry & { rkey: string })[] {
    const out: (MessageEntry & { rkey: string })[] = [];
    const allowed = new Set(rkeys);
    for (const d of dseqs) {
      const op = this.#s.roomOf.get(d) as { room: string } | undefined;
      const rkey = op && nameKey(op.room);
      const row = rkey !== undefined && allowed.has(rkey) ? this.#s.byDseq.get(rkey, d) as Listed | undefined : undefined;
      if (row) out.push({ ...this.#entry(row), rkey: rkey! });
    }
    return out;
  }

  /**
   * How many visible messages of room `rkey` come after a read marker by
   * their keys (lib/rules/message_acts.ts): read from the newest back to
   * the marker's own row and 64 more (messages concurrent with it may have
   * been delivered before it here), at most MAX_UNREAD.
   */
  unread(rkey: string, mark: { mark: MsgId; key: Key } | null): number {
    const rows = this.#s.recentKeys.all(rkey, MAX_UNREAD + 65) as { dseq: number; ksum: number; origin: string }[];
    const at = mark === null ? undefined : this.#s.anyDseq.get(mark.mark.origin, mark.mark.n) as { dseq: number } | undefined;
    const markAt = at === undefined ? -1 : rows.findIndex((r) => r.dseq <= at.dseq);
    const considered = markAt < 0 ? rows : rows.slice(0, markAt + 64);
    return Math.min(MAX_UNREAD, unreadAfter(mark?.key ?? null, considered.map((r) => [r.ksum, r.origin] as Key)));
  }

  /** A listed row as an entry: its facts read when it has any (edited, a reply, reactions), an act's notice told as it stands now. */
  #entry(r: Listed): MessageEntry {
    const e: MessageEntry = { origin: r.origin, seq: r.seq, user: r.user, at: r.at, msg: r.msg };
    if (r.flags !== 0 || r.re !== null) {
      const meta: EntryMeta = {};
      if (r.flags & EDITED) meta.edited = true;
      if (r.re !== null) meta.re = parseId(r.re);
      if (r.flags & REACTED) {
        const counts = this.#acts.counts(r.origin, r.seq);
        if (counts.length > 0) meta.reactions = counts;
      }
      if (meta.edited || meta.re || meta.reactions) e.meta = meta;
    }
    if (e.msg.charCodeAt(0) === 1) e.msg = this.#actNotice(e.msg);
    return e;
  }

  /**
   * An act's notice as it stands when read: "\u0001edit T TEXT" with the
   * message's current text, "\u0001react T 👍=2,ok=1" with its current
   * counts, "\u0001del T" once deleted (docs/PROTOCOL.md "Message actions").
   * So the last such notice a client gets of a message tells its settled state.
   */
  #actNotice(text: string): string {
    const m = /^\u0001(edit|react|unreact|del) (.+)$/.exec(text);
    if (m === null) return text;
    const id = parseId(m[2]);
    if (m[1] === "del" || this.#acts.redacted(id.origin, id.n)) return `\u0001del ${m[2]}`;
    if (m[1] === "edit") {
      const r = this.row(id.origin, id.n);
      const row = r && this.#s.byDseq.get(r.rkey, r.dseq) as Listed | undefined;
      return row ? `\u0001edit ${m[2]} ${row.msg}` : `\u0001del ${m[2]}`;
    }
    return `\u0001react ${m[2]} ${this.#acts.counts(id.origin, id.n).map(([t, n]) => `${t}=${n}`).join(",")}`.trimEnd();
  }

  /** Stores the notice row of op `origin.seq` (a join, leave or moderation op) in room `rkey`. */
  insertNotice(rkey: string, dseq: number, origin: string, seq: number, session: string): void {
    this.#s.insertNotice.run(rkey, dseq, origin, seq, session, `~${origin}.${seq}`);
  }

  /**
   * True when server `server`, storing a copy of (session, tag) that names
   * it confirmer (made by `origin`, key `k`), must refuse it: it is bound to
   * another copy — one not refused that it made (under any incarnation) or
   * that names it — by the rule of lib/rules/binding.ts.
   */
  refuses(session: string, tag: string, server: string, origin: string, k: Key): boolean {
    const rows = this.#s.bound.all(session, tag, server) as { origin: string; ksum: number; conf: string }[];
    return rows.length > 0 && refuses(server, origin, k, rows.map((r) => ({ origin: r.origin, key: [r.ksum, r.origin], conf: r.conf })));
  }

  /**
   * Hides message `target` ("origin.seq") for good (a hide op of its
   * confirmer); when it was the visible copy, the best copy not refused
   * becomes visible. Returns the room key whose listing changed, or null.
   */
  refuse(target: string): string | null {
    type Row = { rkey: string; dseq: number; session: string; tag: string; hidden: number };
    const id = parseId(target), row = this.#s.byId.get(id.origin, id.n) as Row | undefined;
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
    type Row = Listed & WaitRow & { dseq: number };
    const streams = [...origins].flatMap((origin) => kindsOf(notices).map((kind) => ({ kind, origin, after: get(cursor, origin), rows: [] as Row[], at: 0, done: false })));
    /** Per origin, the seq of its first unsettled copy: its notices after it wait too (the cursor is per origin). */
    const stopAt = new Map<string, number>();
    /** The delivery order of the first unsettled copy: nothing delivered after it is listed, whatever its origin (it may have been made by a server that had that copy: causal order). */
    let stopDseq = Infinity;
    const head = (st: typeof streams[number]): Row | null => {
      if (st.at < st.rows.length) return st.rows[st.at];
      if (st.done) return null;
      st.rows = this.#s.originRange.all(rkey, st.origin, st.after, SCAN_BATCH, st.kind) as unknown as Row[];
      st.at = 0;
      st.done = st.rows.length < SCAN_BATCH;
      const stop = settled ? st.rows.findIndex((r) => this.#waits(settled, st.origin, r)) : -1;
      if (stop >= 0) {
        settling!.held(rkey, settled);
        stopAt.set(st.origin, Math.min(stopAt.get(st.origin) ?? Infinity, st.rows[stop].seq));
        stopDseq = Math.min(stopDseq, st.rows[stop].dseq);
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
      if (!best || !bestRow || bestRow.dseq > stopDseq) return;
      best.at++;
      if (!bestRow.hidden) yield this.#entry({ ...bestRow, origin: best.origin });
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
    const kinds = kindsOf(notices);
    let at: number | null = null;
    if (before !== null) {
      for (const kind of kinds) {
        const row = this.#s.dseqOf.get(rkey, kind, before.origin, before.seq) as { dseq: number } | undefined;
        if (row) at = row.dseq;
      }
      if (at === null) return null;
    }
    type Row = Listed & { dseq: number };
    const rows: Row[] = [];
    for (const kind of kinds) {
      rows.push(...(at === null ? this.#s.newest.all(rkey, limit, kind) : this.#s.newestBefore.all(rkey, at, limit, kind)) as unknown as Row[]);
    }
    if (kinds.length > 1) rows.sort((x, y) => y.dseq - x.dseq);
    return rows.slice(0, limit).map((r) => this.#entry(r));
  }

  /**
   * The live tail of a room: per origin of `origins`, the highest seq of its
   * messages and notices stored in the room (two index seeks each). A poll from it lists
   * only messages stored later. Sessions that ask while the room is the same
   * get the same cursor, so their held polls are answered by one read.
   * With `settling`, every origin's tail stays below the first copy (in
   * delivery order) not yet settled among each origin's SCAN_BATCH newest in
   * the room, so a poll from it lists that copy, and what came after it, once
   * it settles.
   */
  tail(groupName: string, origins: Iterable<string>, settling?: Settling): Vector {
    const rkey = nameKey(groupName);
    const settled = settling?.test();
    const out = new Map<string, number>();
    let stopDseq = Infinity;
    for (const origin of origins) {
      for (const kind of kindsOf(true)) {
        const n = (this.#s.lastOf.get(rkey, kind, origin) as { n: number | null }).n;
        if (n !== null && n > (out.get(origin) ?? 0)) out.set(origin, n);
      }
      if (!settled || !out.has(origin)) continue;
      for (const r of this.#s.recentOf.all(rkey, origin, SCAN_BATCH) as WaitRow[]) if (this.#waits(settled, origin, r)) stopDseq = Math.min(stopDseq, r.dseq);
    }
    if (stopDseq === Infinity) return out;
    // As in `uncovered`: nothing delivered after the first copy not settled, whatever its origin (causal order).
    settling!.held(rkey, settled);
    for (const origin of [...out.keys()]) {
      let n = 0;
      for (const kind of kindsOf(true)) n = Math.max(n, (this.#s.lastBefore.get(rkey, kind, origin, stopDseq) as { seq: number } | undefined)?.seq ?? 0);
      if (n > 0) out.set(origin, Math.min(out.get(origin)!, n));
      else out.delete(origin);
    }
    return out;
  }
}
