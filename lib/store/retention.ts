/**
 * The optional retention limit (`--retain-days`, `--retain-messages`): old
 * chat messages are *expunged* — their row in `messages` goes and their text
 * in `ops` becomes "" — in bounded batches. The op itself stays, a tombstone
 * of a few hundred bytes, so every origin's sequence stays dense: catch-up
 * still sends it (with empty text, which `add` can never make) and a server
 * receiving it stores no message. Cursors are per-origin vectors, so a poll
 * simply no longer finds the expunged messages.
 *
 * The text leaves every file of the database (lib/store/scrub.ts: deleted
 * content is zeroed, and the write-ahead log is truncated after the commit).
 *
 * Messages younger than `minAgeMs` (an hour) are kept whatever the limits:
 * retransmissions, twins and hides of a message all happen within seconds.
 * The age limit reads the time its origin stamped (the same on every server);
 * the count limit keeps the newest N visible messages of a room in this
 * server's delivery order, so servers may differ by a few concurrent messages
 * at the edge.
 *
 * @example
 * ```ts
 * const r = new Retention(db, { maxAgeMs: 30 * 86_400_000, maxPerRoom: 0 });
 * store.begin(); const n = r.sweep(clock.now(), 2000); store.commit();
 * ```
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { nameKey } from "../wire/names.ts";

export type RetentionLimits = {
  /** Expunge messages older than this, ms; 0: no age limit. */
  maxAgeMs: number;
  /** Keep at most this many visible messages per room; 0: no count limit. */
  maxPerRoom: number;
  /** Never expunge a message younger than this, ms. Default one hour. */
  minAgeMs?: number;
};

export const RETENTION_MIN_AGE_MS = 3_600_000;

export class Retention {
  readonly limits: Required<RetentionLimits>;
  /** Room keys that may hold more than `maxPerRoom` (all at start; then those that got messages). */
  #rooms = new Set<string>();
  #expunged = 0;
  #s: Record<"old" | "nth" | "below" | "blank" | "drop" | "rooms", StatementSync>;

  #onErase: () => void;
  #beforeExpunge: (origin: string, seq: number) => void;

  /**
   * `onErase`: text was deleted in the open transaction (the store then scrubs its files after the commit: lib/store/scrub.ts);
   * `beforeExpunge`: a message is about to be expunged, its text still there (the search index forgets its words).
   */
  constructor(db: DatabaseSync, limits: RetentionLimits, onErase: () => void = () => {}, beforeExpunge: (origin: string, seq: number) => void = () => {}) {
    this.limits = { minAgeMs: RETENTION_MIN_AGE_MS, ...limits };
    this.#onErase = onErase;
    this.#beforeExpunge = beforeExpunge;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      old: p("SELECT origin, seq, room FROM ops WHERE kind = 'msg' AND msg <> '' AND at < ? ORDER BY at LIMIT ? + 0"),
      nth: p("SELECT dseq FROM messages WHERE rkey = ? AND notice = 0 AND hidden = 0 ORDER BY dseq DESC LIMIT 1 OFFSET ?"),
      below: p(
        "SELECT m.origin, m.seq FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq " +
          "WHERE m.rkey = ? AND m.notice = 0 AND m.dseq <= ? AND o.at < ? LIMIT ? + 0",
      ),
      blank: p("UPDATE ops SET msg = '' WHERE origin = ? AND seq = ?"),
      drop: p("DELETE FROM messages WHERE rkey = ? AND notice = 0 AND origin = ? AND seq = ?"),
      rooms: p("SELECT rkey FROM rooms"),
    };
    // The age limit walks messages by time: an index of the ops whose text is still there.
    if (this.limits.maxAgeMs > 0) db.exec("CREATE INDEX IF NOT EXISTS ops_msg_at ON ops (at) WHERE kind = 'msg' AND msg <> ''");
    if (this.limits.maxPerRoom > 0) for (const r of this.#s.rooms.all() as { rkey: string }[]) this.#rooms.add(r.rkey);
  }

  /** True when either limit is set. */
  get active(): boolean {
    return this.limits.maxAgeMs > 0 || this.limits.maxPerRoom > 0;
  }

  /** Messages expunged since start. */
  get expunged(): number {
    return this.#expunged;
  }

  /** A message was stored in this room (it may now hold more than the count limit). */
  noteMessage(rkey: string): void {
    if (this.limits.maxPerRoom > 0) this.#rooms.add(rkey);
  }

  /**
   * Expunges up to `maxRows` messages past the limits at `now`, inside the
   * caller's transaction; returns how many. Fewer than `maxRows`: caught up.
   */
  sweep(now: number, maxRows: number): number {
    let n = 0;
    const { maxAgeMs, maxPerRoom, minAgeMs } = this.limits;
    if (maxAgeMs > 0) {
      const before = now - Math.max(maxAgeMs, minAgeMs);
      for (const r of this.#s.old.all(before, maxRows) as { origin: string; seq: number; room: string }[]) {
        this.#expunge(r.origin, r.seq, nameKey(r.room));
        n++;
      }
    }
    if (maxPerRoom > 0) {
      for (const rkey of this.#rooms) {
        if (n >= maxRows) break;
        const nth = this.#s.nth.get(rkey, maxPerRoom) as { dseq: number } | undefined;
        // Within the limit: forget the room until it gets a message. Else it stays (its extra messages may be too young yet).
        if (!nth) this.#rooms.delete(rkey);
        else {
          for (const r of this.#s.below.all(rkey, nth.dseq, now - minAgeMs, maxRows - n) as { origin: string; seq: number }[]) {
            this.#expunge(r.origin, r.seq, rkey);
            n++;
          }
        }
      }
    }
    this.#expunged += n;
    if (n > 0) this.#onErase();
    return n;
  }

  #expunge(origin: string, seq: number, rkey: string): void {
    this.#beforeExpunge(origin, seq);
    this.#s.blank.run(origin, seq);
    this.#s.drop.run(rkey, origin, seq);
  }
}
