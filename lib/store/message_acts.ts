/**
 * What `act` ops made of messages (lib/rules/message_acts.ts, applied op by
 * op: every rule there is order-independent, so each op is one upsert):
 * the winning edit of each message, the tombstones of deleted ones, the
 * reactions, and each account's read marker per room. Private to
 * lib/store/: reached through Store (`store.acts`).
 *
 * A deletion removes the message's text from the op log (the message op's
 * and every edit's), its row from `messages`, its reactions and its search
 * entry, and notes an erasure so that the files are scrubbed after the
 * commit (lib/store/scrub.ts). Its id stays in `redactions`, so a copy of
 * the message, or an edit of it, that arrives later is stored without text.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { MsgId, Op } from "../wire/messages.ts";
import type { Key } from "../rules/conflict.ts";
import { editWins, laterMark, reactionWins } from "../rules/message_acts.ts";
import { nameKey } from "../wire/names.ts";
import { OP_ROW } from "./_messages_sql.ts";

export const ACTS_DDL = `
CREATE TABLE IF NOT EXISTS edits (torigin TEXT NOT NULL, tseq INTEGER NOT NULL, ksum INTEGER NOT NULL, korigin TEXT NOT NULL,
  eorigin TEXT NOT NULL, eseq INTEGER NOT NULL, PRIMARY KEY (torigin, tseq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS redactions (torigin TEXT NOT NULL, tseq INTEGER NOT NULL, PRIMARY KEY (torigin, tseq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reactions (torigin TEXT NOT NULL, tseq INTEGER NOT NULL, ukey TEXT NOT NULL, text TEXT NOT NULL,
  state INTEGER NOT NULL, ksum INTEGER NOT NULL, korigin TEXT NOT NULL, PRIMARY KEY (torigin, tseq, text, ukey)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS read_marks (reg TEXT NOT NULL, rkey TEXT NOT NULL, torigin TEXT NOT NULL, tseq INTEGER NOT NULL,
  ksum INTEGER NOT NULL, korigin TEXT NOT NULL, PRIMARY KEY (reg, rkey)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ops_act ON ops (conf) WHERE kind = 'act';
`;

/** Bits of `messages.flags`: the message was edited; it has (or had) reactions. */
export const EDITED = 1;
export const REACTED = 2;

/** What `apply` needs of the messages table (lib/store/messages.ts). */
type MessageRows = {
  remove(origin: string, seq: number): string | null;
  reindex(origin: string, seq: number, text: string): void;
  flag(origin: string, seq: number, bit: number): void;
};

const split = (id: string): [string, number] => {
  const dot = id.lastIndexOf(".");
  return [id.slice(0, dot), Number(id.slice(dot + 1))];
};

export class MessageActs {
  #s: Record<
    | "redacted" | "redact" | "blankMsg" | "blankEdits" | "dropEdit" | "dropReactions" | "edit" | "setEdit" | "reaction" | "setReaction"
    | "counts" | "pending" | "mark" | "setMark" | "marks" | "blankOp" | "opKeyOf",
    StatementSync
  >;
  /** False while `redactions` is empty (most databases, most of the time): a copy arriving from a peer skips the look-up. */
  #anyRedacted: boolean;

  constructor(db: DatabaseSync) {
    const p = (sql: string) => db.prepare(sql);
    this.#anyRedacted = (db.prepare("SELECT EXISTS (SELECT 1 FROM redactions) AS x").get() as { x: number }).x === 1;
    this.#s = {
      redacted: p("SELECT 1 AS x FROM redactions WHERE torigin = ? AND tseq = ?"),
      redact: p("INSERT OR IGNORE INTO redactions (torigin, tseq) VALUES (?, ?)"),
      blankMsg: p("UPDATE ops SET msg = '' WHERE origin = ? AND seq = ? AND kind = 'msg'"),
      blankEdits: p("UPDATE ops SET msg = '' WHERE kind = 'act' AND conf = ? AND msg <> ''"),
      blankOp: p("UPDATE ops SET msg = '' WHERE origin = ? AND seq = ?"),
      dropEdit: p("DELETE FROM edits WHERE torigin = ? AND tseq = ?"),
      dropReactions: p("DELETE FROM reactions WHERE torigin = ? AND tseq = ?"),
      edit: p("SELECT ksum, korigin FROM edits WHERE torigin = ? AND tseq = ?"),
      setEdit: p("INSERT OR REPLACE INTO edits (torigin, tseq, ksum, korigin, eorigin, eseq) VALUES (?,?,?,?,?,?)"),
      reaction: p("SELECT state, ksum, korigin FROM reactions WHERE torigin = ? AND tseq = ? AND text = ? AND ukey = ?"),
      setReaction: p("INSERT OR REPLACE INTO reactions (torigin, tseq, ukey, text, state, ksum, korigin) VALUES (?,?,?,?,?,?,?)"),
      counts: p("SELECT text, count(*) AS n FROM reactions WHERE torigin = ? AND tseq = ? AND state = 1 GROUP BY text ORDER BY text"),
      pending: p(
        "SELECT EXISTS (SELECT 1 FROM edits WHERE torigin = ?1 AND tseq = ?2) AS edited, " +
          "EXISTS (SELECT 1 FROM reactions WHERE torigin = ?1 AND tseq = ?2) AS reacted",
      ),
      mark: p("SELECT torigin, tseq, ksum, korigin FROM read_marks WHERE reg = ? AND rkey = ?"),
      setMark: p("INSERT OR REPLACE INTO read_marks (reg, rkey, torigin, tseq, ksum, korigin) VALUES (?,?,?,?,?,?)"),
      marks: p("SELECT rkey, torigin, tseq, ksum, korigin FROM read_marks WHERE reg = ?"),
      opKeyOf: p(`SELECT m.ksum FROM ${OP_ROW} AND m.notice IN (0, 1) WHERE o.origin = ? AND o.seq = ? LIMIT 1`),
    };
  }

  /**
   * Applies an `act` op of key `k`: "changed" when it changed a message (its
   * notice goes in the room's stream), "erased" when it deleted one (text
   * left the database: scrub the files after the commit), null when it
   * changed nothing (an older edit, a repeated reaction, a read marker).
   */
  apply(op: Op & { kind: "act" }, k: Key, messages: MessageRows): "changed" | "erased" | null {
    const [o, n] = split(op.target);
    switch (op.action) {
      case "read":
        this.mark(op.text, nameKey(op.groupName), op.target);
        return null;
      case "del":
        if (this.redacted(o, n)) return null;
        messages.remove(o, n); // first: the search index is given the words it forgets
        this.redact(op.target);
        return "erased";
      case "edit":
        if (op.text === "" || !this.edit(op.target, k, op, () => messages.reindex(o, n, op.text))) return null;
        messages.flag(o, n, EDITED);
        return "changed";
      case "react":
      case "unreact":
        if (this.redacted(o, n) || !this.react(op.target, op.userName, op.text, op.action === "react", k)) return null;
        messages.flag(o, n, REACTED);
        return "changed";
    }
  }

  /** `op`, or when it is a message or an edit of a message deleted already, `op` without its text (as it is then stored). */
  withoutText(op: Op): Op {
    if (op.kind === "msg" && op.msg !== "" && this.redacted(op.origin, op.seq)) return { ...op, msg: "" };
    if (op.kind === "act" && op.action === "edit" && this.redacted(...split(op.target))) return { ...op, text: "" };
    return op;
  }

  /** True when message `origin.seq` was deleted (a copy or an edit of it arriving now is stored without text). */
  redacted(origin: string, seq: number): boolean {
    return this.#anyRedacted && this.#s.redacted.get(origin, seq) !== undefined;
  }

  /** The flags a message stored now starts with (edits or reactions that came before it: only out of causal order). */
  pendingFlags(origin: string, seq: number): number {
    const r = this.#s.pending.get(origin, seq) as { edited: number; reacted: number };
    return (r.edited ? 1 : 0) | (r.reacted ? 2 : 0);
  }

  /** Deletes message `target`: a tombstone, and its text, edits and reactions go. Returns false when it was deleted already. */
  redact(target: string): boolean {
    const [o, n] = split(target);
    if (this.redacted(o, n)) return false;
    this.#anyRedacted = true;
    this.#s.redact.run(o, n);
    this.#s.blankMsg.run(o, n);
    this.#s.blankEdits.run(target);
    this.#s.dropEdit.run(o, n);
    this.#s.dropReactions.run(o, n);
    return true;
  }

  /** The text of op `origin.seq` goes (an edit of a deleted message). */
  blank(origin: string, seq: number): void {
    this.#s.blankOp.run(origin, seq);
  }

  /**
   * Edit `edit` (key `k`) of message `target`: true when it is now the
   * message's text (the larger key wins); `before` runs just before it is
   * recorded (the search index reads the old text then).
   */
  edit(target: string, k: Key, edit: { origin: string; seq: number }, before: () => void = () => {}): boolean {
    const [o, n] = split(target);
    const cur = this.#s.edit.get(o, n) as { ksum: number; korigin: string } | undefined;
    if (!editWins(cur ? [cur.ksum, cur.korigin] : null, k)) return false;
    before();
    this.#s.setEdit.run(o, n, k[0], k[1], edit.origin, edit.seq);
    return true;
  }

  /** A react (`on`) or unreact of `user` with `text` on `target`: true when it changed the state (the larger key wins). */
  react(target: string, user: string, text: string, on: boolean, k: Key): boolean {
    const [o, n] = split(target);
    const ukey = nameKey(user);
    const cur = this.#s.reaction.get(o, n, text, ukey) as { state: number; ksum: number; korigin: string } | undefined;
    if (!reactionWins(cur ? [cur.ksum, cur.korigin] : null, k)) return false;
    this.#s.setReaction.run(o, n, ukey, text, on ? 1 : 0, k[0], k[1]);
    return true;
  }

  /** Whether `user` has reaction `text` on `target` now. */
  hasReaction(target: string, user: string, text: string): boolean {
    const [o, n] = split(target);
    const cur = this.#s.reaction.get(o, n, text, nameKey(user)) as { state: number } | undefined;
    return cur?.state === 1;
  }

  /** Reaction counts of a message, in code-point order of their texts. */
  counts(origin: string, seq: number): [string, number][] {
    return (this.#s.counts.all(origin, seq) as { text: string; n: number }[]).map((r) => [r.text, r.n]);
  }

  /**
   * Account `reg`'s read marker in room `rkey` moves to message `target` if
   * that message is later (by its key) than the marker's. The message's key
   * is its op's: (ksum, origin). False when unchanged or the message is unknown.
   */
  mark(reg: string, rkey: string, target: string): boolean {
    const [o, n] = split(target);
    const row = this.#s.opKeyOf.get(o, n) as { ksum: number } | undefined;
    if (!row) return false;
    const k: Key = [row.ksum, o];
    const cur = this.#s.mark.get(reg, rkey) as { ksum: number; korigin: string } | undefined;
    if (!laterMark(cur ? [cur.ksum, cur.korigin] : null, k)) return false;
    this.#s.setMark.run(reg, rkey, o, n, k[0], k[1]);
    return true;
  }

  /** Account `reg`'s read markers: room key → the message and its key. */
  marks(reg: string): Map<string, { mark: MsgId; key: Key }> {
    const out = new Map<string, { mark: MsgId; key: Key }>();
    type Row = { rkey: string; torigin: string; tseq: number; ksum: number; korigin: string };
    for (const r of this.#s.marks.all(reg) as Row[]) out.set(r.rkey, { mark: { origin: r.torigin, n: r.tseq }, key: [r.ksum, r.korigin] });
    return out;
  }
}
