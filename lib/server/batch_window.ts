/**
 * When a batch of the group commit (lib/server/commit.ts) commits, and
 * where its sync runs: the batch window, which follows what the last sync
 * held the event loop, and the size from which a sync leaves the loop for
 * the thread pool (the pipelined commit). Numbers and one pure function;
 * the group commit applies them.
 *
 * @example
 * ```ts
 * batchWindowMs(3, 40); // 6: a batch of 40 writes after a 3 ms sync in place waits up to 6 ms for more
 * ```
 */
import { runtimeName } from "../platform/runtime.ts";

/** Largest batch, in writes. */
export const MAX_BATCH = 1024;
/**
 * How long an open batch may keep waiting for more datagrams (while they
 * keep arriving), in ms: twice what the last synced commit held the event
 * loop (a pipelined sync, on the thread pool, holds it for nothing),
 * at least MIN_BATCH_MS and at most MAX_BATCH_MS. On a disk that syncs
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
export const WIDE_BATCH = 32;
/** The batch window of a batch of `size` writes on a disk whose last synced commit took `syncMs`. */
export function batchWindowMs(syncMs: number, size = WIDE_BATCH): number {
  return size < WIDE_BATCH ? MIN_BATCH_MS : Math.min(MAX_BATCH_MS, Math.max(MIN_BATCH_MS, 2 * syncMs));
}

/**
 * Writes in a batch from which its sync leaves the event loop (GroupCommitOptions.pipelineFrom). Under Deno every batch
 * syncs in place (but a shown one): there the pipelined commit made fewer acked adds/s than the blocking one in every
 * measured pair (docs/PERFORMANCE_NOTES.md §8, "the pipelined group commit"), under Node about twice as many.
 */
export const PIPELINE_FROM = runtimeName() === "deno" ? Infinity : 2;
