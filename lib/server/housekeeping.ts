/**
 * The server's periodic chores, on an injected clock: tidying (forgetting
 * idle sessions and old saved replies, pruning rate-limit buckets), watching
 * the database file, and giving idle heap back after a busy period.
 *
 * @example
 * ```ts
 * const stop = startHousekeeping({ clock, commit, store, limiters: [limiter], checkDatabase: () => guard.problem() });
 * stop();
 * ```
 */
import { heapSlack, trimHeap } from "../platform/heap_trim.ts";
import type { Cancel, Clock } from "./clock.ts";
import type { GroupCommit } from "./commit.ts";
import { LOGIN_REPLY_MS, SAVED_REPLY_MS } from "./answers.ts";

export type HousekeepingOptions = {
  clock: Clock;
  commit: GroupCommit;
  store: {
    sessions: { forgetIdle(now: number): void };
    replies: { prune(before: number, loginsBefore: number): void };
    /** The retention limit (lib/store/retention.ts): swept in batches, every second while behind. */
    retention?: { readonly active: boolean; sweep(now: number, maxRows: number): number };
    /** The search index (lib/store/search.ts): new messages indexed in bulk every INDEX_MS. */
    messages?: { readonly indexBehind: boolean; indexPending(limit: number): number };
  };
  /**
   * True while the search index waits (a server catching up with its peers: docs/PROTOCOL.md "Search"); then the messages
   * stored meanwhile are indexed INDEX_BATCH every INDEX_MS, as any backlog. Default: never.
   */
  indexLater?: () => boolean;
  /** Rate limiters and quotas: what no longer counts is forgotten now and then. */
  limiters: { prune(now: number): void }[];
  /** What is wrong with the database file, or null; checked every WATCH_MS. */
  checkDatabase?(): string | null;
  /** Give idle heap back to the OS after a busy period (lib/platform/heap_trim.ts). Default true. */
  trimHeapWhenIdle?: boolean;
};

/** Tidying period; database watch period. */
const TIDY_MS = 30_000;
const WATCH_MS = 500;
/** Retention: messages expunged per batch (one transaction), and the check period while behind. */
const RETAIN_BATCH = 2000;
const RETAIN_CHECK_MS = 1000;
/** Search: new messages are indexed this often, at most this many per transaction. */
const INDEX_MS = 200;
const INDEX_BATCH = 5000;
/** Idle check period, writes that make a period "busy", and heap slack worth trimming. */
const TRIM_CHECK_MS = 250;
const TRIM_AFTER_WRITES = 2000;
const TRIM_SLACK_BYTES = 24 << 20;

/** Starts the chores; returns what stops them. */
export function startHousekeeping(o: HousekeepingOptions): Cancel {
  const { clock, commit } = o;
  const stops: Cancel[] = [
    clock.every(TIDY_MS, () => {
      const now = clock.now();
      for (const l of o.limiters) l.prune(now);
      commit.batch(() => {
        o.store.sessions.forgetIdle(now);
        o.store.replies.prune(now - SAVED_REPLY_MS, now - LOGIN_REPLY_MS);
      });
    }),
  ];
  const retention = o.store.retention;
  if (retention?.active) {
    let behind = true;
    let last = -Infinity;
    stops.push(clock.every(RETAIN_CHECK_MS, () => {
      const now = clock.now();
      if (!behind && now - last < TIDY_MS) return;
      last = now;
      commit.batch(() => {
        behind = retention.sweep(now, RETAIN_BATCH) >= RETAIN_BATCH;
      });
    }));
  }
  const messages = o.store.messages;
  if (messages) {
    // A batch per INDEX_MS, never in consecutive turns: a backlog of a million (a restored or filled database) indexed
    // back to back held a Deno server's loop so long that requests went unanswered for seconds (BENCHMARKS.md, memory).
    stops.push(clock.every(INDEX_MS, () => {
      if (!messages.indexBehind || commit.failed || commit.closed || o.indexLater?.()) return;
      // Not synced on its own: the index and its mark are derived, committed together, and rebuilt from the mark after a power cut.
      commit.batch(() => void messages.indexPending(INDEX_BATCH), { durableElsewhere: true });
    }));
  }
  const check = o.checkDatabase;
  if (check) {
    stops.push(clock.every(WATCH_MS, () => {
      const problem = check();
      if (problem) commit.fail(problem);
    }));
  }
  if (o.trimHeapWhenIdle ?? true) {
    // After a busy period, once a check period passes without a write, trim the heap.
    let atCheck = commit.writes;
    let sinceTrim = 0;
    stops.push(clock.every(TRIM_CHECK_MS, () => {
      const n = commit.writes - atCheck;
      atCheck = commit.writes;
      sinceTrim += n;
      if (n > 0 || sinceTrim < TRIM_AFTER_WRITES || commit.busy) return;
      sinceTrim = 0;
      if (heapSlack() >= TRIM_SLACK_BYTES) trimHeap();
    }));
  }
  return () => {
    for (const stop of stops) stop();
  };
}
