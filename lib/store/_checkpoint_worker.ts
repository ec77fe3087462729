/**
 * The worker thread of lib/store/checkpointer.ts: its own connection to the
 * database, a PASSIVE checkpoint every 100–1,000 ms as the log grows
 * (lib/store/checkpoint_pace.ts; every `everyMs` if given), which never
 * blocks the server's writes (a busy database just waits for the next turn). On { scrub: n } it
 * truncates the write-ahead log instead (lib/store/scrub.ts), at once and
 * then every turn until that succeeds, and posts { scrubbed: n } (the last n
 * it had been asked for when it truncated); a scrub still not done after
 * `stuckMs` is reported once as { stuck: why } (it keeps trying). Posts
 * "stopped" once "stop" has closed the connection, or { failed } when it
 * cannot open the database. It never checkpoints into a file that is not
 * the database it opened any more (removed, replaced, or overwritten: a
 * checkpoint would write page 1 back over garbage and hide it from the
 * server's DatabaseFileGuard, which stops the server before it acks).
 */
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";
import { truncateLog } from "./scrub.ts";
import { DatabaseFileGuard } from "./file_guard.ts";
import { CHECKPOINT_MAX_MS, CHECKPOINT_MIN_MS, nextCheckpointMs } from "./checkpoint_pace.ts";

/** `everyMs` fixes the period (tests); without it each wait follows the log's growth (lib/store/checkpoint_pace.ts). */
const { path, everyMs, stuckMs } = workerData as { path: string; everyMs?: number; stuckMs: number };

/** Frames the writer appended during a checkpoint are copied by a few more, short ones. */
const PASSES = 4;
/** How long a scrub waits for the server's open transaction (the group commit keeps one open a few ms at most). */
const SCRUB_WAIT_MS = 200;

let scrub: (n: number) => void = () => {};

function start(): () => void {
  const db = new DatabaseSync(path);
  const guard = new DatabaseFileGuard(path, { holdOpen: false }); // no descriptor held: the server counts its own
  db.exec("PRAGMA busy_timeout = 0");
  // NORMAL and FULL both sync the log before a checkpoint and the database after it.
  db.exec("PRAGMA synchronous = NORMAL");
  const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  /** The last scrub asked for, and the last done. */
  let wanted = 0;
  let scrubbed = 0;
  /** When the scrubs not done yet first failed (0: none failed), and whether that was reported. */
  let failingSince = 0;
  let reported = false;
  const tryScrub = () => {
    if (guard.problem() !== null) return; // as below: never written into
    const upTo = wanted;
    let done = false;
    let why = "a reader or writer kept the log busy";
    try {
      db.exec(`PRAGMA busy_timeout = ${SCRUB_WAIT_MS}`);
      done = truncateLog(db);
    } catch (e) {
      why = (e as Error).message; // SQLITE_BUSY and the like: the next turn tries again.
    } finally {
      db.exec("PRAGMA busy_timeout = 0");
    }
    if (!done) {
      failingSince ||= Date.now();
      const ms = Date.now() - failingSince;
      if (reported || ms < stuckMs) return;
      reported = true;
      parentPort?.postMessage({ stuck: `${why}, for ${ms} ms` });
      return;
    }
    failingSince = 0;
    reported = false;
    scrubbed = upTo;
    parentPort?.postMessage({ scrubbed: upTo });
  };
  scrub = (n) => {
    wanted = Math.max(wanted, n);
    tryScrub();
  };
  /** One turn: the scrub asked for, or a passive checkpoint; then the next turn, after `everyMs` or the paced wait. */
  let lastAt = performance.now();
  const turn = () => {
    const now = performance.now();
    let wait = everyMs ?? CHECKPOINT_MIN_MS;
    if (guard.problem() !== null) wait = everyMs ?? CHECKPOINT_MAX_MS; // not ours to write into: the server's own guard stops it
    else if (wanted > scrubbed) tryScrub(); // every short turn until it is done
    else {
      let frames = NaN;
      try {
        for (let i = 0; i < PASSES; i++) {
          const r = checkpoint.get() as { busy: number; log: number; checkpointed: number };
          if (i === 0) frames = r.log;
          if (r.busy !== 0 || r.log === r.checkpointed) break;
        }
      } catch {
        // SQLITE_BUSY and the like: the next turn, soon, tries again.
      }
      wait = everyMs ?? nextCheckpointMs(frames, now - lastAt);
      lastAt = now;
    }
    timer = setTimeout(turn, wait);
  };
  let timer = setTimeout(turn, everyMs ?? CHECKPOINT_MIN_MS);
  return () => {
    clearTimeout(timer);
    guard.close();
    db.close();
  };
}

let stop: (() => void) | null = null;
try {
  stop = start();
} catch (e) {
  parentPort?.postMessage({ failed: (e as Error).message });
}
parentPort?.on("message", (m: "stop" | { scrub: number }) => {
  if (typeof m === "object") return scrub(m.scrub);
  if (m !== "stop") return;
  stop?.();
  stop = null;
  scrub = () => {};
  parentPort?.postMessage("stopped");
});
