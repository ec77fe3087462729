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

// The grammar's pieces (protocol.peggy): NL = "\r"? "\n"; Tag, Token, Msg, NameText, Int; a Vector's entries.
const NL = String.raw`\r?\n`;
const HEAD = String.raw`\r?\n([A-Za-z0-9]{1,16})\r?\n([A-Za-z0-9_-]{16,128})\r?\n`;
const ENTRY = String.raw`[a-z0-9][a-z0-9_-]{0,15}(?:~[0-9a-z]{1,12})?=[0-9]{1,16}`;

// "add" NL Tag NL Token NL Msg NL NameText NL End
const ADD = new RegExp(String.raw`^add${HEAD}((?:[^\\\r\n]|\\[\\nr])*)${NL}([^\r\n]*)${NL}$`);
// "request" NL Tag NL Token NL NameText NL Cursor NL (Int NL)? ("notices" NL)? End
const REQUEST = new RegExp(String.raw`^request${HEAD}([^\r\n]*)${NL}(${ENTRY}(?:,${ENTRY})*|0)${NL}(?:([0-9]{1,16})${NL})?(notices${NL})?$`);

const unescape = (c: string): string => (c === "\\\\" ? "\\" : c === "\\n" ? "\n" : "\r");

/** A cursor's text as the grammar's Vector reads it: [origin, n] pairs ("0": none). */
function cursorOf(text: string): [string, number][] {
  if (text === "0") return [];
  return text.split(",").map((e) => {
    const eq = e.indexOf("=");
    return [e.slice(0, eq), Number(e.slice(eq + 1))];
  });
}

/** The grammar's tree of an `add` with no reply target or of a `request`, or null: parse it with the grammar. */
export function fastRequest(text: string): Record<string, unknown> | null {
  if (text.startsWith("add")) {
    const m = ADD.exec(text);
    if (m === null) return null;
    const msg = m[3].includes("\\") ? m[3].replace(/\\[\\nr]/g, unescape) : m[3];
    return { verb: "add", tag: m[1], token: m[2], msg, groupName: m[4] };
  }
  if (text.startsWith("request")) {
    const m = REQUEST.exec(text);
    if (m === null) return null;
    const r = { verb: "request", tag: m[1], token: m[2], groupName: m[3], cursor: cursorOf(m[4]), waitMs: m[5] === undefined ? 0 : Number(m[5]) };
    return m[6] === undefined ? r : { ...r, notices: true };
  }
  return null;
}
