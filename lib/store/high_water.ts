/**
 * The high-water mark beside a database (`<db>.hwm`): the origin and the
 * last seq the database committed under it. Written after each commit that
 * made ops here, without waiting for the disk, so it may lag the database
 * but never lead it: a database found behind its mark is an older copy
 * (lib/rules/incarnation.ts). Private to lib/store/.
 */
import { readFileSync, writeFileSync } from "node:fs";

export class HighWater {
  readonly path: string;
  #written = 0;

  constructor(path: string) {
    this.path = path;
  }

  /** Forget what was written (the origin changed); the next `note` writes. */
  reset(seq: number): void {
    this.#written = seq;
  }

  /** Records that `origin.seq` is committed, when it is newer than what the file says. */
  note(origin: string, seq: number): void {
    if (seq <= this.#written) return;
    this.#written = seq;
    try {
      writeFileSync(this.path, `${origin} ${seq}\n`, { mode: 0o600 });
    } catch { /* a missing mark only weakens the rollback check */ }
  }

  /** What the file says, or null when there is none (or it cannot be read). */
  read(): { origin: string; seq: number } | null {
    try {
      const [origin, seq] = readFileSync(this.path, "utf8").trim().split(" ");
      return origin && /^\d+$/.test(seq ?? "") ? { origin, seq: Number(seq) } : null;
    } catch {
      return null;
    }
  }
}
