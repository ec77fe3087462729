/**
 * The group commit: every write of the server — a client's request, a
 * batch of ops from a peer, housekeeping — runs inside one open SQLite
 * transaction, which commits on the next turn of the event loop (or a little
 * later while datagrams keep arriving), so a busy server commits and syncs
 * once per many requests.
 *
 * The commit is pipelined (docs/ARCHITECTURE.md "Durability and acks"): its
 * fsync runs on the thread pool (Store.syncCommittedAsync) while the loop
 * reads the next datagrams and runs their writes in the next transaction
 * (under Node, for a batch of two writes or more; under Deno only a shown
 * commit's: lib/server/batch_window.ts PIPELINE_FROM).
 * What a commit made waits for the end of an fsync that started after its
 * COMMIT, in this order:
 *
 * 1. the `after` callbacks of the writes in it run (their replies, computed
 *    when the write ran, go out: no reply ever shows what is not on disk);
 * 2. once the connection holds nothing newer than what is synced — no
 *    transaction open, nothing committed and unsynced — the `afterNextCommit`
 *    callbacks run and every subscriber hears what was committed (the ops
 *    made here, for replication; the rooms that got messages, to wake long
 *    polls), so whatever they read is on disk. When the next batch is
 *    already open at the end of a sync, it is committed at once and writes
 *    arriving during its sync wait (queued, in order) until its subscribers
 *    have run: subscribers lag a busy server by one sync at most.
 *
 * At most one sync is in flight; a batch whose window closes meanwhile is
 * committed when it ends. A commit that holds only ops already on their
 * origin's disk (from peers) but must be synced here all the same (two-disk
 * acks: `got` says it is on this disk) shows its rooms (`onShown`) between
 * the commit and the start of the sync: nothing it shows can be lost, since
 * the origin has it, and the replies leave while the disk works.
 *
 * Ports (lib/server/client_port.ts, peer_port.ts, and any other) sit on top
 * of it and never call each other. A database failure stops everything and
 * calls `onFatal` once.
 *
 * @example
 * ```ts
 * const commit = new GroupCommit({ store, clock: systemClock, onFatal: (why) => process.exit(1) });
 * commit.subscribe(({ localOps, rooms }) => replicate(localOps));
 * commit.batch(() => store.appendLocal(op, now), () => send(reply));
 * ```
 */
import type { Op } from "../wire/messages.ts";
import type { Dirty } from "../store/store.ts";
import type { Clock } from "./clock.ts";
import { batchWindowMs, MAX_BATCH, PIPELINE_FROM, WIDE_BATCH } from "./batch_window.ts";

/** What the store must offer the group commit (lib/store/store.ts). */
export interface Transactional {
  begin(): void;
  /** Commits; `sync` false: nothing in it needs to wait for the disk. */
  commit(sync: boolean): void;
  /** Commits without waiting for the disk; `syncCommitted` follows before anything says it is on disk. */
  commitUnsynced(): void;
  /** Waits for the disk to hold what `commitUnsynced` committed. */
  syncCommitted(): void;
  /** Starts that wait and returns; `done` runs once an fsync started now has finished (possibly at once). */
  syncCommittedAsync(done: (error: Error | null) => void): void;
  /** Ops made here since the last call. */
  takeLocalOps(): Op[];
  /** Room keys that got a visible message, and those that got a notice, since the last call. */
  takeDirty(): Dirty;
  close(): void;
}

/** What one commit wrote, for subscribers. */
export type Committed = Dirty & {
  /** Ops made at this server, in order. */
  localOps: Op[];
};

export type GroupCommitOptions = {
  store: Transactional;
  clock: Clock;
  /** Called once when the database fails; must stop the process (default: throws). */
  onFatal?(message: string): void;
  /** What is wrong with the database file, or null (lib/store/file_guard.ts); checked after each commit. */
  checkDatabase?(): string | null;
  /**
   * Writes in a batch from which its sync runs on the thread pool (the loop
   * goes on meanwhile); a smaller batch — a quiet server — syncs in place,
   * which answers sooner than a trip through the pool. Default PIPELINE_FROM.
   */
  pipelineFrom?: number;
};

export type BatchOptions = {
  /** Runs after the commit (send the reply here). */
  after?: () => void;
  /**
   * The write holds only ops already durable at their origin (from peers):
   * a commit of nothing else does not wait for the disk (docs/ARCHITECTURE.md
   * "Durability and acks"); any other write in the same commit makes it wait.
   */
  durableElsewhere?: boolean;
  /**
   * The write holds only ops already durable at their origin, but must be
   * synced here before anyone is told it is on this disk: its rooms may be
   * shown (`onShown`) before the sync.
   */
  shownBeforeSync?: boolean;
};

/** Commits the subscribers have not heard of yet, merged, and the callbacks waiting for them. */
type News = Committed & { later: (() => void)[] };

/** A commit whose fsync is running: the replies waiting for it, and when it began. */
type InFlight = { after: (() => void)[]; t0: number; held: boolean };

export class GroupCommit {
  #store: Transactional;
  #clock: Clock;
  #onFatal: (message: string) => void;
  #checkDatabase: () => string | null;
  #pipelineFrom: number;
  #subscribers: ((c: Committed) => void)[] = [];
  /** How many of `#subscribers`, at the front, subscribed `first`. */
  #firsts = 0;
  #shown: ((dirty: Dirty) => void)[] = [];
  /** The `after` callbacks of the open batch. */
  #after: (() => void)[] = [];
  /** `afterNextCommit` callbacks, for the next commit. */
  #later: (() => void)[] = [];
  /** Committed, not yet told to subscribers. */
  #news: News | null = null;
  /** The commit whose fsync is running, or null. */
  #syncing: InFlight | null = null;
  /** Set when a batch had to be committed before the subscribers could run: writes wait in `#queue` until they have. */
  #draining = false;
  /** Subscribers are running: writes wait in `#queue` too. */
  #telling = false;
  #queue: [() => void, BatchOptions][] = [];
  #scheduled = false;
  #size = 0;
  #arrived = 0;
  #start = 0;
  /** How long synced commits take (COMMIT and sync; the last, or half the one before if longer), in ms: sets the batch window. */
  #syncMs = 0;
  /** The last synced commit was synced on the thread pool (the loop ran meanwhile): no batch window. */
  #pipelined = false;
  #mustSync = false;
  /** Every write of the open batch may be shown before the sync. */
  #showable = true;
  #failed = false;
  #closed = false;
  /** Writes ever batched (housekeeping reads it to tell busy from idle). */
  writes = 0;

  constructor(o: GroupCommitOptions) {
    this.#store = o.store;
    this.#clock = o.clock;
    this.#onFatal = o.onFatal ?? ((m) => {
      throw new Error(m);
    });
    this.#checkDatabase = o.checkDatabase ?? (() => null);
    this.#pipelineFrom = o.pipelineFrom ?? PIPELINE_FROM;
  }

  get failed(): boolean {
    return this.#failed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * True while the connection may hold what is not on disk, or subscribers
   * have not heard of a commit yet: a batch is open or waits, a sync runs.
   * Whatever reads state for the outside (a `got`, an ack check) waits for
   * the subscribers then.
   */
  get busy(): boolean {
    return this.#scheduled || this.#syncing !== null || this.#draining;
  }

  /**
   * Hears every commit once it is on disk, with nothing newer written; subscribers run in the order they subscribed,
   * but `first` ones (the peer port's fan-out: the copy its confirmer must store before a reader there sees it
   * leaves before this server's own work on the commit) run before all others.
   */
  subscribe(fn: (c: Committed) => void, o: { first?: boolean } = {}): void {
    if (o.first) this.#subscribers.splice(this.#firsts++, 0, fn);
    else this.#subscribers.push(fn);
  }

  /** Hears the rooms of a commit of peers' ops before its sync (then subscribers get no rooms for it). */
  onShown(fn: (dirty: Dirty) => void): void {
    this.#shown.push(fn);
  }

  /** A datagram arrived: while they keep arriving the open batch waits one more turn (up to its bounds). */
  noteArrival(): void {
    this.#arrived++;
  }

  /** Runs `fn` in the open transaction (opening it) and schedules the commit; while subscribers are due, `fn` waits its turn. */
  batch(fn: () => void, o: BatchOptions = {}): void {
    if (this.#failed) return;
    if (this.#draining || this.#telling) {
      this.#queue.push([fn, o]);
      return;
    }
    try {
      this.#store.begin();
      fn();
    } catch (e) {
      this.fail(`database write failed: ${(e as Error).message}`);
      return;
    }
    if (o.after) this.#after.push(o.after);
    if (!o.durableElsewhere) this.#mustSync = true;
    if (!o.durableElsewhere && !o.shownBeforeSync) this.#showable = false;
    this.#size++;
    this.writes++;
    this.#schedule();
  }

  /** Runs `fn` after the next commit, with the subscribers (scheduling a commit that writes nothing if none is due). */
  afterNextCommit(fn: () => void): void {
    if (this.#failed) return;
    this.#later.push(fn);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#arrived = 0;
    this.#start = this.#clock.monotonic();
    this.#clock.soon(this.#tick);
  }

  #tick = (): void => {
    // While a sync runs the batch grows; the sync's end commits it.
    if (!this.#scheduled || this.#syncing !== null) return;
    // After a pipelined sync the disk is better kept busy: a batch of a burst or more commits now (what arrives during its sync
    // joins the next batch); a smaller one (Deno reads a datagram per turn) still gathers for up to 2 ms.
    const wide = this.#pipelined && this.#size >= WIDE_BATCH;
    const young = !wide && this.#size < MAX_BATCH && this.#clock.monotonic() - this.#start < batchWindowMs(this.#syncMs, this.#size);
    if (this.#arrived > 0 && young && !this.#closed) {
      this.#arrived = 0;
      this.#clock.soon(this.#tick);
      return;
    }
    this.flush();
  };

  /** Commits the open batch now and starts its sync (unless one is running: its end commits). Normally runs by itself. */
  flush(): void {
    if (this.#syncing !== null) return;
    let inPlace = this.#closed || this.#size < this.#pipelineFrom;
    this.#scheduled = false;
    this.#size = 0;
    const sync = this.#mustSync;
    const showEarly = sync && this.#showable && this.#shown.length > 0;
    this.#mustSync = false;
    this.#showable = true;
    if (this.#failed) return;
    const t0 = this.#clock.monotonic();
    try {
      this.#store.commitUnsynced();
    } catch (e) {
      this.fail(`database commit failed: ${(e as Error).message}`);
      return;
    }
    const problem = this.#checkDatabase();
    if (problem) {
      this.fail(problem);
      return;
    }
    const after = this.#after;
    this.#after = [];
    let dirty = this.#store.takeDirty();
    if (showEarly && (dirty.rooms.size > 0 || dirty.notices.size > 0)) {
      for (const fn of this.#shown) fn(dirty); // before the sync: the replies leave while the disk works
      dirty = { rooms: new Set(), notices: new Set() };
      inPlace &&= this.#closed; // (a Deno datagram leaves only once this callback returns: never sync in place after one)
    }
    this.#note(this.#store.takeLocalOps(), dirty);
    if (!sync) return this.#done(after);
    const inflight = { after, t0, held: true };
    this.#syncing = inflight;
    if (!inPlace) {
      this.#store.syncCommittedAsync((e) => this.#synced(inflight, e));
      inflight.held = false; // unless it ended within the call, the loop went on meanwhile
      return;
    }
    try {
      this.#store.syncCommitted();
    } catch (e) {
      return this.#synced(inflight, e as Error);
    }
    this.#synced(inflight, null);
  }

  /** What a commit made joins what subscribers will hear, with the callbacks that waited for it. */
  #note(localOps: Op[], dirty: Dirty): void {
    const later = this.#later;
    this.#later = [];
    const n = this.#news;
    if (n === null) {
      this.#news = { localOps, ...dirty, later };
      return;
    }
    n.localOps.push(...localOps);
    for (const r of dirty.rooms) n.rooms.add(r);
    for (const r of dirty.notices) n.notices.add(r);
    n.later.push(...later);
  }

  #synced(inflight: InFlight, error: Error | null): void {
    if (this.#syncing !== inflight || this.#failed) return; // close() synced it already, or the database failed
    this.#syncing = null;
    if (error) return this.fail(`database sync failed: ${error.message}`);
    // A slow sync that held the loop widens the window at once; one that did not (pipelined), and commits that found
    // nothing to sync (read-only batches), narrow it by halves: with the loop free, what arrives meanwhile joins the next batch anyway.
    this.#syncMs = Math.max(inflight.held ? this.#clock.monotonic() - inflight.t0 : 0, this.#syncMs / 2);
    this.#pipelined = !inflight.held;
    this.#done(inflight.after);
  }

  /** A commit is on disk: its replies go out; then the subscribers, once nothing newer is written. */
  #done(after: (() => void)[]): void {
    for (const fn of after) fn();
    if (this.#failed) return;
    if (this.#scheduled) {
      // The next batch opened while the disk worked: commit it now; writes wait until subscribers have run after its sync.
      this.#draining = true;
      return this.flush();
    }
    const news = this.#news;
    this.#news = null;
    this.#draining = false; // not busy: subscribers read synced state (a `got` may ride on the fan-out)
    this.#telling = true; // but writes wait until every subscriber has read it
    try {
      if (news !== null) {
        for (const fn of news.later) fn();
        const committed = { localOps: news.localOps, rooms: news.rooms, notices: news.notices };
        for (const fn of this.#subscribers) fn(committed);
      }
    } finally {
      this.#telling = false;
    }
    const queue = this.#queue;
    this.#queue = [];
    for (const [fn, o] of queue) this.batch(fn, o);
  }

  /** Stops all writing for good and reports `problem` (once). */
  fail(problem: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#after = [];
    this.#queue = [];
    this.#news = null;
    this.#onFatal(problem);
  }

  /** Commits what is pending (a running sync is waited for in place), then closes the store. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#failed) return;
    const inflight = this.#syncing;
    if (inflight !== null) {
      try {
        this.#store.syncCommitted();
      } catch (e) {
        return this.#synced(inflight, e as Error);
      }
      this.#synced(inflight, null);
    }
    this.flush();
    if (!this.#failed) this.#store.close();
  }
}
