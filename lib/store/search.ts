/**
 * Full-text search of rooms' messages (docs/PROTOCOL.md "Search"): an SQLite
 * FTS5 index (both runtimes' node:sqlite have it), contentless — it keeps
 * the words' postings, not the text — with FTS5's `secure-delete`: a row is
 * deleted by giving the words it was indexed with (`remove`), and its words
 * leave the index's pages, not just its id (a contentless_delete table only
 * marks the id deleted and keeps the words until a merge: a deleted
 * message's words stayed in the file). Row id = the message's
 * delivery sequence here (`messages.dseq`), so "newest first" is the
 * index's own rowid order and a page is one descending range scan.
 *
 * Each row starts with a token naming its room (`r` and 16 hex digits of
 * SHA-256 of the room's key), so a query for one room, or for the rooms a
 * session is a member of, is an intersection of posting lists in FTS5 —
 * it never walks another room's matches. Best first (the default order, docs/PROTOCOL.md "Search")
 * ranks the newest RANK_WINDOW matches by BM25 with the window's own term
 * statistics (lib/rules/search_rank.ts: FTS5's bm25() would count each
 * term's rows in the whole index, every query), ties newest first, then
 * lists the older matches newest first: one descending range scan of at
 * most RANK_WINDOW rows and their texts, whatever the room's size. What is not indexed: direct
 * conversations, sealed messages (`dc1:…`: the server cannot read them; the
 * web client searches what it has decrypted), notices.
 *
 * Messages are indexed after their add, in bulk (lib/store/messages.ts
 * `indexPending`: the housekeeping every 200 ms, and each search first):
 * one index transaction per message cost an add 2–3× its own time at low
 * load (a segment written per commit); in bulk the index costs an add a
 * fraction (BENCHMARKS.md "Search"). What is indexed is kept as a mark in
 * `meta` (`search_upto`, a delivery sequence) in the same transaction as the
 * rows, so a crash loses nothing: the next start indexes from the mark.
 *
 * @example
 * ```ts
 * const s = new SearchIndex(db, true);
 * s.add(dseq, "lobby", "hello world");
 * s.find(["lobby"], "hello", null, 20); // [dseq]
 * ```
 */
import { createHash } from "node:crypto";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { rankScores } from "../rules/search_rank.ts";
import { messageWords } from "../wire/message_text.ts";

export const SEARCH_DDL = `
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(body, content='', tokenize='unicode61 remove_diacritics 2');
INSERT INTO search (search, rank) VALUES ('secure-delete', 1);
`;

/** How many of the newest matches best-first order ranks by relevance; older matches follow newest first. */
export const RANK_WINDOW = 1000;

/** The orders of `find`: best first (relevance, ties newest first), or newest first. */
export type SearchOrder = "best" | "newest";

/** Texts the server cannot read (docs/SEALED_FORMAT.md "Which texts are sealed"). */
const SEALED = /^dc[0-9]{1,3}:[A-Za-z0-9_-]*$/;

/** Most words of a query. */
const MAX_TERMS = 8;

/** The query's words as FTS5 terms: letters and digits only, each quoted, a trailing `*` kept for a prefix; [] when there are none. */
export function queryTerms(query: string): string[] {
  const out: string[] = [];
  for (const raw of query.split(/\s+/)) {
    const prefix = raw.endsWith("*");
    const word = raw.replace(/[^\p{L}\p{N}]+/gu, " ").trim();
    for (const w of word.split(" ")) if (w !== "") out.push(`"${w}"`);
    if (prefix && out.length > 0) out[out.length - 1] += "*";
  }
  return out.slice(0, MAX_TERMS);
}

export class SearchIndex {
  /** False: nothing is indexed and every search is refused (`--no-search`). */
  readonly enabled: boolean;
  #s: Record<"add" | "drop" | "setUpto", StatementSync> | null = null;
  #db: DatabaseSync;
  #tokens = new Map<string, string>();
  #upto = 0;
  /** Bumped by every change of the index: a ranked window read for one query is reused while it stays the same. */
  #generation = 0;
  #window: { match: string; generation: number; rows: { d: number; s: number }[] } | null = null;
  /** The current text of the message indexed as row `dseq` (what best-first order ranks). */
  #textOf: (dseq: number) => string;

  /** `textOf`: the current text of the message of delivery sequence `dseq` ("" when gone). */
  constructor(db: DatabaseSync, enabled: boolean, textOf: (dseq: number) => string = () => "") {
    this.#db = db;
    this.enabled = enabled;
    this.#textOf = textOf;
    if (!enabled) return;
    db.exec(SEARCH_DDL);
    this.#s = {
      add: db.prepare("INSERT INTO search (rowid, body) VALUES (?, ?)"),
      drop: db.prepare("INSERT INTO search (search, rowid, body) VALUES ('delete', ?, ?)"),
      setUpto: db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('search_upto', ?)"),
    };
    const row = db.prepare("SELECT v FROM meta WHERE k = 'search_upto'").get() as { v: string } | undefined;
    this.#upto = row ? Number(row.v) : 0;
  }

  /** Messages delivered up to this sequence (dseq) are in the index; later ones wait for `indexPending`. */
  get upto(): number {
    return this.#upto;
  }

  /** Messages up to `dseq` are in the index now (written in the caller's transaction). */
  setUpto(dseq: number): void {
    if (this.#s === null || dseq <= this.#upto) return;
    this.#upto = dseq;
    this.#s.setUpto.run(String(dseq));
  }

  /** The token that names room `rkey` in the index. */
  roomToken(rkey: string): string {
    let t = this.#tokens.get(rkey);
    if (t === undefined) {
      t = "r" + createHash("sha256").update(rkey).digest("hex").slice(0, 16);
      if (this.#tokens.size > 10_000) this.#tokens.clear();
      this.#tokens.set(rkey, t);
    }
    return t;
  }

  /** What message text `text` of room `rkey` is indexed as, or null: not indexed (direct conversations, sealed texts, notices). */
  #body(rkey: string, text: string): string | null {
    if (rkey.charCodeAt(0) === 64 || text === "" || SEALED.test(text)) return null;
    const body = messageWords(text);
    return body === "" ? null : `${this.roomToken(rkey)} ${body}`;
  }

  /** Indexes message `dseq` of room `rkey` with `text`. */
  add(dseq: number, rkey: string, text: string): void {
    const body = this.#s === null ? null : this.#body(rkey, text);
    if (body !== null) this.#s!.add.run(dseq, body), this.#generation++;
  }

  /** Message `dseq`, indexed with `text`, leaves the index, its words with it (deleted, or edited: then `add` its new text). */
  remove(dseq: number, rkey: string, text: string): void {
    const body = this.#s === null ? null : this.#body(rkey, text);
    if (body !== null) this.#s!.drop.run(dseq, body), this.#generation++;
  }

  /**
   * Up to `limit` row ids (dseq) of messages in the rooms `rkeys` that hold
   * every word of `query`, in `order`, after hit `after` (a dseq: the last
   * hit of the page before; null: from the first). Throws RangeError when
   * the query has no word.
   */
  find(rkeys: readonly string[], query: string, after: number | null, limit: number, order: SearchOrder = "newest"): number[] {
    const terms = queryTerms(query);
    if (terms.length === 0) throw new RangeError("the query has no word to search for");
    if (rkeys.length === 0) return [];
    const rooms = rkeys.map((k) => this.roomToken(k)).join(" OR ");
    const match = `(${rooms}) AND ${terms.join(" AND ")}`;
    return order === "newest" ? this.#newest(match, after, limit) : this.#best(match, terms, after, limit);
  }

  /** Up to `limit` matches below `before` (null: from the newest), newest first. */
  #newest(match: string, before: number | null, limit: number): number[] {
    if (limit <= 0) return [];
    const sql = `SELECT rowid AS d FROM search WHERE search MATCH ?${before === null ? "" : " AND rowid < ?"} ORDER BY rowid DESC LIMIT ?`;
    const args = before === null ? [match, limit] : [match, before, limit];
    return (this.#db.prepare(sql).all(...args) as { d: number }[]).map((r) => r.d);
  }

  /**
   * Best first: the newest RANK_WINDOW matches by relevance, ties newest
   * first, then the older ones newest first; the page after hit `after`. A
   * hit no longer in the window (deleted or edited meanwhile) continues
   * with the older matches.
   */
  #best(match: string, terms: string[], after: number | null, limit: number): number[] {
    const rows = this.#ranked(match, terms);
    const bottom = rows.length === RANK_WINDOW ? Math.min(...rows.map((r) => r.d)) : 0;
    if (after !== null && after < bottom) return this.#newest(match, after, limit);
    const at = after === null ? 0 : rows.findIndex((r) => r.d === after) + 1;
    const out = (at === 0 && after !== null ? [] : rows.slice(at, at + limit)).map((r) => r.d);
    return bottom === 0 ? out : [...out, ...this.#newest(match, bottom, limit - out.length)];
  }

  /** The newest RANK_WINDOW matches of `match`, best first (read once while the index stays the same). */
  #ranked(match: string, terms: string[]): { d: number; s: number }[] {
    const w = this.#window;
    if (w !== null && w.match === match && w.generation === this.#generation) return w.rows;
    const ds = this.#newest(match, null, RANK_WINDOW);
    const scores = rankScores(terms, ds.map((d) => this.#textOf(d)));
    const rows = ds.map((d, i) => ({ d, s: scores[i] }));
    rows.sort((x, y) => y.s - x.s || y.d - x.d);
    this.#window = { match, generation: this.#generation, rows };
    return rows;
  }
}
