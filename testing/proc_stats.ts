/**
 * What a server process holds, read from /proc (Linux): its resident
 * memory and its open file descriptors. The process of a server started by
 * testing/processes.ts is found in its process group (a launcher such as
 * node_modules/.bin/deno may stand between: the runtime is the member with
 * the most memory).
 *
 * @example
 * ```ts
 * const pid = runtimePid(srv.pid);
 * rssMiB(pid); openFds(pid); // 61.2, 31
 * ```
 */
import { readdirSync, readFileSync } from "node:fs";

function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** The member of process group `pgid` with the largest resident memory (the runtime, not a launcher). */
export function runtimePid(pgid: number): number {
  let best = { pid: pgid, kib: -1 };
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== pgid) continue; // field 5: pgrp
      const kib = statusKiB(Number(name), "VmRSS");
      if (kib > best.kib) best = { pid: Number(name), kib };
    } catch { /* gone meanwhile */ }
  }
  return best.pid;
}

/** Resident memory of `pid`, MiB. */
export function rssMiB(pid: number): number {
  return statusKiB(pid, "VmRSS") / 1024;
}

/** Open file descriptors of `pid` (sockets included). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
