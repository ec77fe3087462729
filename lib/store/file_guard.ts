/**
 * Watches the database file under a running store: a server must not go on
 * serving once its file is removed, replaced or overwritten (ARCHITECTURE.md
 * "Durability and acks"), which SQLite itself may not notice for a while.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";

const MAGIC = "SQLite format 3\0";

export class DatabaseFileGuard {
  readonly path: string;
  #ino: number;
  #dev: number;
  /** The file, held open to read its header (-1: opened for each check, so no descriptor is held between them). */
  #fd: number;
  #buf = new Uint8Array(16);

  constructor(path: string, o: { holdOpen?: boolean } = {}) {
    this.path = path;
    const st = statSync(path);
    this.#ino = st.ino;
    this.#dev = st.dev;
    this.#fd = o.holdOpen === false ? -1 : openSync(path, "r");
  }

  /** Null when the file is still the one opened and looks like SQLite; else what is wrong. */
  problem(): string | null {
    let st;
    try {
      st = statSync(this.path);
    } catch (e) {
      return `database file ${this.path} is gone (${(e as { code?: string }).code ?? (e as Error).message})`;
    }
    if (st.ino !== this.#ino || st.dev !== this.#dev) return `database file ${this.path} was replaced`;
    const fd = this.#fd >= 0 ? this.#fd : openSync(this.path, "r");
    let n: number;
    try {
      n = readSync(fd, this.#buf, 0, 16, 0);
    } finally {
      if (fd !== this.#fd) closeSync(fd);
    }
    if (n === 0 && st.size === 0) return null; // not written yet
    if (n < 16 || new TextDecoder().decode(this.#buf) !== MAGIC) {
      return `database file ${this.path} is corrupt (bad header)`;
    }
    return null;
  }

  close(): void {
    if (this.#fd < 0) return;
    try {
      closeSync(this.#fd);
    } catch { /* already closed */ }
  }
}
