/**
 * The worker thread of lib/store/checkpointer.ts: its own connection to the
 * database, a PASSIVE checkpoint every `everyMs` (never blocks the server's
 * writes; a busy database just waits for the next turn). Posts "stopped"
 * once "stop" has closed the connection, or { failed } when it cannot open
 * the database.
 */
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

const { path, everyMs } = workerData as { path: string; everyMs: number };

/** Frames the writer appended during a checkpoint are copied by a few more, short ones. */
const PASSES = 4;

function start(): () => void {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout = 0");
  // NORMAL and FULL both sync the log before a checkpoint and the database after it.
  db.exec("PRAGMA synchronous = NORMAL");
  const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  const timer = setInterval(() => {
    try {
      for (let i = 0; i < PASSES; i++) {
        const r = checkpoint.get() as { busy: number; log: number; checkpointed: number };
        if (r.busy !== 0 || r.log === r.checkpointed) break;
      }
    } catch {
      // SQLITE_BUSY and the like: the next turn tries again.
    }
  }, everyMs);
  return () => {
    clearInterval(timer);
    db.close();
  };
}

let stop: (() => void) | null = null;
try {
  stop = start();
} catch (e) {
  parentPort?.postMessage({ failed: (e as Error).message });
}
parentPort?.on("message", (m) => {
  if (m !== "stop") return;
  stop?.();
  stop = null;
  parentPort?.postMessage("stopped");
});
