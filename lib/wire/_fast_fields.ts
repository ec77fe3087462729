/**
 * The fields protocol.peggy reads, as regular-expression sources and small
 * readers, for the fast paths that stand in for the grammar on the hot
 * datagrams (lib/wire/_fast_requests.ts, _fast_peer.ts). Private to lib/wire/.
 *
 * @example
 * ```ts
 * pairs("a=3,b~x1=4"); // [["a", 3], ["b~x1", 4]]
 * unescapeMsg("hi\\nthere"); // "hi\nthere"
 * ```
 */

/** ServerId, Origin, Int (Digits), a Vector's entry, Tag, Token, escaped Msg text (no line end). */
export const SERVER_ID = "[a-z0-9][a-z0-9_-]{0,15}";
export const ORIGIN = `${SERVER_ID}(?:~[0-9a-z]{1,12})?`;
export const INT = "[0-9]{1,16}";
const ENTRY = `${ORIGIN}=${INT}`;
/** A Vector (a cursor): entries, or "0" for none. */
export const VECTOR = `${ENTRY}(?:,${ENTRY})*|0`;
export const TAG = "[A-Za-z0-9]{1,16}";
export const TOKEN = "[A-Za-z0-9_-]{16,128}";
export const MSG = String.raw`(?:[^\\\r\n]|\\[\\nr])*`;

/** A Vector field's text as the grammar reads it: [origin, n] pairs ("0": none). */
export function pairs(text: string): [string, number][] {
  if (text === "0") return [];
  return text.split(",").map((e) => {
    const eq = e.indexOf("=");
    return [e.slice(0, eq), Number(e.slice(eq + 1))];
  });
}

const unescape = (c: string): string => (c === "\\\\" ? "\\" : c === "\\n" ? "\n" : "\r");

/** Msg text with its escapes (`\\`, `\n`, `\r`) undone, as the grammar's Msg rule returns it. */
export function unescapeMsg(text: string): string {
  return text.includes("\\") ? text.replace(/\\[\\nr]/g, unescape) : text;
}
