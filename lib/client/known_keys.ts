/**
 * Trust on first use of other users' DM keys (docs/SEALED_DM_FORMAT.md): the
 * first key seen for a name is remembered in a file; a different one later
 * is reported as a change. The file is JSON, name key → public key (base64).
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { nameKey } from "../wire/names.ts";

export type KeyCheck = "first" | "same" | "changed";

export class KnownKeys {
  #path: string | null;
  #keys: Record<string, string> = {};

  /** `path` null: remembered for this run only. */
  constructor(path: string | null) {
    this.#path = path;
    if (path === null) return;
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8"));
      if (parsed && typeof parsed === "object") this.#keys = parsed as Record<string, string>;
    } catch {
      // No file yet (or unreadable): start empty; it is written on the first key.
    }
  }

  /** The key remembered for `user`, if any. */
  get(user: string): string | undefined {
    return this.#keys[nameKey(user)];
  }

  /** Compares `publicKey` with what is remembered for `user`, then remembers it. */
  check(user: string, publicKey: string): KeyCheck {
    const k = nameKey(user);
    const old = this.#keys[k];
    if (old === publicKey) return "same";
    this.#keys[k] = publicKey;
    this.#save();
    return old === undefined ? "first" : "changed";
  }

  #save(): void {
    if (this.#path === null) return;
    const tmp = `${this.#path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#keys, null, 1) + "\n", { mode: 0o600 });
    renameSync(tmp, this.#path);
  }
}
