/**
 * Text received from the network, made safe to print: no terminal escape,
 * control or bidi character reaches a terminal raw (the chat client, the
 * status table). Everything a server or a peer sends is untrusted.
 */

/**
 * Characters that never reach the terminal raw: C0 controls, DEL, C1
 * controls (C1 0x9b is a one-byte CSI), bidi embeddings/overrides/isolates
 * and marks, and the Unicode line/paragraph separators.
 */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Replaces unsafe characters with visible escapes (`\x1b`, `\u202e`);
 * with `keepNewlines`, line feeds stay.
 *
 * @example
 * ```ts
 * sanitize("a\x1b[31mb"); // "a\\x1b[31mb"
 * ```
 */
export function sanitize(s: string, keepNewlines = false): string {
  return s.replace(UNSAFE, (c) => (keepNewlines && c === "\n" ? c : escapeChar(c)));
}
