/** The thread of testing/lock_holder.ts: BEGIN IMMEDIATE, "locked", `holdMs` asleep, COMMIT, "released". */
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

const { path, holdMs } = workerData as { path: string; holdMs: number };
const db = new DatabaseSync(path);
db.exec("BEGIN IMMEDIATE");
parentPort?.postMessage("locked");
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, holdMs);
db.exec("COMMIT");
db.close();
parentPort?.postMessage("released");
