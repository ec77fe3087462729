/**
 * Cluster key files: the secret every server of a cluster shares to
 * authenticate peer datagrams (lib/replication/peer_auth.ts). A key file's
 * bytes are the key; `createKeyFile` writes 32 random bytes as 64 hex
 * digits and a newline, readable by its owner only.
 *
 * @example
 * ```ts
 * createKeyFile("cluster.key");        // refuses to overwrite an existing file
 * const key = readKeyFile("cluster.key");
 * ```
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileError } from "./cli.ts";

/** Writes a new key file (mode 0600); throws if `path` exists or cannot be written. */
export function createKeyFile(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    const exists = (e as { code?: string }).code === "EEXIST";
    throw new Error(`cannot create the cluster key ${path}: ${exists ? "the file exists (a key is never overwritten)" : fileError(e)}`);
  }
}

/** The key in `path`; throws a readable Error when it is missing, empty or readable by others. */
export function readKeyFile(path: string): { key: Uint8Array; warning: string | null } {
  let key: Uint8Array;
  try {
    key = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read the cluster key ${path} (--cluster-key): ${fileError(e)}`);
  }
  if (key.length === 0) throw new Error(`cluster key file ${path} is empty`);
  let warning: string | null = null;
  try {
    if ((statSync(path).mode & 0o077) !== 0) warning = `cluster key ${path} is readable by other users: chmod 600 ${path}`;
  } catch { /* read above, so it exists */ }
  return { key, warning };
}
