/**
 * The commonest request, `add` without a reply target, read by one regular
 * expression instead of the grammar (private to lib/wire/codec.ts). It
 * accepts a subset of what protocol.peggy's `Add` rule accepts and builds
 * the same tree; anything else (a reply's msgID, a malformed datagram)
 * returns null and goes through the grammar, which stays the definition
 * (tests/fast_add_test.ts compares the two). The grammar costs 9–12 µs
 * per add, this 1 (docs/PERFORMANCE_NOTES.md "Add cost").
 *
 * @example
 * ```ts
 * fastAdd("add\nt1\nabcdefghijklmnop\nhi\\nthere\nroom1\n");
 * // { verb: "add", tag: "t1", token: "abcdefghijklmnop", msg: "hi\nthere", groupName: "room1" }
 * ```
 */

// "add" NL Tag NL Token NL Msg NL NameText NL End, with NL = "\r"? "\n" (protocol.peggy).
const ADD = /^add\r?\n([A-Za-z0-9]{1,16})\r?\n([A-Za-z0-9_-]{16,128})\r?\n((?:[^\\\r\n]|\\[\\nr])*)\r?\n([^\r\n]*)\r?\n$/;

const unescape = (c: string): string => (c === "\\\\" ? "\\" : c === "\\n" ? "\n" : "\r");

/** The grammar's tree of an `add` datagram's text with no reply target, or null: parse it with the grammar. */
export function fastAdd(text: string): { verb: "add"; tag: string; token: string; msg: string; groupName: string } | null {
  if (!text.startsWith("add")) return null;
  const m = ADD.exec(text);
  if (m === null) return null;
  const msg = m[3].includes("\\") ? m[3].replace(/\\[\\nr]/g, unescape) : m[3];
  return { verb: "add", tag: m[1], token: m[2], msg, groupName: m[4] };
}
