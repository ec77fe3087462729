/**
 * Trust on first use of other users' DM keys (docs/SEALED_DM_FORMAT.md): the
 * first key seen for a name is remembered in a file; a different one later
 * is reported as a change. The file is JSON, name key → public key (base64).
 * The terminal client's KeyMemory; the page keeps them in its own storage.
 *
 * @example
 * ```ts
 * const known = knownKeysFile(join(HOME, ".distchat_known_keys"));
 * known.check("bob", key); // "first", then "same", or "changed"
 * ```
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { keyMemory, type KeyMemory } from "./social.ts";

/** The keys remembered in `path` (null: for this run only). */
export function knownKeysFile(path: string | null): KeyMemory {
  let keys: Record<string, string> = {};
  if (path !== null) {
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8"));
      if (parsed && typeof parsed === "object") keys = parsed as Record<string, string>;
    } catch {
      // No file yet (or unreadable): start empty; it is written on the first key.
    }
  }
  return keyMemory(keys, (all) => {
    if (path === null) return;
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 1) + "\n", { mode: 0o600 });
    renameSync(tmp, path);
  });
}
