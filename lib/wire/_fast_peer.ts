/**
 * The commonest peer datagrams, `add` and `ok` (fan-out and catch-up
 * answers) whose ops are logins, logouts, touches, room entries and exits,
 * and messages, and `got` (one after each commit that stored a peer's ops,
 * to every peer of a small cluster), read line by line with one anchored regular expression per
 * field instead of the grammar (private to lib/wire/codec.ts). Anything
 * else — another verb or op kind, CRLF line ends, a malformed line —
 * returns null and goes through protocol.peggy, which stays the
 * definition; the tree built is the grammar's (tests/codec_property_test.ts
 * compares the two on generated and mutated datagrams). Its tree is then
 * checked by lib/wire/_fast_peer_check.ts, or by valibot when that one is
 * not sure.
 *
 * @example
 * ```ts
 * fastPeer("ask\nb\n-\na=3\n-\n"); // null: only add, ok and got are read here
 * ```
 */

import { INT, MSG, ORIGIN, pairs, SERVER_ID, TAG, unescapeMsg, VECTOR } from "./_fast_fields.ts";

// protocol.peggy's fields, each a whole line.
const line = (re: string) => new RegExp(`^(?:${re})$`);
const FROM = line(SERVER_ID);
const NONCE = line(`-|${INT}\\.[0-9a-f]{16}`);
const VECTOR_LINE = line(VECTOR);
const NUMBER = line(INT);
const MAC = line("-|[0-9a-f]{64}");
/** An `add`'s last line before the mac since peer protocol version 3: `got <at>`. */
const GOT_LINE = new RegExp(`^got (${INT})$`);
/** Since version 4, after a `got`'s `at` or an `add`'s got line: `silent <vector>`. */
const SILENT_LINE = new RegExp(`^silent (?:${VECTOR})$`);
/** …then `gotof <id> <vector>` lines. */
const GOT_OF_LINE = new RegExp(`^gotof (${SERVER_ID}) (${VECTOR})$`);

/** A `got`'s lines after its clock (version 4), as the grammar's GotWords reads them: the silent line, then the gotof lines; null when a line is neither (or out of order). */
function gotWords(r: Lines): Record<string, unknown> | null {
  const words: Record<string, unknown> = {};
  const silent = r.left > 1 ? r.next(SILENT_LINE) : null;
  if (silent !== null) words.silent = pairs(silent.slice("silent ".length));
  const of: [string, [string, number][]][] = [];
  for (let m; r.left > 1 && (m = GOT_OF_LINE.exec(r.peek())) !== null; r.next()) of.push([m[1], pairs(m[2])]);
  if (of.length > 0) words.gotsOf = of;
  return r.left === 1 ? words : null;
}
const OP_ID = new RegExp(`^(${ORIGIN})\\.(${INT})$`);
const SESSION = line("[0-9a-f]{64}");
const TAG_LINE = line(TAG);
const MSG_LINE = line(MSG);
const LOGIN = new RegExp(`^login(?: (${ORIGIN}\\.${INT}))?$`);
const MSG_KIND = new RegExp(`^msg(?: (${SERVER_ID}))?(?: >(${ORIGIN}\\.${INT}))?$`);
const ROOM_KINDS = new Set(["open", "join", "leave"]);

/** Reads lines in order; every read checks its pattern, and any miss ends the fast path. */
class Lines {
  #lines: string[];
  i = 0;
  constructor(lines: string[]) {
    this.#lines = lines;
  }
  get left(): number {
    return this.#lines.length - this.i;
  }
  next(re?: RegExp): string | null {
    const s = this.#lines[this.i];
    if (s === undefined || (re !== undefined && !re.test(s))) return null;
    this.i++;
    return s;
  }
  /** The next line, not consumed ("" at the end). */
  peek(): string {
    return this.#lines[this.i] ?? "";
  }
  /** A name or text field: any line (it has no CR or LF). */
  text(): string | null {
    const s = this.#lines[this.i];
    if (s === undefined || s.includes("\r")) return null;
    this.i++;
    return s;
  }
}

/** One op (`OpId NL OpBody`) of a kind read here, or null. */
function op(r: Lines): Record<string, unknown> | null {
  const id = OP_ID.exec(r.next() ?? "");
  const kindLine = r.next();
  if (id === null || kindLine === null) return null;
  const deps = r.next(VECTOR_LINE), at = r.next(NUMBER), session = r.next(SESSION);
  if (deps === null || at === null || session === null) return null;
  const head = { origin: id[1], seq: Number(id[2]), deps: pairs(deps), at: Number(at), session };
  const login = LOGIN.exec(kindLine);
  if (login !== null) {
    const userName = r.text(), ttl = r.next(NUMBER);
    if (userName === null || ttl === null) return null;
    const o = { ...head, kind: "login", userName, ttl: Number(ttl) };
    return login[1] === undefined ? o : { ...o, account: login[1] };
  }
  if (kindLine === "logout" || kindLine === "touch") return { ...head, kind: kindLine };
  if (ROOM_KINDS.has(kindLine)) {
    const groupName = r.text();
    return groupName === null ? null : { ...head, kind: kindLine, groupName };
  }
  const m = MSG_KIND.exec(kindLine);
  if (m === null) return null;
  const tag = r.next(TAG_LINE), groupName = r.text(), userName = r.text(), text = r.next(MSG_LINE);
  if (tag === null || groupName === null || userName === null || text === null) return null;
  const msg: Record<string, unknown> = { ...head, kind: "msg", tag, groupName, userName, msg: unescapeMsg(text) };
  if (m[1] !== undefined) msg.conf = m[1];
  if (m[2] !== undefined) msg.re = m[2];
  return msg;
}

/** The grammar's tree of a peer `got`, or of an `add` or `ok` whose ops are all of the kinds above, or null: parse it with the grammar. */
export function fastPeer(text: string): Record<string, unknown> | null {
  const verb = text.startsWith("add\n") ? "add" : text.startsWith("ok\n") ? "ok" : text.startsWith("got\n") ? "got" : null;
  if (verb === null || text.includes("\r") || !text.endsWith("\n")) return null;
  if (verb === "got") return fastGot(text);
  const r = new Lines(text.slice(0, -1).split("\n"));
  r.next();
  const from = r.next(FROM), nonce = r.next(NONCE), vector = r.next(VECTOR_LINE);
  const more = verb === "ok" ? r.next(/^[01]$/) : "";
  const count = r.next(NUMBER);
  if (from === null || nonce === null || vector === null || more === null || count === null) return null;
  const ops: Record<string, unknown>[] = [];
  // An op starts with its id line, never `got …`: at an op's start a got line ends the ops.
  while (r.left > 1 && !(verb === "add" && GOT_LINE.test(r.peek()))) {
    const o = op(r);
    if (o === null) return null;
    ops.push(o);
  }
  const got = r.left > 1 ? GOT_LINE.exec(r.next() ?? "") : null;
  const words = got === null ? {} : gotWords(r);
  const mac = words === null ? null : r.next(MAC);
  if (mac === null || r.left !== 0) return null;
  const signed = text.slice(0, text.length - mac.length - 1);
  const head = { verb, from, nonce, vector: pairs(vector) };
  if (verb === "ok") return { ...head, more: more === "1", count: Number(count), ops, signed, mac };
  if (got === null) return { ...head, count: Number(count), ops, signed, mac };
  return { ...head, count: Number(count), ops, got: Number(got[1]), ...words, signed, mac };
}

/** The grammar's tree of a `got`: its head, vector, clock (`at`), what it says of its peers (version 4) and mac; null when a line does not match. */
function fastGot(text: string): Record<string, unknown> | null {
  const r = new Lines(text.slice(0, -1).split("\n"));
  r.next();
  const from = r.next(FROM), nonce = r.next(NONCE), vector = r.next(VECTOR_LINE), at = r.next(NUMBER);
  const words = at === null ? null : gotWords(r);
  const mac = words === null ? null : r.next(MAC);
  if (from === null || nonce === null || vector === null || at === null || mac === null || r.left !== 0) return null;
  const signed = text.slice(0, text.length - mac.length - 1);
  return { verb: "got", from, nonce, vector: pairs(vector), at: Number(at), ...words, signed, mac };
}
