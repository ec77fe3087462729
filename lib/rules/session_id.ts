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

/**
 * Ids of recent tokens: every request of a session hashes its token (2 µs,
 * a tenth of an add's handling: docs/PERFORMANCE_NOTES.md "Add cost"). Held
 * in memory only, like the requests that carried them; emptied when full.
 */
const recent = new Map<string, string>();
const RECENT_MAX = 4096;

/** SHA-256 of a token, hex: the session id. */
export function sessionId(token: string): string {
  const known = recent.get(token);
  if (known !== undefined) return known;
  const id = createHash("sha256").update(token).digest("hex");
  if (recent.size >= RECENT_MAX) recent.clear();
  recent.set(token, id);
  return id;
}
