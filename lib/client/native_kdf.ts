/**
 * The dc1 key derivation (lib/client/seal.ts `deriveRoomKey`) on node:crypto's
 * native scrypt, which Node and Deno have: the same key, about three times
 * faster than the portable @noble one a browser page runs. The terminal
 * client passes it to RoomKeys; tests/seal_test.ts checks both give the same
 * known answer.
 *
 * @example
 * ```ts
 * const keys = new RoomKeys({ kdf: nativeRoomKdf });
 * ```
 */
import { scrypt } from "node:crypto";
import { KDF_PARAMS } from "./seal.ts";
import type { Kdf } from "./seal.ts";

/** scrypt needs 128·N·r bytes; give it that plus slack. */
const MAXMEM = 128 * KDF_PARAMS.N * KDF_PARAMS.r + 16 * 1024 * 1024;

/** scrypt(NFC(passphrase), salt, 32, N = 2^15, r = 8, p = 1), natively. */
export const nativeRoomKdf: Kdf = (passphrase, salt) => {
  const { N, r, p, keyBytes } = KDF_PARAMS;
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize("NFC"), salt, keyBytes, { N, r, p, maxmem: MAXMEM }, (e, key) => (e ? reject(e) : resolve(new Uint8Array(key))))
  );
};
