/**
 * The checkpoint worker's pace (lib/store/checkpoint_pace.ts): a slowly
 * growing log is checkpointed once a second, so its syncs stay off the disk
 * the commits need; a fast one as often as every 100 ms, far under the
 * auto-checkpoint safety net. (That the paced worker still copies the log:
 * tests/durability_test.ts "the checkpointer copies the log …".)
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AUTOCHECKPOINT_PAGES } from "../lib/store/checkpointer.ts";
import { CHECKPOINT_MAX_MS, CHECKPOINT_MIN_MS, CHECKPOINT_TARGET_FRAMES, nextCheckpointMs } from "../lib/store/checkpoint_pace.ts";

test("a quiet or slowly growing log waits the longest", () => {
  assert.is(nextCheckpointMs(0, 1000), CHECKPOINT_MAX_MS);
  assert.is(nextCheckpointMs(40, 100), CHECKPOINT_MAX_MS); // 200 adds/s of a few pages each
  assert.is(nextCheckpointMs(CHECKPOINT_TARGET_FRAMES / 2, CHECKPOINT_MAX_MS), CHECKPOINT_MAX_MS);
});

test("a fast log is checkpointed often, never less than the shortest wait apart", () => {
  assert.is(nextCheckpointMs(CHECKPOINT_TARGET_FRAMES * 2, 1000), 500);
  assert.is(nextCheckpointMs(1_000_000, 1000), CHECKPOINT_MIN_MS);
  // At the longest wait, the log the pace allows stays far under the safety net that would copy it on the server's thread.
  assert.ok(CHECKPOINT_TARGET_FRAMES * 2 <= AUTOCHECKPOINT_PAGES / 2);
});

test("nonsense waits the least", () => {
  for (const [f, ms] of [[NaN, 100], [-1, 100], [10, 0], [10, -5], [10, NaN]]) assert.is(nextCheckpointMs(f, ms), CHECKPOINT_MIN_MS);
});

test.run();
