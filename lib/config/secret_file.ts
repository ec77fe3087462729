/**
 * Files that hold secrets (cluster keys, server keys): written owner-only
 * (0600, in a directory made 0700), never over an existing file, and read
 * with a warning when other users can read them.
 *
 * @example
 * ```ts
 * writeSecretFile("data/cluster.key", "ab12…\n", "cluster key"); // throws if it exists
 * looseModeWarning("data/cluster.key", "cluster key");           // null, or "… chmod 600 …"
 * ```
 */
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileError } from "./cli.ts";

/** Writes `text` to a new file `path`, mode 0600; throws "cannot create the WHAT PATH: …" when it exists or cannot be written. */
export function writeSecretFile(path: string, text: string, what: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, text, { mode: 0o600, flag: "wx" });
  } catch (e) {
    const exists = (e as { code?: string }).code === "EEXIST";
    throw new Error(`cannot create the ${what} ${path}: ${exists ? "the file exists (a key is never overwritten)" : fileError(e)}`);
  }
}

/** A warning when users other than the owner can read `path`, else null. */
export function looseModeWarning(path: string, what: string): string | null {
  try {
    return (statSync(path).mode & 0o077) !== 0 ? `${what} ${path} is readable by other users: chmod 600 ${path}` : null;
  } catch {
    return null;
  }
}
