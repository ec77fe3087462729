/**
 * The one codec: datagram bytes to typed, validated values and back.
 *
 * `protocol.peggy` checks structure; valibot (lib/wire/_schemas.ts) checks what
 * a grammar cannot (name patterns, byte lengths, integer ranges, counts). The
 * hot datagrams take fast paths that read and check exactly the same
 * (lib/wire/_fast_requests.ts, _fast_request_check.ts, _fast_peer.ts,
 * _fast_peer_check.ts).
 * Decoding never throws: it returns a Result whose error carries the code to
 * answer with (docs/PROTOCOL.md "Datagrams and lines").
 *
 * @example
 * ```ts
 * const r = decodeRequest(new TextEncoder().encode("login\n1\nbob\n"));
 * if (r.ok) r.value; // { verb: "login", tag: "1", userName: "bob" }
 * ```
 */
import { parse } from "./_protocol_parser.js";
import { fastRequest } from "./_fast_requests.ts";
import { fastPeer } from "./_fast_peer.ts";
import { checkFastPeer } from "./_fast_peer_check.ts";
import { checkFastRequest } from "./_fast_request_check.ts";
import { checkPeer, checkReply, checkRequest } from "./_schemas.ts";
import type {
  GotWords,
  Op,
  PeerDatagram,
  PollEntry,
  PollReply,
  ProtocolError,
  Reply,
  Request,
  Result,
  SignedPeerDatagram,
  WireVerifier,
} from "./messages.ts";
import { MAX_DATAGRAM } from "./messages.ts";
import { formatVector, type Vector } from "./vector.ts";
import { utf8Length } from "./utf8.ts";

export { MAX_DATAGRAM, utf8Length };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const utf8 = new TextEncoder();

const REPLY_VERBS = new Set(["ok", "poll", "error"]);

type StartRule = "ClientRequest" | "ClientReply" | "PeerDatagram";

/** The verb and tag of any datagram, as far as they can be read. */
function head(bytes: Uint8Array): { verb: string; tag: string } {
  const text = lenientUtf8.decode(bytes.subarray(0, MAX_DATAGRAM));
  try {
    const h = parse(text, { startRule: "DatagramHead" }) as { verb: string; tag: string | null };
    return { verb: h.verb.replace(/\r$/, ""), tag: h.tag ?? "-" };
  } catch {
    return { verb: "", tag: "-" };
  }
}

/**
 * The tag of a datagram (its second line), read from its head alone, or
 * "-" when it has none: how a transport that matches replies to requests
 * (the web listener's `POST /dc`) names a request before it is decoded —
 * the tag its reply, or its error, will carry.
 */
export function datagramTag(bytes: Uint8Array): string {
  return head(bytes.subarray(0, 64)).tag;
}

function fail<T>(bytes: Uint8Array, code: ProtocolError["code"], message: string): Result<T> {
  const h = head(bytes);
  return { ok: false, error: { code, tag: h.tag, message, silent: REPLY_VERBS.has(h.verb) } };
}

/** Parses with one start rule (size already checked by decodeWith); a SyntaxError becomes a readable message. `fast`: a fast path read it. */
function parseText(bytes: Uint8Array, rule: StartRule): { ok: true; ast: unknown; fast: boolean } | {
  ok: false;
  message: string;
} {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { ok: false, message: "datagram is not valid UTF-8" };
  }
  try {
    const fast = rule === "ClientRequest" ? fastRequest(text) : rule === "PeerDatagram" ? fastPeer(text) : null;
    return fast !== null ? { ok: true, ast: fast, fast: true } : { ok: true, ast: parse(text, { startRule: rule }), fast: false };
  } catch (e) {
    const err = e as { message?: string; location?: { start: { line: number } } };
    const line = err.location ? ` (line ${err.location.start.line})` : "";
    return { ok: false, message: `malformed datagram${line}: ${err.message ?? "parse error"}` };
  }
}

function decodeWith<T>(
  bytes: Uint8Array,
  rule: StartRule,
  check: (ast: unknown) => { ok: true; value: T } | { ok: false; nameOnly: boolean; message: string },
  checkFast?: (ast: Record<string, unknown>) => { ok: true; value: T } | null,
): Result<T> {
  if (bytes.length > MAX_DATAGRAM) {
    return fail(bytes, "too-large", `datagram of ${bytes.length} bytes exceeds ${MAX_DATAGRAM}`);
  }
  const parsed = parseText(bytes, rule);
  if (!parsed.ok) return fail(bytes, "bad-request", parsed.message);
  // A fast path's tree may be checked without valibot (null: valibot decides, and words the error).
  const checked = (parsed.fast && checkFast?.(parsed.ast as Record<string, unknown>)) || check(parsed.ast);
  if (!checked.ok) return fail(bytes, checked.nameOnly ? "bad-name" : "bad-request", checked.message);
  return { ok: true, value: checked.value };
}

/** Decodes a client request (what a server's client port receives). */
export function decodeRequest(bytes: Uint8Array): Result<Request> {
  return decodeWith(bytes, "ClientRequest", checkRequest, checkFastRequest);
}

/** Decodes a server reply (what a client receives). */
export function decodeReply(bytes: Uint8Array): Result<Reply> {
  return decodeWith(bytes, "ClientReply", checkReply);
}

/** Decodes a server-network datagram; authentication is lib/replication/peer_auth.ts's job. */
export function decodePeer(bytes: Uint8Array): Result<SignedPeerDatagram> {
  return decodeWith(bytes, "PeerDatagram", checkPeer, checkFastPeer);
}

// --- Encoding ----------------------------------------------------------------

/** Escapes message text for the wire: `\` `\n` `\r` (docs/PROTOCOL.md). */
export function escapeText(s: string): string {
  return s.replace(/[\\\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : "\\r"));
}

function lines(fields: readonly (string | number)[]): string {
  return fields.join("\n") + "\n";
}

const flag = (b: boolean) => (b ? "1" : "0");

/** Wire text of one request. */
export function requestText(r: Request): string {
  switch (r.verb) {
    case "login":
      return lines(r.proof === undefined ? ["login", r.tag, r.userName] : ["login", r.tag, r.userName, r.proof]);
    case "auth":
      return lines(["auth", r.tag, r.userName, r.nonce]);
    case "register":
      return lines(["register", r.tag, r.token, ...verifierLines(r.verifier), r.publicKey]);
    case "password":
      return lines(["password", r.tag, r.userName, r.proof, ...verifierLines(r.verifier!)]);
    case "drop":
      return lines(["drop", r.tag, r.userName, r.proof]);
    case "pubkey":
      return lines(["pubkey", r.tag, r.token, r.publicKey]);
    case "whois":
      return lines(["whois", r.tag, r.token, r.userName]);
    case "dms":
      return lines(["dms", r.tag, r.token]);
    case "servers":
      return lines(["servers", r.tag]);
    case "room":
      return lines(["room", r.tag, r.token, r.groupName]);
    case "mod":
      return lines(["mod", r.tag, r.token, r.groupName, r.action, r.target, escapeText(r.text)]);
    case "open":
      return lines([r.verb, r.tag, r.token, r.groupName]);
    case "connect":
      return lines([r.verb, r.tag, r.token, r.groupName, ...(r.key === undefined ? [] : [r.key])]);
    case "leave":
      return lines([r.verb, r.tag, r.token, r.groupName, ...(r.reason === undefined ? [] : [escapeText(r.reason)])]);
    case "add": {
      const f = ["add", r.tag, r.token, escapeText(r.msg), r.groupName];
      return lines(r.re === undefined ? f : [...f, msgIdText(r.re)]);
    }
    case "act":
      return lines(["act", r.tag, r.token, r.groupName, r.action, msgIdText(r.target), escapeText(r.text)]);
    case "search": {
      const f = ["search", r.tag, r.token, r.groupName, escapeText(r.query), r.limit, ...(r.before === null ? [] : [msgIdText(r.before)])];
      return lines(r.order === "newest" ? [...f, "newest"] : f);
    }
    case "unread":
      return lines(["unread", r.tag, r.token]);
    case "typing":
      return lines(["typing", r.tag, r.token, r.groupName, r.state, escapeText(r.text)]);
    case "request": {
      const f = ["request", r.tag, r.token, r.groupName, formatVector(r.cursor)];
      if (r.notices) return lines([...f, r.waitMs, "notices"]);
      return lines(r.waitMs > 0 ? [...f, r.waitMs] : f);
    }
    case "rooms":
      return lines(r.after === null ? ["rooms", r.tag, r.token] : ["rooms", r.tag, r.token, r.after]);
    case "who": {
      const f = ["who", r.tag, r.token, r.groupName];
      return lines(r.after === null ? f : [...f, r.after]);
    }
    case "logout":
      return lines(["logout", r.tag, r.token, ...(r.reason === undefined ? [] : [escapeText(r.reason)])]);
    case "history": {
      const f: (string | number)[] = ["history", r.tag, r.token, r.groupName, r.limit];
      if (r.before !== null) f.push(`${r.before.origin}.${r.before.n}`);
      return lines(r.notices ? [...f, "notices"] : f);
    }
  }
}

const verifierLines = (v: WireVerifier) => [v.salt, v.iterations, v.storedKey, v.serverKey];
const msgIdText = (id: { origin: string; n: number }) => `${id.origin}.${id.n}`;

/** Wire text of one poll entry (four lines, and a fifth of facts when it has any: docs/PROTOCOL.md "Message actions"). */
export function pollEntryText(e: PollEntry): string {
  const f = [`${e.msgId.origin}.${e.msgId.n}`, e.userName, e.sentAt, escapeText(e.msg)];
  const meta = entryMetaText(e);
  return lines(meta === "" ? f : [...f, meta]);
}

/** The facts line of an entry ("*edited re=a.5 r=👍=2"), or "" when it has none. */
export function entryMetaText(e: PollEntry): string {
  const items: string[] = [];
  if (e.edited) items.push("edited");
  if (e.re) items.push(`re=${msgIdText(e.re)}`);
  for (const [text, n] of e.reactions ?? []) items.push(`r=${text}=${n}`);
  return items.length === 0 ? "" : "*" + items.join(" ");
}

/**
 * Poll replies that share one entries array (a fan-out: many polls of one
 * room and cursor, lib/handlers/poll.ts `pollMany`) differ only in their tag:
 * the rest is formatted once and remembered with the array.
 */
const pollBodies = new WeakMap<readonly PollEntry[], { groupName: string; cursor: PollReply["cursor"]; more: boolean; text: string }>();

/** Wire text of a poll reply after its tag line. */
function pollBody(r: PollReply): string {
  const memo = pollBodies.get(r.entries);
  if (memo && memo.groupName === r.groupName && memo.cursor === r.cursor && memo.more === r.more) return memo.text;
  const text = lines([r.groupName, formatVector(r.cursor), flag(r.more), r.entries.length]) +
    r.entries.map(pollEntryText).join("");
  pollBodies.set(r.entries, { groupName: r.groupName, cursor: r.cursor, more: r.more, text });
  return text;
}

/** Wire text of one reply. */
export function replyText(r: Reply): string {
  switch (r.verb) {
    case "error":
      return lines(["error", r.tag, r.code, r.message.replace(/[\r\n]+/g, " ")]);
    case "poll":
      return lines(["poll", r.tag]) + pollBody(r);
  }
  switch (r.kind) {
    case "login": {
      const f = ["ok", r.tag, "login", r.userName, r.token, r.ttl];
      return lines(r.serverFinal === undefined ? f : [...f, r.serverFinal]);
    }
    case "auth":
      return lines(["ok", r.tag, "auth", r.userName, r.serverFirst]);
    case "register":
    case "pubkey":
      return lines(["ok", r.tag, r.kind, r.userName]);
    case "password":
    case "drop":
      return lines(["ok", r.tag, r.kind, r.userName, r.serverFinal]);
    case "dms":
      return lines(["ok", r.tag, "dms", r.entries.length, ...r.entries.flatMap((e) => [e.groupName, e.last === null ? "-" : msgIdText(e.last)])]);
    case "mod":
      return lines(["ok", r.tag, "mod", r.groupName, r.action, r.target]);
    case "whois":
      return lines([
        "ok", r.tag, "whois", r.userName, flag(r.registered), r.idle === null ? "-" : r.idle, r.publicKey, r.rooms.length, ...r.rooms,
      ]);
    case "room":
      return lines([
        "ok", r.tag, "room", r.groupName, r.mode, r.topicBy, r.topicAt, escapeText(r.topic), r.roles.length, ...r.roles,
      ]);
    case "open":
    case "connect":
    case "leave":
      return lines(["ok", r.tag, r.kind, r.groupName]);
    case "add":
      return lines(["ok", r.tag, "add", escapeText(r.msg), r.groupName, `${r.msgId.origin}.${r.msgId.n}`]);
    case "rooms":
      return lines(["ok", r.tag, "rooms", flag(r.more), r.names.length, ...r.names]);
    case "who":
      return lines(["ok", r.tag, "who", r.groupName, flag(r.more), r.names.length, ...r.names]);
    case "logout":
      return lines(["ok", r.tag, "logout"]);
    case "history":
      return lines(["ok", r.tag, "history", r.groupName, formatVector(r.cursor), flag(r.more), r.entries.length]) +
        r.entries.map(pollEntryText).join("");
    case "act":
      return lines(["ok", r.tag, "act", r.groupName, r.action, msgIdText(r.target)]);
    case "search":
      return lines(["ok", r.tag, "search", flag(r.more), r.hits.length]) + r.hits.map((h) => lines([h.groupName]) + pollEntryText(h)).join("");
    case "unread":
      return lines(["ok", r.tag, "unread", r.entries.length, ...r.entries.flatMap((e) => [e.groupName, e.mark === null ? "-" : msgIdText(e.mark), e.unread])]);
    case "servers":
      return lines(["ok", r.tag, "servers", r.servers.length, ...r.servers.flatMap((x) => [x.id, x.client, x.publicKey])]);
    case "typing":
      return lines(["ok", r.tag, "typing", r.groupName, r.states.length, ...r.states.flatMap((p) => [p.userName, p.state])]);
  }
}

/** Wire texts of ops written already, by op object (ops are values: never changed once made). */
const opTexts = new WeakMap<Op, string>();

/**
 * Wire text of one replicated operation. Remembered per op object: a
 * fan-out or an answer writes each op twice, to pack it (lib/replication/_batch.ts)
 * and in its datagram.
 */
export function opText(op: Op): string {
  let text = opTexts.get(op);
  if (text === undefined) opTexts.set(op, text = writeOp(op));
  return text;
}

/** The wire text opText remembers. */
function writeOp(op: Op): string {
  const headFields = [`${op.origin}.${op.seq}`, op.kind, formatVector(op.deps), op.at, op.session];
  switch (op.kind) {
    case "login":
      if (op.account !== undefined) headFields[1] = `login ${op.account}`;
      return lines([...headFields, op.userName, op.ttl]);
    case "acct":
      return lines([...headFields, op.action, op.userName, op.data]);
    case "mod":
      return lines([...headFields, op.action, op.groupName, op.userName, op.target, escapeText(op.text)]);
    case "logout":
    case "touch":
      return lines(headFields);
    case "open":
    case "join":
      return lines([...headFields, op.groupName]);
    case "leave":
      if (op.reason === undefined) return lines([...headFields, op.groupName]);
      headFields[1] = op.quit ? "leave quit" : "leave why";
      return lines([...headFields, op.groupName, escapeText(op.reason)]);
    case "msg":
      headFields[1] = "msg" + (op.conf === undefined ? "" : ` ${op.conf}`) + (op.re === undefined ? "" : ` >${op.re}`);
      return lines([...headFields, op.tag, op.groupName, op.userName, escapeText(op.msg)]);
    case "hide":
      return lines([...headFields, op.target]);
    case "act":
      return lines([...headFields, op.action, op.groupName, op.userName, op.target, escapeText(op.text)]);
  }
}

/** A `got`'s `silent` and `gotof` lines (peer protocol version 4), or nothing. */
function gotWords(d: GotWords): string {
  const silent = d.silent === undefined ? [] : [`silent ${formatVector(d.silent)}`];
  const of = [...d.gotsOf ?? []].map(([id, v]) => `gotof ${id} ${formatVector(v)}`);
  return silent.length + of.length === 0 ? "" : lines([...silent, ...of]);
}

/** Wire text of a peer datagram up to (not including) its mac line. */
export function peerSignedText(d: PeerDatagram): string {
  if (d.verb === "stat") return lines([d.verb, d.from, d.nonce]);
  if (d.verb === "state") return lines([d.verb, d.from, d.nonce, d.json.replace(/[\r\n]+/g, " ")]);
  if (d.verb === "hello" || d.verb === "proof") {
    return lines(d.version === undefined ? [d.verb, d.from, d.nonce, d.challenge] : [d.verb, d.from, d.nonce, d.challenge, `v${d.version}`]);
  }
  if (d.verb === "pres") {
    return lines([d.verb, d.from, d.nonce, d.notes.length, ...d.notes.flatMap((n) => [n.userName, n.state, n.ttlMs, n.rooms.join(" ")])]);
  }
  const top = lines([d.verb, d.from, d.nonce, formatVector(d.vector)]);
  switch (d.verb) {
    case "ask":
      return top;
    case "got":
      return top + lines([d.at]) + gotWords(d);
    case "add":
      return top + lines([d.ops.length]) + d.ops.map(opText).join("") + (d.got === undefined ? "" : lines([`got ${d.got}`]) + gotWords(d));
    case "ok":
      return top + lines([flag(d.more), d.ops.length]) + d.ops.map(opText).join("");
  }
}

/** The longest nonce the grammar allows (16 digits "." 16 hex digits), and the mac line (64 hex digits and a newline). */
export const WORST_NONCE = "9999999999999999.ffffffffffffffff";
export const MAC_LINE = 65;

/** True when peer datagram `d` fits in MAX_DATAGRAM however it is sealed (the longest nonce, a mac). */
export function peerFits(d: PeerDatagram): boolean {
  return utf8Length(peerSignedText({ ...d, nonce: WORST_NONCE })) + MAC_LINE <= MAX_DATAGRAM;
}

export const encodeText = (s: string): Uint8Array => utf8.encode(s);
export const encodeRequest = (r: Request): Uint8Array => utf8.encode(requestText(r));
export const encodeReply = (r: Reply): Uint8Array => utf8.encode(replyText(r));

/** Encodes a peer datagram; `mac` computes the mac line from the signed text ("-" without a key). */
export function encodePeer(d: PeerDatagram, mac: (signed: string) => string = () => "-"): Uint8Array {
  const signed = peerSignedText(d);
  return utf8.encode(signed + mac(signed) + "\n");
}
