/**
 * The SQLite store of one server: the op log and the tables derived from it
 * (docs/ARCHITECTURE.md). Every change is an `Op`: `appendLocal` makes one
 * here, `applyRemote` applies one made elsewhere; both apply it with the same
 * rules, so every server ends in the same state whatever the arrival order.
 *
 * Writes happen inside a transaction the caller opens with `begin()` and
 * ends with `commit()` (group commit, lib/server_app.ts). Time is passed in.
 * Only sessions are cached in memory; messages stay on disk.
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
import { closeSync, fsyncSync, openSync } from "node:fs";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Op } from "./messages.ts";
import type { Vector } from "./vector.ts";
import { advance, formatVector, fromEntries, get, sum } from "./vector.ts";
import { openDatabase, type SyncMode } from "./_store_schema.ts";
import { opFromRow, type OpRow, opToParams, parseVectorText } from "./_store_ops.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a caller gives to `appendLocal`: an op without origin, seq, deps and time. */
export type OpInput = DistributiveOmit<Op, "origin" | "seq" | "deps" | "at">;

/** A session as the store knows it. `lastActive` includes unlogged activity. */
export type SessionRecord = {
  id: string;
  user: string;
  ukey: string;
  /** Idle lifetime in seconds. */
  ttl: number;
  /** Time of the login op. */
  born: number;
  lastActive: number;
  ended: boolean;
  ksum: number;
  korigin: string;
  /** Newest activity written to the sessions table. */
  savedActive: number;
  /** Newest activity recorded by an op of this session. */
  loggedActive: number;
  /**
   * Newest activity learnt from an op made at another server (0: none). Such
   * activity is logged at most every ttl/10 there, so it may lag the real
   * one: `isLive` allows `remoteSlack` for it.
   */
  remoteActive: number;
};

/** A visible message of a room, as polls list it. */
export type MessageEntry = { origin: string; seq: number; user: string; at: number; msg: string };

/** The stored message of an add, found by (session, tag). */
export type StoredAdd = { origin: string; seq: number; rkey: string; msg: string };

export type StoreOptions = {
  /** "full" (default) survives power loss; "normal" only a process crash. */
  sync?: SyncMode;
  /** Flushes a file to disk (tests count the calls). Default: fsyncSync. */
  syncFile?: (fd: number) => void;
  /** Session activity is logged (touch op, table write) at most this often, ms. Default: ttl/10, ≤ 30 s. */
  touchEveryMs?: number;
  /** Remember where each name's claims were settled (default true); false: every login reads all claims (tests compare). */
  rememberSettlements?: boolean;
};

/** A claim of a user name: the session row fields that settling reads. */
type Claim = { id: string; ksum: number; korigin: string; login_vt: string; logouts: string; born: number };

/** Names whose settlement is remembered at most (the oldest is forgotten first). */
const SETTLED_NAMES = 4096;

/** Conflict key of an op: (sum of its full timestamp, origin); smaller wins. */
export function opKey(op: Pick<Op, "deps" | "seq" | "origin">): [number, string] {
  return [sum(op.deps) - get(op.deps, op.origin) + op.seq, op.origin];
}

/** True when key a is smaller than key b. */
export function keyLess(a: readonly [number, string], b: readonly [number, string]): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** Case-folded key of a user or room name. */
export const nameKey = (name: string): string => name.toLowerCase();

/**
 * Extra lifetime allowed for activity seen at another server, ms: that server
 * logs activity (touch ops) at most every ttl/10, so its last logged activity
 * may be up to ttl/10 (plus replication delay) older than the real one.
 */
export function remoteSlack(ttlSeconds: number): number {
  return Math.ceil(ttlSeconds * 100) + 1000;
}

/**
 * True while a session is not ended and `now ≤ lastActive + ttl` — or, for
 * activity last seen at another server, `now ≤ remoteActive + ttl + ttl/10 + 1 s`
 * (a live session is never expired early here because its activity there was
 * logged late).
 */
export function isLive(s: SessionRecord, now: number): boolean {
  if (s.ended) return false;
  const ttl = s.ttl * 1000;
  return now <= s.lastActive + ttl || (s.remoteActive > 0 && now <= s.remoteActive + ttl + remoteSlack(s.ttl));
}

const SCAN_BATCH = 64;

export class Store {
  readonly db: DatabaseSync;
  readonly self: string;
  #vector: Vector;
  #sessions = new Map<string, SessionRecord>();
  #touchEveryMs: number | undefined;
  #dirtyRooms = new Set<string>();
  /** (session, tag) that the last addByTag found no visible message for; cleared by any message written since. */
  #noTwin: { session: string; tag: string } | null = null;
  #localOps: Op[] = [];
  #s: Record<string, StatementSync>;
  /**
   * Per name (case-folded): the key of its newest claim settled and the
   * holder its chain ended with, kept while no earlier claim changes (see
   * #settleName); null when not remembered at all.
   */
  #settled: Map<string, { key: [number, string]; holder: string }> | null;
  /** The write-ahead log, which `commit` syncs itself under --sync full (see `open`); null: SQLite's setting rules. */
  #wal: { fd: number; sync: (fd: number) => void } | null = null;

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
    if (sync === "full") {
      try {
        const fd = openSync(`${path}-wal`, "r");
        db.exec("PRAGMA synchronous = NORMAL");
        store.#wal = { fd, sync: options.syncFile ?? fsyncSync };
      } catch {
        // No log file to hold: SQLite keeps syncing every commit (FULL).
      }
    }
    return store;
  }

  constructor(db: DatabaseSync, self: string, options: StoreOptions = {}) {
    this.db = db;
    this.self = self;
    this.#touchEveryMs = options.touchEveryMs;
    this.#settled = options.rememberSettlements === false ? null : new Map();
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      vector: p("SELECT origin, max(seq) AS n FROM ops GROUP BY origin"),
      insertOp: p(
        "INSERT INTO ops (origin, seq, kind, deps, at, session, room, user, tag, msg, ttl) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      ),
      hasOp: p("SELECT 1 AS x FROM ops WHERE origin = ? AND seq = ?"),
      opAseq: p("SELECT aseq FROM ops WHERE origin = ? AND seq = ?"),
      opsFrom: p("SELECT * FROM ops WHERE aseq >= ? ORDER BY aseq LIMIT ?"),
      session: p("SELECT * FROM sessions WHERE id = ?"),
      sessionsOfName: p("SELECT id FROM sessions WHERE ukey = ? AND ended = 0"),
      liveSessions: p("SELECT * FROM sessions WHERE ended = 0 AND last_active + ttl * 1100 + 1000 >= ?"),
      insertSession: p(
        "INSERT OR IGNORE INTO sessions (id, user, ukey, ttl, born, last_active, ended, ksum, korigin, login_vt) VALUES (?,?,?,?,?,?,0,?,?,?)",
      ),
      saveActive: p("UPDATE sessions SET last_active = max(last_active, ?) WHERE id = ?"),
      endSession: p("UPDATE sessions SET ended = 1 WHERE id = ?"),
      addLogout: p("UPDATE sessions SET logouts = logouts || (CASE logouts WHEN '' THEN '' ELSE ',' END) || ? WHERE id = ?"),
      namesakes: p("SELECT id, ksum, korigin, login_vt, logouts, born FROM sessions WHERE ukey = ?"),
      claim: p("SELECT id, ksum, korigin, login_vt, logouts, born FROM sessions WHERE id = ?"),
      dropMemberships: p("DELETE FROM members WHERE session = ?"),
      room: p("SELECT rkey, name, ksum, korigin FROM rooms WHERE rkey = ?"),
      insertRoom: p("INSERT INTO rooms (rkey, name, ksum, korigin) VALUES (?,?,?,?)"),
      renameRoom: p("UPDATE rooms SET name = ?, ksum = ?, korigin = ? WHERE rkey = ?"),
      roomsAfter: p("SELECT name FROM rooms WHERE rkey > ? ORDER BY rkey LIMIT ?"),
      isMember: p("SELECT 1 AS x FROM members WHERE rkey = ? AND session = ?"),
      memberRoom: p("SELECT r.name FROM rooms r JOIN members m ON m.rkey = r.rkey WHERE r.rkey = ? AND m.session = ?"),
      join: p("INSERT OR IGNORE INTO members (rkey, session) VALUES (?, ?)"),
      leave: p("DELETE FROM members WHERE rkey = ? AND session = ?"),
      membersAfter: p(
        "SELECT s.id FROM members m JOIN sessions s ON s.id = m.session " +
          "WHERE m.rkey = ? AND s.ended = 0 AND s.ukey > ? ORDER BY s.ukey LIMIT ?",
      ),
      visibleByTag: p("SELECT rkey, dseq, origin, ksum FROM messages WHERE session = ? AND tag = ? AND hidden = 0"),
      hideMessage: p("UPDATE messages SET hidden = 1 WHERE rkey = ? AND dseq = ?"),
      insertMessage: p("INSERT INTO messages (rkey, dseq, origin, seq, session, tag, hidden, ksum) VALUES (?,?,?,?,?,?,?,?)"),
      addByTag: p(
        "SELECT m.rkey, m.origin, m.seq, o.msg FROM messages m JOIN ops o ON o.origin = m.origin AND o.seq = m.seq " +
          "WHERE m.session = ? AND m.tag = ? AND m.hidden = 0",
      ),
      originRange: p(
        "SELECT m.dseq, m.seq, m.hidden, o.user, o.at, o.msg FROM messages m " +
          "JOIN ops o ON o.origin = m.origin AND o.seq = m.seq WHERE m.rkey = ? AND m.origin = ? AND m.seq > ? " +
          "ORDER BY m.seq LIMIT ?",
      ),
      reply: p("SELECT body FROM replies WHERE k = ?"),
      saveReply: p("INSERT OR REPLACE INTO replies (k, at, body) VALUES (?, ?, ?)"),
      pruneReplies: p("DELETE FROM replies WHERE at < ?"),
      messageCount: p("SELECT count(*) AS n FROM messages WHERE hidden = 0"),
    };
    const rows = this.#s.vector.all() as { origin: string; n: number }[];
    this.#vector = fromEntries(rows.map((r) => [r.origin, r.n]));
  }

  // --- Transactions -----------------------------------------------------------

  /** Opens the write transaction unless one is open. */
  begin(): void {
    if (!this.db.isTransaction) this.db.exec("BEGIN");
  }

  /**
   * Commits the open transaction, if any, and (under --sync full) waits for
   * the disk. `sync` false: the writes are already durable elsewhere (ops
   * from peers), so the wait is skipped; the next synced commit or
   * checkpoint syncs them too. Throws what SQLite or the sync throws.
   */
  commit(sync = true): void {
    if (!this.db.isTransaction) return;
    this.db.exec("COMMIT");
    if (sync && this.#wal) this.#wal.sync(this.#wal.fd);
  }

  /** Sets SQLite's auto-checkpoint size, in pages (lib/checkpointer.ts raises it). */
  setAutoCheckpoint(pages: number): void {
    this.db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.trunc(pages))}`);
  }

  /** Writes the in-memory session activity to the table and closes the database. */
  close(): void {
    if (this.db.isOpen) {
      this.begin();
      for (const s of this.#sessions.values()) {
        if (s.lastActive > s.savedActive) this.#s.saveActive.run(s.lastActive, s.id);
      }
      this.commit();
      this.db.close();
    }
    if (this.#wal) {
      closeSync(this.#wal.fd);
      this.#wal = null;
    }
  }

  // --- The op log (the API replication builds on) ------------------------------

  /** For each origin, the highest seq applied here. */
  vector(): Vector {
    return this.#vector;
  }

  /** True when op origin.seq is in the log. */
  hasOp(origin: string, seq: number): boolean {
    return this.#s.hasOp.get(origin, seq) !== undefined;
  }

  /** Makes an op at this server (next seq, deps = vector minus self), logs and applies it. */
  appendLocal(input: OpInput, at: number): Op {
    const deps = new Map(this.#vector);
    deps.delete(this.self);
    const op = { ...input, origin: this.self, seq: get(this.#vector, this.self) + 1, deps, at } as Op;
    this.#apply(op);
    this.#localOps.push(op);
    return op;
  }

  /**
   * Applies an op made elsewhere; the caller checked it is causally ready
   * (`vector()[origin] == seq - 1` and `vector() ≥ deps`). Already-known ops are ignored.
   */
  applyRemote(op: Op): boolean {
    if (get(this.#vector, op.origin) >= op.seq || this.hasOp(op.origin, op.seq)) return false;
    this.#apply(op);
    return true;
  }

  /** Up to `limit` ops `v` lacks, in this server's application order (a causal order). */
  opsAfter(v: Vector, limit: number): Op[] {
    let start = Infinity;
    for (const [origin, n] of this.#vector) {
      if (get(v, origin) >= n) continue;
      const row = this.#s.opAseq.get(origin, get(v, origin) + 1) as { aseq: number } | undefined;
      if (row) start = Math.min(start, row.aseq);
    }
    const out: Op[] = [];
    while (start !== Infinity && out.length < limit) {
      const rows = this.#s.opsFrom.all(start, SCAN_BATCH) as OpRow[];
      for (const r of rows) {
        if (r.seq > get(v, r.origin) && out.length < limit) out.push(opFromRow(r));
      }
      if (rows.length < SCAN_BATCH) break;
      start = rows[rows.length - 1].aseq + 1;
    }
    return out;
  }

  /** Ops made here since the last call (for replication to send after commit). */
  takeLocalOps(): Op[] {
    const out = this.#localOps;
    this.#localOps = [];
    return out;
  }

  /** Room keys that got a message since the last call (to wake long polls). */
  takeDirtyRooms(): Set<string> {
    const out = this.#dirtyRooms;
    this.#dirtyRooms = new Set();
    return out;
  }

  // --- Applying ops (ARCHITECTURE.md "Applying ops") ---------------------------

  #apply(op: Op): void {
    const r = this.#s.insertOp.run(...opToParams(op));
    const aseq = Number(r.lastInsertRowid);
    this.#vector = advance(this.#vector, op.origin, op.seq);
    const [ksum, korigin] = opKey(op);
    switch (op.kind) {
      case "login":
        this.#login(op, ksum, korigin);
        break;
      case "logout": {
        this.#s.addLogout.run(`${op.origin}.${op.seq}`, op.session);
        this.#end(op.session);
        // (Cannot change an earlier judgement — a claim that saw this logout
        // arrives after it — but a logout is rare and forgetting is cheap.)
        const s = this.session(op.session);
        if (s) this.#claimChanged(s);
        break;
      }
      case "touch":
        break;
      case "open":
      case "join": {
        const rkey = nameKey(op.groupName);
        const room = this.#s.room.get(rkey) as { name: string; ksum: number; korigin: string } | undefined;
        if (!room) this.#s.insertRoom.run(rkey, op.groupName, ksum, korigin);
        else if (op.kind === "open" && keyLess([ksum, korigin], [room.ksum, room.korigin])) {
          this.#s.renameRoom.run(op.groupName, ksum, korigin, rkey);
        }
        this.#s.join.run(rkey, op.session);
        break;
      }
      case "leave":
        this.#s.leave.run(nameKey(op.groupName), op.session);
        break;
      case "msg":
        this.#message(op, aseq, ksum, korigin);
        break;
    }
    this.#activity(op.session, op.at, op.kind === "touch", op.origin !== this.self);
  }

  #login(op: Op & { kind: "login" }, ksum: number, korigin: string): void {
    const ukey = nameKey(op.userName);
    const vt = formatVector(advance(op.deps, op.origin, op.seq));
    this.#s.insertSession.run(op.session, op.userName, ukey, op.ttl, op.at, op.at, ksum, korigin, vt);
    this.#settleName(ukey, { id: op.session, ksum, korigin, login_vt: vt, logouts: "", born: op.at });
  }

  /**
   * Settles the claims of one name so that every server ends up with the
   * same holder, whatever order the ops arrived in: the claims are taken in
   * key order (a total order consistent with causality); each either becomes
   * the holder — when there is none, when it was made knowing of a logout of
   * the holder, or after the holder had expired — or loses and is ended.
   * The outcome depends only on the set of logins and on each login's own
   * vector, never on which logouts happen to have arrived here already;
   * a claim applied later can only end sessions, never revive one.
   */
  #settleName(ukey: string, claim: Claim): void {
    // The common case, a claim newer than every claim settled before (a
    // local login always is), when no earlier claim has changed since (a
    // logout or newer activity of any but the holder forgets the name,
    // #claimChanged): the chain so far is the same, and only the holder
    // it ended with judges the new claim. A constant cost however many
    // sessions the name has had.
    const known = this.#settled?.get(ukey);
    const key: [number, string] = [claim.ksum, claim.korigin];
    if (known && keyLess(known.key, key)) {
      const holder = this.#s.claim.get(known.holder) as Claim | undefined;
      known.key = key;
      if (holder && !this.#follows(claim, holder)) this.#end(claim.id);
      else known.holder = claim.id;
      return;
    }
    const claims = (this.#s.namesakes.all(ukey) as Claim[])
      .sort((x, y) => (keyLess([x.ksum, x.korigin], [y.ksum, y.korigin]) ? -1 : 1));
    let holder: Claim | null = null;
    for (const c of claims) {
      if (holder !== null && !this.#follows(c, holder)) {
        if (!this.session(c.id)?.ended) this.#end(c.id);
        continue;
      }
      holder = c;
    }
    const last = claims[claims.length - 1];
    if (this.#settled && holder && last) {
      this.#settled.delete(ukey);
      this.#settled.set(ukey, { key: [last.ksum, last.korigin], holder: holder.id });
      if (this.#settled.size > SETTLED_NAMES) this.#settled.delete(this.#settled.keys().next().value as string);
    }
  }

  /** A claim's logouts or activity changed: unless it is the holder a remembered chain ended with, forget the chain. */
  #claimChanged(s: SessionRecord): void {
    if (this.#settled?.get(s.ukey)?.holder !== s.id) this.#settled?.delete(s.ukey);
  }

  /** True when claim `c` was made after `holder` ended: it saw a logout of it, or it had expired. */
  #follows(c: { login_vt: string; born: number }, holder: { id: string; logouts: string }): boolean {
    if (holder.logouts !== "") {
      const seen = parseVectorText(c.login_vt);
      for (const id of holder.logouts.split(",")) {
        const dot = id.lastIndexOf(".");
        if (get(seen, id.slice(0, dot)) >= Number(id.slice(dot + 1))) return true;
      }
    }
    const h = this.session(holder.id);
    // Without the remote slack of isLive: the slack depends on where an op was made, this must not.
    return h !== null && c.born > h.lastActive + h.ttl * 1000;
  }

  #end(session: string): void {
    this.#s.endSession.run(session);
    this.#s.dropMemberships.run(session);
    const s = this.#sessions.get(session);
    if (s) s.ended = true;
  }

  #message(op: Op & { kind: "msg" }, dseq: number, ksum: number, korigin: string): void {
    const rkey = nameKey(op.groupName);
    let hidden = 0;
    // A local add right after addByTag found no visible message of its (session, tag) has no twin.
    const known = this.#noTwin;
    this.#noTwin = null;
    type Twin = { rkey: string; dseq: number; origin: string; ksum: number };
    const checked = op.origin === this.self && known?.session === op.session && known.tag === op.tag;
    const twin = checked ? undefined : this.#s.visibleByTag.get(op.session, op.tag) as Twin | undefined;
    if (twin) {
      if (keyLess([ksum, korigin], [twin.ksum, twin.origin])) this.#s.hideMessage.run(twin.rkey, twin.dseq);
      else hidden = 1;
    }
    this.#s.insertMessage.run(rkey, dseq, op.origin, op.seq, op.session, op.tag, hidden, ksum);
    if (!hidden) this.#dirtyRooms.add(rkey);
  }

  /** Every op of a session counts as activity at its time. */
  #activity(session: string, at: number, force: boolean, remote: boolean): void {
    const s = this.session(session);
    if (!s) return;
    if (at > s.lastActive) {
      s.lastActive = at;
      this.#claimChanged(s);
    }
    if (remote && at > s.remoteActive) s.remoteActive = at;
    if (at > s.loggedActive) s.loggedActive = at;
    if (at > s.savedActive && (force || at - s.savedActive >= this.touchEvery(s))) {
      this.#s.saveActive.run(at, session);
      s.savedActive = at;
    }
  }

  // --- Sessions -------------------------------------------------------------

  /** How often activity of `s` is logged, in ms. */
  touchEvery(s: SessionRecord): number {
    return this.#touchEveryMs ?? Math.max(100, Math.min(30_000, s.ttl * 100));
  }

  /** The session with this id (SHA-256 of its token, hex), or null. */
  session(id: string): SessionRecord | null {
    const cached = this.#sessions.get(id);
    if (cached) return cached;
    const row = this.#s.session.get(id) as
      | {
        id: string;
        user: string;
        ukey: string;
        ttl: number;
        born: number;
        last_active: number;
        ended: number;
        ksum: number;
        korigin: string;
      }
      | undefined;
    if (!row) return null;
    const rec: SessionRecord = {
      id: row.id,
      user: row.user,
      ukey: row.ukey,
      ttl: row.ttl,
      born: row.born,
      lastActive: row.last_active,
      ended: row.ended !== 0,
      ksum: row.ksum,
      korigin: row.korigin,
      savedActive: row.last_active,
      loggedActive: row.last_active,
      // The table does not say where that activity happened: allow the slack.
      remoteActive: row.last_active,
    };
    this.#sessions.set(id, rec);
    return rec;
  }

  /**
   * Records a request of session `s` at `now`; logs a `touch` op when its
   * activity was last logged long enough ago. Returns the op if one was made.
   */
  refresh(s: SessionRecord, now: number): Op | null {
    if (now > s.lastActive) {
      s.lastActive = now;
      this.#claimChanged(s);
    }
    if (now - s.loggedActive < this.touchEvery(s)) return null;
    return this.appendLocal({ kind: "touch", session: s.id }, now);
  }

  /** The live session holding a user name (case-insensitive), or null. */
  liveHolder(userName: string, now: number): SessionRecord | null {
    for (const { id } of this.#s.sessionsOfName.all(nameKey(userName)) as { id: string }[]) {
      const s = this.session(id);
      if (s && isLive(s, now)) return s;
    }
    return null;
  }

  /** Drops ended and long-expired sessions from memory (they stay on disk). */
  forgetIdle(now: number): void {
    for (const [id, s] of this.#sessions) {
      if (s.ended || now > s.lastActive + s.ttl * 1000 + remoteSlack(s.ttl) + 60_000) {
        if (s.lastActive > s.savedActive) {
          this.#s.saveActive.run(s.lastActive, id);
          s.savedActive = s.lastActive;
        }
        this.#sessions.delete(id);
      }
    }
  }

  // --- Rooms and members -------------------------------------------------------

  /** The display name of a room, or null when it does not exist. */
  roomName(groupName: string): string | null {
    const row = this.#s.room.get(nameKey(groupName)) as { name: string } | undefined;
    return row ? row.name : null;
  }

  /** Display names of rooms whose key sorts after `after` (case-folded), in order. */
  roomsAfter(after: string | null, limit: number): string[] {
    const rows = this.#s.roomsAfter.all(after === null ? "" : nameKey(after), limit) as { name: string }[];
    return rows.map((r) => r.name);
  }

  isMember(groupName: string, session: string): boolean {
    return this.#s.isMember.get(nameKey(groupName), session) !== undefined;
  }

  /** The display name of the room if `session` is a member of it, else null (one query for roomName + isMember). */
  memberRoom(groupName: string, session: string): string | null {
    const row = this.#s.memberRoom.get(nameKey(groupName), session) as { name: string } | undefined;
    return row ? row.name : null;
  }

  /** Not-ended member sessions of a room sorted by case-folded user name after `after`. */
  membersAfter(groupName: string, after: string | null, limit: number): SessionRecord[] {
    const rows = this.#s.membersAfter.all(nameKey(groupName), after === null ? "" : nameKey(after), limit) as {
      id: string;
    }[];
    return rows.map((r) => this.session(r.id)).filter((s): s is SessionRecord => s !== null);
  }

  // --- Messages -------------------------------------------------------------

  /** The visible message a session added with `tag`, or null. */
  addByTag(session: string, tag: string): StoredAdd | null {
    const row = this.#s.addByTag.get(session, tag) as StoredAdd | undefined;
    this.#noTwin = row ? null : { session, tag };
    return row ? { origin: row.origin, seq: row.seq, rkey: row.rkey, msg: row.msg } : null;
  }

  /**
   * Visible messages of a room the cursor does not cover, in delivery order,
   * read lazily. Per origin they are a suffix of the room's messages in both
   * seq and delivery order (causal, FIFO delivery), so this merges one index
   * range per origin and never reads a covered message.
   */
  *uncovered(groupName: string, cursor: Vector): Generator<MessageEntry> {
    const rkey = nameKey(groupName);
    type Row = MessageEntry & { dseq: number; hidden: number };
    const streams = [...this.#vector.keys()].map((origin) => ({
      origin,
      after: get(cursor, origin),
      rows: [] as Row[],
      at: 0,
      done: false,
    }));
    const head = (st: typeof streams[number]): Row | null => {
      if (st.at < st.rows.length) return st.rows[st.at];
      if (st.done) return null;
      st.rows = this.#s.originRange.all(rkey, st.origin, st.after, SCAN_BATCH) as Row[];
      st.at = 0;
      st.done = st.rows.length < SCAN_BATCH;
      if (st.rows.length === 0) return null;
      st.after = st.rows[st.rows.length - 1].seq;
      return st.rows[0];
    };
    for (;;) {
      let best: typeof streams[number] | null = null;
      let bestRow: Row | null = null;
      for (const st of streams) {
        const r = head(st);
        if (r && (!bestRow || r.dseq < bestRow.dseq)) (best = st, bestRow = r);
      }
      if (!best || !bestRow) return;
      best.at++;
      if (!bestRow.hidden) {
        yield { origin: best.origin, seq: bestRow.seq, user: bestRow.user, at: bestRow.at, msg: bestRow.msg };
      }
    }
  }

  // --- Saved replies ----------------------------------------------------------

  savedReply(key: string): string | null {
    const row = this.#s.reply.get(key) as { body: string } | undefined;
    return row ? row.body : null;
  }

  saveReply(key: string, body: string, at: number): void {
    this.#s.saveReply.run(key, at, body);
  }

  /** Forgets saved replies older than `before`. */
  pruneReplies(before: number): void {
    this.#s.pruneReplies.run(before);
  }

  /** Live sessions among those in memory (status reports). */
  liveSessionCount(now: number): number {
    let n = 0;
    for (const s of this.#sessions.values()) if (isLive(s, now)) n++;
    return n;
  }

  /** Visible chat messages stored (status reports). */
  messageCount(): number {
    return Number((this.#s.messageCount.get() as { n: number }).n);
  }

  /** Sessions that may be live at `now` (loaded into memory; e.g. at start). */
  loadLiveSessions(now: number): number {
    const rows = this.#s.liveSessions.all(now) as { id: string }[];
    for (const r of rows) this.session(r.id);
    return rows.length;
  }
}

export { formatVector };
