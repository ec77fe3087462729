/**
 * The high-water mark beside a database (`<db>.hwm`): the origin and the
 * last seq the database committed under it. Written after each commit that
 * made ops here, without waiting for the disk, so it may lag the database
 * but never lead it: a database found behind its mark is an older copy
 * (lib/rules/incarnation.ts). Private to lib/store/.
 *
 * The file is kept open and each mark is one `pwrite` of a fixed-length
 * record at offset 0 (the line, padded with spaces): no open, truncate and
 * close per commit, which cost 0.4–0.6 ms on ext4 against ~2 µs
 * (docs/PERFORMANCE_NOTES.md, change 2). `read` parses it as before.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";

/** Bytes of a record: a line shorter than this is padded with spaces. */
const RECORD = 64;
const utf8 = new TextEncoder();

export class HighWater {
  readonly path: string;
  #written = 0;
  #fd: number | null = null;

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
      const line = utf8.encode(`${origin} ${seq}`.padEnd(RECORD - 1) + "\n");
      this.#fd ??= this.#open();
      writeSync(this.#fd, line, 0, line.length, 0);
      if (line.length > RECORD) ftruncateSync(this.#fd, line.length);
    } catch { /* a missing mark only weakens the rollback check */ }
  }

  #open(): number {
    try {
      return openSync(this.path, "r+");
    } catch {
      return openSync(this.path, "w", 0o600);
    }
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

  /** Lets the file go (a later `note` opens it again). */
  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}
