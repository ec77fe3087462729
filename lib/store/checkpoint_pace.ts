/**
 * When the checkpoint worker (lib/store/_checkpoint_worker.ts) checkpoints
 * next: a pure rule on what the last checkpoint found. Each checkpoint syncs
 * the log and the database file, and those syncs share the disk with the
 * commits that hold up acks and deliveries (docs/PERFORMANCE_NOTES.md §8b:
 * at 200 adds/s, every 100 ms on each of three servers, checkpoints ran
 * during 43% of the slowest 2% of deliveries against 15% of all). So a log
 * that grows slowly is checkpointed once a second, and one that grows fast
 * as often as every 100 ms, so that it stays far under the auto-checkpoint
 * safety net (lib/store/checkpointer.ts AUTOCHECKPOINT_PAGES), which would
 * copy it on the server's own thread inside a COMMIT.
 *
 * @example
 * ```ts
 * nextCheckpointMs(40, 1000); // 1000: a quiet log waits the longest
 * nextCheckpointMs(6000, 1000); // 171: a saturating load checkpoints often
 * ```
 */

/** The shortest and longest wait between checkpoints, ms. */
export const CHECKPOINT_MIN_MS = 100;
export const CHECKPOINT_MAX_MS = 1000;
/** The log's size, in frames (pages), that the next checkpoint aims to find at most: 4 MiB, an eighth of the safety net. */
export const CHECKPOINT_TARGET_FRAMES = 1024;

/**
 * The wait before the next checkpoint, ms: long enough for the log to grow to about CHECKPOINT_TARGET_FRAMES at the rate
 * the last one saw (`frames` in the log after `sinceMs`), within CHECKPOINT_MIN_MS…CHECKPOINT_MAX_MS. A log the last
 * checkpoint could not copy (`frames` counts it again) only shortens the wait; nonsense (negative, NaN) waits the least.
 */
export function nextCheckpointMs(frames: number, sinceMs: number): number {
  if (!(frames >= 0) || !(sinceMs > 0)) return CHECKPOINT_MIN_MS;
  if (frames === 0) return CHECKPOINT_MAX_MS;
  const ms = (CHECKPOINT_TARGET_FRAMES * sinceMs) / frames;
  return Math.round(Math.min(CHECKPOINT_MAX_MS, Math.max(CHECKPOINT_MIN_MS, ms)));
}
