/**
 * The SQLite store of one server: the op log and the tables derived from it
 * (docs/ARCHITECTURE.md). Every change is an `Op`: `appendLocal` makes one
 * here, `applyRemote` applies one made elsewhere; both apply it with the
 * rules of lib/rules/conflict.ts, so every server ends in the same state
 * whatever the arrival order. Sessions, name claims, rooms and messages
 * each live in their own module of this folder (`store.sessions`,
 * `store.rooms`, `store.messages`, `store.replies`); this class is the
 * log, the transactions and the one entrance for writes.
 *
 * Writes happen inside a transaction the caller opens with `begin()` and
 * ends with `commit()` (the group commit, lib/server/commit.ts). Time is passed in.
 *
 * @example
 * ```ts
 * const store = Store.open("data/a.sqlite", "a");
 * store.begin();
 * const op = store.appendLocal({ kind: "login", session: "ab12…", userName: "bob", ttl: 300 }, Date.now());
 * store.commit();
 * op.seq; // 1
 * ```
 */
import type { DatabaseSync } from "node:sqlite";
import type { Op, OpInput } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { advance, formatVector, get } from "../wire/vector.ts";
import { nameKey } from "../wire/names.ts";
import { openDatabase, type SyncMode } from "./_schema.ts";
import { OpLogTable } from "./op_log.ts";
import { opKey } from "../rules/conflict.ts";
import { type SessionRecord, Sessions } from "./sessions.ts";
import { NameClaims } from "./name_claims.ts";
import { Rooms } from "./rooms.ts";
import { Retention, type RetentionLimits } from "./retention.ts";
import { type MessageEntry, Messages, type StoredAdd } from "./messages.ts";
import { Settling } from "./settling.ts";
import { SavedReplies } from "./replies.ts";
import { HighWater } from "./high_water.ts";
import { clearBackupMark } from "./backup.ts";
import { type AsyncSync, WalSync } from "./wal_sync.ts";
import { Transactions } from "./transactions.ts";
import { serverOf } from "../rules/incarnation.ts";
import { Accounts } from "./accounts.ts";
import { Moderation } from "./moderation.ts";
import { Conversations } from "./conversations.ts";
import { Erasures } from "./scrub.ts";
import { MessageActs } from "./message_acts.ts";

export type { MessageEntry, OpInput, SessionRecord, StoredAdd };

/** The rooms a commit changed, by room key: those with new visible messages, and those with new notices (docs/PROTOCOL.md "Notices"). */
export type Dirty = { rooms: Set<string>; notices: Set<string> };


export type StoreOptions = {
  /** "full" (default) survives power loss; "normal" only a process crash. */
  sync?: SyncMode;
  /** Flushes a file to disk (tests count the calls). Default: fsyncSync. */
  syncFile?: (fd: number) => void;
  /** The same on the thread pool (the group commit's pipelined sync). Default: fs.fsync, or `syncFile` run at once when given. */
  syncFileAsync?: AsyncSync;
  /** Session activity is logged (touch op, table write) at most this often, ms. Default: ttl/10, ≤ 30 s. */
  touchEveryMs?: number;
  /** Remember where each name's claims were settled (default true); false: every login reads all claims (tests compare). */
  rememberSettlements?: boolean;
  /** The retention limit (lib/store/retention.ts); default: messages are kept for good. */
  retention?: RetentionLimits;
  /** Keep the full-text search index (lib/store/search.ts; default true). */
  search?: boolean;
};

export class Store {
  readonly db: DatabaseSync;
  readonly sessions: Sessions;
  readonly rooms: Rooms;
  readonly messages: Messages;
  /** Which copies polls and history may list yet (lib/store/settling.ts); the server installs its rule. */
  readonly settling = new Settling();
  readonly replies: SavedReplies;
  /** Registered names (lib/rules/ledger.ts) and the registration each session proved. */
  readonly accounts: Accounts;
  /** Rooms' owners, operators, bans, invitations, mode and topic (lib/rules/moderation.ts). */
  readonly moderation: Moderation;
  /** Who is in which direct conversation. */
  readonly conversations: Conversations;
  /** Edits, deletions, reactions and read markers (lib/rules/message_acts.ts). */
  readonly acts: MessageActs;
  /** Expunges old messages when a limit is set (housekeeping calls its sweep). */
  readonly retention: Retention;
  /** Whether text was deleted (after a commit that deleted some, its files are scrubbed: lib/store/scrub.ts). */
  readonly erasures = new Erasures();
  /** Ops made here but `touch` (read only): a request that leaves it as it was changed nothing (no saved reply, no quota). */
  changes = 0;
  #names: NameClaims;
  #vector: Vector;
  #dirty: Dirty = { rooms: new Set(), notices: new Set() };
  #localOps: Op[] = [];
  #log: OpLogTable;
  /** The origin ops made here are written under (lib/rules/incarnation.ts). */
  #self: string;
  /** BEGIN, COMMIT, the log's sync and the high-water mark (lib/store/transactions.ts). */
  #tx: Transactions;

  /**
   * Opens or creates the database at `path` for server `self`; throws a
   * readable Error. With sync "full", SQLite runs at NORMAL and `commit`
   * syncs the write-ahead log itself: then a commit that holds only ops
   * already durable at their origin may skip the wait (`commit(false)`);
   * SQLite alone cannot choose per transaction.
   */
  static open(path: string, self: string, options: StoreOptions = {}): Store {
    const sync = options.sync ?? "full";
    const db = openDatabase(path, sync);
    const store = new Store(db, self, options);
    const tx = store.#tx;
    tx.hwm = new HighWater(`${path}.hwm`);
    tx.hwm.reset(get(store.#vector, self));
    // Without a log file to hold, SQLite keeps syncing every commit (FULL).
    tx.wal = sync === "full" ? WalSync.open(db, path, options.syncFile, options.syncFileAsync) : null;
    if (tx.wal) db.exec("PRAGMA synchronous = NORMAL");
    return store;
  }

  constructor(db: DatabaseSync, self: string, options: StoreOptions = {}) {
    this.db = db;
    this.#self = self;
    this.sessions = new Sessions(db, options.touchEveryMs);
    this.#names = new NameClaims(db, this.sessions, options.rememberSettlements !== false);
    this.rooms = new Rooms(db, this.sessions);
    this.acts = new MessageActs(db);
    this.messages = new Messages(db, this.acts, options.search !== false);
    this.replies = new SavedReplies(db);
    this.accounts = new Accounts(db);
    this.moderation = new Moderation(db);
    this.conversations = new Conversations(db);
    this.retention = new Retention(db, options.retention ?? { maxAgeMs: 0, maxPerRoom: 0 }, () => this.erasures.note(), (o, n) => this.messages.remove(o, n));
    this.#log = new OpLogTable(db);
    this.#vector = this.#log.vector();
    this.#tx = new Transactions(db, () => ({ origin: this.#self, seq: get(this.#vector, this.#self) }), this.messages.visible.flush);
  }

  // --- Transactions -----------------------------------------------------------

  /** Opens the write transaction unless one is open: IMMEDIATE, so it waits (busy timeout) for a write lock the checkpoint worker
   * holds; a deferred BEGIN that read first fails its first write at once ("database is locked"), and that stops the server. */
  begin(): void {
    this.#tx.begin();
  }

  /**
   * Commits the open transaction, if any, and (under --sync full) waits for
   * the disk. `sync` false: the writes are already durable elsewhere (ops
   * from peers), so the wait is skipped; the next synced commit or
   * checkpoint syncs them too. Throws what SQLite or the sync throws.
   */
  commit(sync = true): void {
    this.#tx.commit(sync);
  }

  /** Commits the open transaction, if any, without waiting for the disk; `syncCommitted` or `syncCommittedAsync` must follow. */
  commitUnsynced(): void {
    this.#tx.commitUnsynced();
  }

  /** Waits for the disk to hold what was committed (under --sync full), then notes the high-water mark. */
  syncCommitted(): void {
    this.#tx.syncCommitted();
  }

  /** The same without blocking: `done` runs once an fsync started now has finished (lib/store/transactions.ts). */
  syncCommittedAsync(done: (error: Error | null) => void): void {
    this.#tx.syncCommittedAsync(done);
  }

  /** The origin ops made here get (the server id, or an incarnation of it). */
  get self(): string {
    return this.#self;
  }

  /** The origin the database was last set to write under, or null (a new database). */
  storedOrigin(): string | null {
    const row = this.db.prepare("SELECT v FROM meta WHERE k = 'origin'").get() as { v: string } | undefined;
    if (row) return row.v;
    // Databases made before incarnations wrote under the plain id.
    return this.#vector.has(this.#self) ? this.#self : null;
  }

  /** The high-water mark beside the database (lib/store/high_water.ts), or null when there is none. */
  readHighWater(): { origin: string; seq: number } | null {
    return this.#tx.hwm?.read() ?? null;
  }

  /** Writes ops under `origin` from now on (before the first local op; lib/rules/incarnation.ts chooses it); clears a backup's mark (lib/store/backup.ts). */
  setOrigin(origin: string): void {
    this.#self = origin;
    this.db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('origin', ?)").run(origin);
    clearBackupMark(this.db);
    this.#tx.hwm?.reset(get(this.#vector, origin));
  }

  /** Writes the in-memory session activity to the table and closes the database. */
  close(): void {
    if (this.db.isOpen) {
      this.begin();
      this.sessions.saveAll();
      this.commit();
      this.db.close();
    }
    this.#tx.close();
  }

  // --- The op log (the API replication builds on) ------------------------------

  /** For each origin, the highest seq applied here. */
  vector(): Vector {
    return this.#vector;
  }

  /** True when op origin.seq is in the log. */
  hasOp(origin: string, seq: number): boolean {
    return this.#log.has(origin, seq);
  }

  /**
   * Makes an op at this server (next seq, deps = vector minus self), logs and
   * applies it. `noTwin`: for a message, the caller has just seen (addByTag)
   * that its (session, tag) has no visible message, so the twin look-up is skipped.
   */
  appendLocal(input: OpInput, at: number, noTwin = false): Op {
    const deps = new Map(this.#vector);
    deps.delete(this.#self);
    const op = { ...input, origin: this.#self, seq: get(this.#vector, this.#self) + 1, deps, at } as Op;
    this.#apply(op, noTwin);
    this.#localOps.push(op);
    if (op.kind !== "touch") this.changes++;
    return op;
  }

  /**
   * Applies an op made elsewhere; the caller checked it is causally ready
   * (`vector()[origin] == seq - 1` and `vector() ≥ deps`). Known ops (seq ≤ the vector's: no look-up) are ignored.
   */
  applyRemote(op: Op): boolean {
    if (get(this.#vector, op.origin) >= op.seq) return false;
    this.#apply(op, false);
    return true;
  }

  /** Removes the ops of origins that do not exist (see OpLogTable.dropForeign); returns how many. */
  dropForeignOrigins(isOrigin: (origin: string) => boolean): number {
    this.begin();
    const n = this.#log.dropForeign(this.db, isOrigin);
    this.commit();
    if (n > 0) this.#vector = this.#log.vector();
    return n;
  }

  /** Up to `limit` ops `v` lacks, in this server's application order (a causal order). */
  opsAfter(v: Vector, limit: number): Op[] {
    return this.#log.after(this.#vector, v, limit);
  }

  /** Ops made here since the last call (for replication to send after commit). */
  takeLocalOps(): Op[] {
    const out = this.#localOps;
    this.#localOps = [];
    return out;
  }

  /** Room keys that got a visible message, and those that got a notice, since the last call (to wake long polls). */
  takeDirty(): Dirty {
    const out = this.#dirty;
    this.#dirty = { rooms: new Set(), notices: new Set() };
    return out;
  }

  // --- Applying ops (ARCHITECTURE.md "Applying ops") ---------------------------

  #apply(given: Op, noTwin: boolean): void {
    // A message, or an edit, of a message deleted already is stored without its text (lib/rules/message_acts.ts: delete wins);
    // a message made here now has a new id, which nothing can have deleted yet.
    const op = given.kind === "msg" && given.origin === this.#self ? given : this.acts.withoutText(given);
    const aseq = this.#log.insert(op);
    this.#vector = advance(this.#vector, op.origin, op.seq);
    const key = opKey(op);
    switch (op.kind) {
      case "login": {
        const loginVector = formatVector(advance(op.deps, op.origin, op.seq));
        const row = { id: op.session, user: op.userName, ttl: op.ttl, at: op.at, ksum: key[0], korigin: key[1], loginVector };
        this.sessions.insert(row);
        // A login proven by password does not claim the name: the account holds it (ARCHITECTURE.md "Accounts").
        if (op.account !== undefined) this.accounts.bind(op.session, op.account);
        else this.#names.claim(nameKey(op.userName), { ...row, login_vt: loginVector, logouts: "", born: op.at });
        break;
      }
      case "acct":
        this.accounts.applied({ id: `${op.origin}.${op.seq}`, key, action: op.action, userName: op.userName, data: op.data });
        if (op.action === "reg") this.accounts.bind(op.session, `${op.origin}.${op.seq}`);
        break;
      case "mod":
        this.moderation.applied(op.groupName, { key, action: op.action, actor: op.userName, target: op.target, text: op.text, at: op.at });
        this.#noticeRow(op, aseq); // an invite too: invite-notify for the room (the invitee is told in a direct message)
        break;
      case "logout": {
        this.#names.logout(op.session, `${op.origin}.${op.seq}`);
        this.sessions.end(op.session);
        const s = this.sessions.get(op.session);
        if (s) this.#names.changed(s.ukey, s.id);
        break;
      }
      case "touch":
        break;
      case "open":
      case "join":
        {
          const s = this.sessions.get(op.session);
          this.rooms.enter(op.kind, op.groupName, op.session, key, s ? this.sessions.expiresBound(s) : Number.MAX_SAFE_INTEGER);
          // The first open's creator owns the room (lib/rules/moderation.ts).
          if (op.kind === "open") this.moderation.changed(op.groupName);
          else this.#noticeRow(op, aseq);
        }
        break;
      case "leave":
        this.rooms.leave(op.groupName, op.session);
        this.#noticeRow(op, aseq);
        break;
      case "msg": {
        if (op.msg === "") break; // expunged at its sender by the retention limit: a tombstone, no message
        // A confirmer is bound to the first copy of (session, tag) it made or confirmed (ARCHITECTURE.md "Acks"; lib/rules/binding.ts).
        const me = serverOf(this.#self);
        const refuse = op.conf === me && op.origin !== this.#self && this.messages.refuses(op.session, op.tag, me, op.origin, key);
        const rkey = nameKey(op.groupName);
        if (rkey.charCodeAt(0) === 64 /* "@": a direct conversation */) this.conversations.note(rkey);
        if (this.messages.insert(op, rkey, aseq, key, noTwin && op.origin === this.#self)) this.#dirty.rooms.add(rkey);
        this.retention.noteMessage(rkey);
        if (refuse) this.appendLocal({ kind: "hide", session: op.session, target: `${op.origin}.${op.seq}` }, op.at);
        break;
      }
      case "hide": {
        const rkey = this.messages.refuse(op.target);
        if (rkey !== null) this.#dirty.rooms.add(rkey);
        return; // not activity of the session
      }
      case "act": { // lib/rules/message_acts.ts; one that changed a message is a notice (docs/PROTOCOL.md "Message actions")
        const did = this.acts.apply(op, key, this.messages);
        if (did === "erased") this.erasures.note();
        if (did !== null) this.#noticeRow(op, aseq);
        break;
      }
    }
    this.#activity(op.session, op.at, op.kind === "touch", op.origin !== this.#self);
  }

  /**
   * The notice of a join, leave, moderation or message act in its room's stream (listed to clients that ask: docs/PROTOCOL.md
   * "Notices"); only polls that asked for notices wake for one (a join in a room of 1,000 held polls wakes none of the others).
   */
  #noticeRow(op: Op & { groupName: string }, aseq: number): void {
    this.messages.insertNotice(nameKey(op.groupName), aseq, op.origin, op.seq, op.session);
    this.#dirty.notices.add(nameKey(op.groupName));
  }

  /** Every op of a session counts as activity at its time. */
  #activity(session: string, at: number, force: boolean, remote: boolean): void {
    const s = this.sessions.get(session);
    if (s && this.sessions.noteActivity(s, at, force, remote)) this.#names.changed(s.ukey, s.id);
  }

  // --- Sessions, members, messages (the rest: store.sessions, store.rooms, store.messages) ---

  /** The session with this id (SHA-256 of its token, hex), or null. */
  session(id: string): SessionRecord | null {
    return this.sessions.get(id);
  }

  /**
   * Records a request of session `s` at `now`; logs a `touch` op when its
   * activity was last logged long enough ago. Returns the op if one was made.
   */
  refresh(s: SessionRecord, now: number): Op | null {
    if (now > s.lastActive) {
      s.lastActive = now;
      this.#names.changed(s.ukey, s.id);
    }
    if (now - s.loggedActive < this.sessions.touchEvery(s)) return null;
    return this.appendLocal({ kind: "touch", session: s.id }, now);
  }

  /** Member sessions of a room that may be live at `now`, sorted by case-folded user name after `after` (callers check isLive). */
  membersAfter(groupName: string, after: string | null, limit: number, now: number): SessionRecord[] {
    return this.rooms.memberIdsAfter(groupName, after, limit, now).map((id) => this.sessions.get(id)).filter((s): s is SessionRecord => s !== null);
  }

  /** Visible messages of a room the cursor does not cover, in delivery order (lazily). */
  uncovered(groupName: string, cursor: Vector, notices = false): Generator<MessageEntry> {
    return this.messages.uncovered(groupName, cursor, this.#vector.keys(), notices, this.settling);
  }
}
