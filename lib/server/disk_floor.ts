/**
 * The free-disk floor (docs/OPERATIONS.md "Quotas"): while the file system
 * holding the database has less than `minBytes` free, the client port
 * refuses every request that writes (`unavailable`: the client goes to another
 * server), so a flood can never make the server exit on a full disk. It
 * looks every `everyMs` and logs one line when the state changes.
 *
 * @example
 * ```ts
 * const floor = watchDiskFloor({ dir: "data", minBytes: 256 << 20, clock, log });
 * floor.low(); // false while there is room
 * ```
 */
import type { Log } from "../config/log.ts";
import { statfsSync } from "node:fs";
import type { Cancel, Clock } from "./clock.ts";

export type DiskFloor = { low(): boolean; stop: Cancel };

/** Bytes free to an unprivileged writer on the file system holding `dir` (statfs); throws when it cannot tell. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export function watchDiskFloor(o: {
  dir: string;
  minBytes: number;
  clock: Clock;
  log: Log;
  everyMs?: number;
  /** Free bytes of the file system holding `dir` (default: statfs). */
  free?: (dir: string) => number;
}): DiskFloor {
  const free = o.free ?? freeBytes;
  let low = false;
  const look = () => {
    let bytes: number;
    try {
      bytes = free(o.dir);
    } catch {
      return; // cannot tell: keep the last answer
    }
    const now = bytes < o.minBytes;
    if (now !== low) {
      o.log(
        now
          ? `disk nearly full: ${Math.floor(bytes / 1048576)} MiB free under ${o.dir}, below the floor of ${Math.floor(o.minBytes / 1048576)} MiB; refusing every request that writes (unavailable)`
          : `disk has room again (${Math.floor(bytes / 1048576)} MiB free): accepting writes`,
        { level: now ? "warn" : "info", event: "disk-floor", fields: { freeMiB: Math.floor(bytes / 1048576), low: now } },
      );
    }
    low = now;
  };
  if (o.minBytes <= 0) return { low: () => false, stop: () => {} };
  look();
  const stop = o.clock.every(o.everyMs ?? 2000, look);
  return { low: () => low, stop };
}
