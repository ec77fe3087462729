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
import { readFileSync } from "node:fs";
import { fileError } from "./cli.ts";
import { looseModeWarning, writeSecretFile } from "./secret_file.ts";

/** Writes a new key file (mode 0600); throws if `path` exists or cannot be written. */
export function createKeyFile(path: string): void {
  writeSecretFile(path, randomBytes(32).toString("hex") + "\n", "cluster key");
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
  return { key, warning: looseModeWarning(path, "cluster key") };
}
