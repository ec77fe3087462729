/**
 * The two commonest requests, `add` without a reply target and `request`
 * (a poll), read by one regular expression each instead of the grammar
 * (private to lib/wire/codec.ts). Each accepts a subset of what
 * protocol.peggy's rule accepts and builds the same tree; anything else (a
 * reply's msgID, a malformed datagram) returns null and goes through the
 * grammar, which stays the definition (tests/fast_requests_test.ts compares
 * the two). The grammar costs 9–12 µs per add, this about 1
 * (docs/PERFORMANCE_NOTES.md "Add cost").
 *
 * @example
 * ```ts
 * fastRequest("add\nt1\nabcdefghijklmnop\nhi\\nthere\nroom1\n");
 * // { verb: "add", tag: "t1", token: "abcdefghijklmnop", msg: "hi\nthere", groupName: "room1" }
 * ```
 */

import { INT, MSG, pairs, TAG, TOKEN, unescapeMsg, VECTOR } from "./_fast_fields.ts";

const NL = String.raw`\r?\n`;
const HEAD = `${NL}(${TAG})${NL}(${TOKEN})${NL}`;

// "add" NL Tag NL Token NL Msg NL NameText NL End
const ADD = new RegExp(`^add${HEAD}(${MSG})${NL}([^\\r\\n]*)${NL}$`);
// "request" NL Tag NL Token NL NameText NL Cursor NL (Int NL)? ("notices" NL)? End
const REQUEST = new RegExp(`^request${HEAD}([^\\r\\n]*)${NL}(${VECTOR})${NL}(?:(${INT})${NL})?(notices${NL})?$`);

/** The grammar's tree of an `add` with no reply target or of a `request`, or null: parse it with the grammar. */
export function fastRequest(text: string): Record<string, unknown> | null {
  if (text.startsWith("add")) {
    const m = ADD.exec(text);
    if (m === null) return null;
    return { verb: "add", tag: m[1], token: m[2], msg: unescapeMsg(m[3]), groupName: m[4] };
  }
  if (text.startsWith("request")) {
    const m = REQUEST.exec(text);
    if (m === null) return null;
    const r = { verb: "request", tag: m[1], token: m[2], groupName: m[3], cursor: pairs(m[4]), waitMs: m[5] === undefined ? 0 : Number(m[5]) };
    return m[6] === undefined ? r : { ...r, notices: true };
  }
  return null;
}
