/**
 * The session id of a token: SHA-256 of the token, hex (docs/ARCHITECTURE.md
 * "Applying ops"). Tokens never leave the server that issued them and are
 * never stored; ops, tables and retransmission keys carry this id.
 *
 * @example
 * ```ts
 * sessionId("q3Zk…"); // "9f86d081884c7d65…" (64 hex digits)
 * ```
 */
import { createHash } from "node:crypto";

/** SHA-256 of a token, hex: the session id. */
export function sessionId(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
