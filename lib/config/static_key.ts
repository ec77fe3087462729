/**
 * A server's static key files (docs/OPERATIONS.md "Server keys"): the
 * X25519 key pair of the encrypted transport (lib/secure/). The private key
 * file holds its 32 bytes as 44 characters of base64 and a newline, mode
 * 0600, as WireGuard writes keys; `FILE.pub` beside it the public key the
 * same way, for servers.txt (`key=BASE64`). `npm run keygen -- --server-key
 * FILE` makes both; a key file is never overwritten.
 *
 * @example
 * ```ts
 * const { publicKey } = createStaticKeyFile("data/a.key"); // and data/a.key.pub
 * const { keyPair, warning } = readStaticKeyFile("data/a.key");
 * ```
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileError } from "./cli.ts";
import { looseModeWarning, writeSecretFile } from "./secret_file.ts";
import { decodeKey, encodeKey } from "../secure/keys.ts";
import { generateKeyPair, keyPairFromPrivate, type KeyPair, privateBytes } from "../secure/suite.ts";

/** Writes a new key pair: `path` (private, 0600) and `path.pub`. Returns the public key; throws when a file exists or cannot be written. */
export function createStaticKeyFile(path: string): { publicKey: Uint8Array } {
  const pair = generateKeyPair();
  writeSecretFile(path, encodeKey(privateBytes(pair)) + "\n", "server key");
  try {
    writeFileSync(`${path}.pub`, encodeKey(pair.publicKey) + "\n", { mode: 0o644 });
  } catch (e) {
    throw new Error(`wrote the server key ${path} but cannot write ${path}.pub: ${fileError(e)}`);
  }
  return { publicKey: pair.publicKey };
}

/** The key pair whose private key file's text is `text`; throws a one-line Error naming `file`. */
export function parseStaticKey(text: string, file: string): KeyPair {
  const raw = decodeKey(text.trim());
  if (raw === null) throw new Error(`server key file ${file} must hold one private key: 44 characters of base64 (npm run keygen -- --server-key FILE makes one)`);
  return keyPairFromPrivate(raw);
}

/** Reads a private key file; a file others can read is used with a warning. */
export function readStaticKeyFile(path: string): { keyPair: KeyPair; warning: string | null } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read the server key ${path}: ${fileError(e)}`);
  }
  return { keyPair: parseStaticKey(text, path), warning: looseModeWarning(path, "server key") };
}
