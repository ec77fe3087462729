/**
 * How many files (sockets included) this process may have open: the soft
 * "Max open files" of /proc/self/limits on Linux, null where it cannot be
 * read (then callers fall back to a fixed figure).
 *
 * @example
 * ```ts
 * openFileLimit(); // 20000 (after `ulimit -n 20000`), or null
 * ```
 */
import { readFileSync } from "node:fs";

/** The soft limit on open files, from the text of a /proc/PID/limits file; null when absent or unlimited. */
export function parseFileLimit(limits: string): number | null {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  return m && m[1] !== "unlimited" ? Number(m[1]) : null;
}

/** This process's soft limit on open files, or null when unknown. */
export function openFileLimit(): number | null {
  try {
    return parseFileLimit(readFileSync("/proc/self/limits", "utf8"));
  } catch {
    return null;
  }
}
