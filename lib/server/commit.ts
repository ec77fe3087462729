/**
 * The group commit: every write of the server — a client's request, a
 * batch of ops from a peer, housekeeping — runs inside one open SQLite
 * transaction, which commits on the next turn of the event loop (or a little
 * later while datagrams keep arriving), so a busy server commits and syncs
 * once per many requests. After each commit, in this order:
 *
 * 1. the `after` callbacks of the writes in it run (their replies go out:
 *    no reply ever shows what is not on disk);
 * 2. every subscriber hears what was committed — the ops made here (for
 *    replication) and the rooms that got new messages (to wake long polls).
 *
 * A commit that holds only ops already on their origin's disk (from peers)
 * but must be synced here all the same (two-disk acks: `got` says it is on
 * this disk) shows its rooms (`onShown`) between the commit and the sync:
 * a long poll is answered one disk sync sooner, and nothing it shows can be
 * lost, since the origin has it. When that woke anything, the sync waits
 * for the next turn of the event loop — a datagram sent during a callback
 * with Deno.listenDatagram only leaves once the callback has returned
 * (docs/PERFORMANCE_NOTES.md, change 6) — and that turn commits whatever was written meanwhile before
 * it syncs, so its callbacks and subscribers see only synced state.
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

/** What the store must offer the group commit (lib/store/store.ts). */
export interface Transactional {
  begin(): void;
  /** Commits; `sync` false: nothing in it needs to wait for the disk. */
  commit(sync: boolean): void;
  /** Commits without waiting for the disk; `syncCommitted` follows before anything says it is on disk. */
  commitUnsynced(): void;
  /** Waits for the disk to hold what `commitUnsynced` committed. */
  syncCommitted(): void;
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

/** Largest batch, in writes. */
const MAX_BATCH = 1024;
/**
 * How long an open batch may keep waiting for more datagrams (while they
 * keep arriving), in ms: twice what the last synced commit took to reach the
 * disk, at least MIN_BATCH_MS and at most MAX_BATCH_MS. On a disk that syncs
 * in 0.1 ms a busy server commits every 2 ms; on one that takes 3 ms per
 * sync (a shared VM), waiting 2 ms cut batches at ~30–50 adds and the loop
 * stood still in fsync 40% of the time (docs/PERFORMANCE_NOTES.md §8):
 * the longer wait holds a whole client window (8 × 16 adds) per sync.
 * Only a batch of WIDE_BATCH writes or more waits past MIN_BATCH_MS (a
 * sync is worth waiting for only when many share it), and a quiet server is
 * unaffected: a turn with no arrival commits.
 */
const MIN_BATCH_MS = 2;
const MAX_BATCH_MS = 10;
/** Writes (one libuv read burst) from which a batch may wait longer than MIN_BATCH_MS. */
const WIDE_BATCH = 32;
/** The batch window of a batch of `size` writes on a disk whose last synced commit took `syncMs`. */
export function batchWindowMs(syncMs: number, size = WIDE_BATCH): number {
  return size < WIDE_BATCH ? MIN_BATCH_MS : Math.min(MAX_BATCH_MS, Math.max(MIN_BATCH_MS, 2 * syncMs));
}

export class GroupCommit {
  #store: Transactional;
  #clock: Clock;
  #onFatal: (message: string) => void;
  #checkDatabase: () => string | null;
  #subscribers: ((c: Committed) => void)[] = [];
  #shown: ((dirty: Dirty) => void)[] = [];
  #after: (() => void)[] = [];
  #scheduled = false;
  #size = 0;
  #arrived = 0;
  #start = 0;
  /** How long synced commits take (COMMIT and sync; the last, or half the one before if longer), in ms: sets the batch window. */
  #syncMs = 0;
  #mustSync = false;
  /** Every write of the open batch may be shown before the sync. */
  #showable = true;
  #failed = false;
  #closed = false;
  /** A commit was shown and waits for its sync in the next turn (which commits what came meanwhile first). */
  #syncDue = false;
  /** Writes ever batched (housekeeping reads it to tell busy from idle). */
  writes = 0;

  constructor(o: GroupCommitOptions) {
    this.#store = o.store;
    this.#clock = o.clock;
    this.#onFatal = o.onFatal ?? ((m) => {
      throw new Error(m);
    });
    this.#checkDatabase = o.checkDatabase ?? (() => null);
  }

  get failed(): boolean {
    return this.#failed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True while a commit is scheduled (writes are waiting for it). */
  get busy(): boolean {
    return this.#scheduled;
  }

  /** Hears every commit; subscribers run in the order they subscribed. */
  subscribe(fn: (c: Committed) => void): void {
    this.#subscribers.push(fn);
  }

  /** Hears the rooms of a commit of peers' ops before its sync (then subscribers get no rooms for it). */
  onShown(fn: (dirty: Dirty) => void): void {
    this.#shown.push(fn);
  }

  /** A datagram arrived: while they keep arriving the open batch waits one more turn (up to its bounds). */
  noteArrival(): void {
    this.#arrived++;
  }

  /** Runs `fn` in the open transaction (opening it) and schedules the commit. */
  batch(fn: () => void, o: BatchOptions = {}): void {
    if (this.#failed) return;
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

  /** Runs `fn` after the next commit (scheduling one that writes nothing if none is due). */
  afterNextCommit(fn: () => void): void {
    if (this.#failed) return;
    this.#after.push(fn);
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
    if (!this.#scheduled) return;
    const young = this.#size < MAX_BATCH && this.#clock.monotonic() - this.#start < batchWindowMs(this.#syncMs, this.#size);
    if (this.#arrived > 0 && young && !this.#closed) {
      this.#arrived = 0;
      this.#clock.soon(this.#tick);
      return;
    }
    this.flush();
  };

  /** Commits now and runs what waited for it. Normally runs by itself. */
  flush(): void {
    this.#scheduled = false;
    this.#size = 0;
    const sync = this.#mustSync;
    const due = this.#syncDue; // a shown commit's sync, put off to this turn: never put off twice
    const showEarly = sync && this.#showable && this.#shown.length > 0 && !due;
    this.#mustSync = false;
    this.#showable = true;
    this.#syncDue = false;
    if (this.#failed) return;
    const t0 = this.#clock.monotonic();
    try {
      if (showEarly || due) this.#store.commitUnsynced();
      else this.#store.commit(sync);
    } catch (e) {
      this.fail(`database commit failed: ${(e as Error).message}`);
      return;
    }
    const problem = this.#checkDatabase();
    if (problem) {
      this.fail(problem);
      return;
    }
    if (showEarly) {
      const dirty = this.#store.takeDirty();
      if (dirty.rooms.size > 0 || dirty.notices.size > 0) {
        for (const fn of this.#shown) fn(dirty);
        // Let what was sent leave; the next turn syncs (busy meanwhile: writes join that commit, nothing reads unsynced state).
        this.#syncDue = this.#scheduled = this.#mustSync = true;
        this.#clock.soon(() => this.#syncDue && this.flush());
        return;
      }
    }
    if (showEarly || due) {
      try {
        this.#store.syncCommitted();
      } catch (e) {
        this.fail(`database sync failed: ${(e as Error).message}`);
        return;
      }
    }
    // A slow sync widens the window at once; commits that found nothing to sync (read-only batches) narrow it by halves.
    if (sync) this.#syncMs = Math.max(this.#clock.monotonic() - t0, this.#syncMs / 2);
    const after = this.#after;
    this.#after = [];
    for (const fn of after) fn();
    const committed = { localOps: this.#store.takeLocalOps(), ...this.#store.takeDirty() };
    for (const fn of this.#subscribers) fn(committed);
  }

  /** Stops all writing for good and reports `problem` (once). */
  fail(problem: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#after = [];
    this.#onFatal(problem);
  }

  /** Commits what is pending, then closes the store. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#failed) return;
    this.flush();
    this.#store.close();
  }
}
