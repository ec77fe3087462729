/**
 * Valibot checks for what protocol.peggy cannot express: name patterns,
 * UTF-8 byte lengths, integer ranges, and list counts. Private to
 * lib/wire/codec.ts: each check takes the grammar's output and returns a typed
 * value, or says whether the only faults were names (→ `bad-name`).
 */
import * as v from "valibot";
import type { Op, PeerDatagram, Reply, Request, SignedPeerDatagram } from "./messages.ts";
import { ACCOUNT_ACTIONS, ACT_ACTIONS, ACT_REQUESTS, MAX_PRESENCE_ROOMS, MAX_SEARCH, PRESENCE_STATES, MAX_HISTORY, MAX_MSG_BYTES, MAX_ITERATIONS, MAX_TOPIC_BYTES, MIN_ITERATIONS, MIN_SALT_BYTES, MOD_ACTIONS } from "./messages.ts";
import { utf8Length } from "./utf8.ts";
import { base64Bytes } from "./base64.ts";
import { DM_ADDRESS, DM_ROOM, REACTION, ROOM_NAME, SERVER_ID, USER_NAME } from "./names.ts";
import type { Vector } from "./vector.ts";
import { parseAddress } from "./address.ts";

/** Whether `s` is host:port. */
function addressOk(s: string): boolean {
  try {
    parseAddress(s);
    return true;
  } catch {
    return false;
  }
}


/** Issue messages of name checks start with this, to tell them apart. */
const NAME = "name: ";

const userName = v.pipe(v.string(), v.regex(USER_NAME, `${NAME}user name must match ${USER_NAME.source}`));
const groupName = v.pipe(v.string(), v.regex(ROOM_NAME, `${NAME}room name must match ${ROOM_NAME.source}`));
/** A room, or a direct conversation as a client names it ("@bob"). */
const chatName = v.pipe(
  v.string(),
  v.check((s) => ROOM_NAME.test(s) || DM_ADDRESS.test(s), `${NAME}room name must match ${ROOM_NAME.source}, or "@" and a user name`),
);
/** A room, or a direct conversation as servers store it. */
const opRoom = v.pipe(
  v.string(),
  v.check((s) => ROOM_NAME.test(s) || DM_ROOM.test(s), `${NAME}room name must match ${ROOM_NAME.source} or ${DM_ROOM.source}`),
);
const count = v.pipe(v.number(), v.safeInteger("integer too large"));
const positive = v.pipe(count, v.minValue(1, "must be at least 1"));
const msg = v.pipe(
  v.string(),
  v.check((s) => {
    const n = utf8Length(s);
    return n >= 1 && n <= MAX_MSG_BYTES;
  }, `message text must be 1 to ${MAX_MSG_BYTES} bytes`),
);
/** An op's text: as `msg`, or "" for a message expunged by its sender's retention limit (lib/store/retention.ts). */
const opMsg = v.union([v.literal(""), msg]);
const msgId = v.object({ origin: v.string(), n: positive });
/** An entry's facts (docs/PROTOCOL.md "Message actions"). */
const entryMeta = {
  edited: v.optional(v.literal(true)),
  re: v.optional(msgId),
  reactions: v.optional(v.array(v.tuple([v.pipe(v.string(), v.regex(REACTION, "reaction must be 1 to 32 characters without spaces, commas or =")), positive]))),
};
const entry = v.object({ msgId, userName, sentAt: count, msg, ...entryMeta });
/** Text an act may carry: "" (del, read) or up to a message's length (edit, react: lib/handlers/act.ts checks which). */
const actText = v.pipe(v.string(), v.check((s) => utf8Length(s) <= MAX_MSG_BYTES, `text must be at most ${MAX_MSG_BYTES} bytes`));
const iterations = v.pipe(v.number(), v.safeInteger("integer too large"), v.minValue(MIN_ITERATIONS, `iterations must be at least ${MIN_ITERATIONS}`), v.maxValue(MAX_ITERATIONS, `iterations must be at most ${MAX_ITERATIONS}`));
/** Canonical standard base64 of exactly `bytes` bytes (of at least that many with `atLeast`). */
const b64 = (bytes: number, atLeast = false) =>
  v.pipe(v.string(), v.check((s) => base64Bytes(s, bytes, atLeast), `must be base64 of ${atLeast ? "at least " : ""}${bytes} bytes`));
const verifier = v.object({ salt: b64(MIN_SALT_BYTES, true), iterations, storedKey: b64(32), serverKey: b64(32) });
/** A raw X25519 public key (32 bytes, base64), or "-" for none. */
const publicKey = v.union([v.literal("-"), b64(32)]);
const topicText = v.pipe(v.string(), v.check((s) => utf8Length(s) <= MAX_TOPIC_BYTES, `text must be at most ${MAX_TOPIC_BYTES} bytes`));
const modTarget = v.string();
/** A live server of a `servers` reply: its id, client address and key. */
const serverListing = v.object({
  id: v.pipe(v.string(), v.regex(SERVER_ID, `server id must match ${SERVER_ID.source}`)),
  client: v.pipe(v.string(), v.check((s) => addressOk(s), "client address must be host:port")),
  publicKey,
});

/** A vector arrives as [origin, n] pairs; an origin may appear only once. */
const vector = v.pipe(
  v.array(v.tuple([v.string(), count])),
  v.check((pairs) => new Set(pairs.map((p) => p[0])).size === pairs.length, "vector names a server twice"),
  v.transform((pairs): Vector => new Map(pairs.filter((p) => p[1] > 0))),
);

/** A `got`'s `gotof` lines (version 4): [peer, vector] pairs, each peer once. */
const gotsOf = v.pipe(
  v.array(v.tuple([v.string(), vector])),
  v.check((pairs) => new Set(pairs.map((p) => p[0])).size === pairs.length, "gotof names a peer twice"),
  v.transform((pairs) => new Map(pairs)),
);

const withTag = { tag: v.string() };
const withToken = { ...withTag, token: v.string() };

const request = v.variant("verb", [
  v.object({ verb: v.literal("login"), ...withTag, userName, proof: v.optional(v.string()) }),
  v.object({ verb: v.picklist(["open", "connect", "leave"]), ...withToken, groupName, key: v.optional(v.string()), reason: v.optional(topicText) }),
  v.object({ verb: v.literal("add"), ...withToken, msg, groupName: chatName, re: v.optional(msgId) }),
  v.object({ verb: v.literal("request"), ...withToken, groupName: chatName, cursor: vector, waitMs: count, notices: v.optional(v.literal(true)) }),
  v.object({ verb: v.literal("rooms"), ...withToken, after: v.nullable(groupName) }),
  v.object({ verb: v.literal("who"), ...withToken, groupName, after: v.nullable(userName) }),
  v.object({ verb: v.literal("logout"), ...withToken, reason: v.optional(topicText) }),
  v.object({ verb: v.literal("servers"), ...withTag }),
  v.object({
    verb: v.literal("history"),
    ...withToken,
    groupName: chatName,
    limit: v.pipe(positive, v.maxValue(MAX_HISTORY, `limit must be at most ${MAX_HISTORY}`)),
    before: v.nullable(msgId),
    notices: v.optional(v.literal(true)),
  }),
  v.object({ verb: v.literal("auth"), ...withTag, userName, nonce: v.pipe(v.string(), v.regex(/^[\x21-\x2b\x2d-\x7e]+$/, "nonce must be printable ASCII without commas"), v.minLength(16, "nonce must be at least 16 characters"), v.maxLength(64, "nonce must be at most 64 characters")) }),
  v.object({ verb: v.literal("register"), ...withToken, verifier, publicKey }),
  v.object({ verb: v.literal("password"), ...withTag, userName, proof: v.string(), verifier }),
  v.object({ verb: v.literal("drop"), ...withTag, userName, proof: v.string(), verifier: v.null() }),
  v.object({ verb: v.literal("pubkey"), ...withToken, publicKey }),
  v.object({ verb: v.literal("whois"), ...withToken, userName }),
  v.object({ verb: v.literal("dms"), ...withToken }),
  v.object({ verb: v.literal("room"), ...withToken, groupName }),
  v.object({ verb: v.literal("mod"), ...withToken, groupName, action: v.picklist(MOD_ACTIONS, "action must be one of " + MOD_ACTIONS.join(" ")), target: modTarget, text: topicText }),
  v.object({ verb: v.literal("act"), ...withToken, groupName: chatName, action: v.picklist(ACT_REQUESTS, "action must be one of " + ACT_REQUESTS.join(" ")), target: msgId, text: actText }),
  v.object({
    verb: v.literal("search"),
    ...withToken,
    groupName: v.union([v.literal("*"), groupName]),
    query: v.pipe(v.string(), v.check((s) => utf8Length(s) >= 1 && utf8Length(s) <= 200, "query must be 1 to 200 bytes")),
    limit: v.pipe(positive, v.maxValue(MAX_SEARCH, `limit must be at most ${MAX_SEARCH}`)),
    before: v.nullable(msgId),
    order: v.optional(v.literal("newest")),
  }),
  v.object({ verb: v.literal("unread"), ...withToken }),
  v.object({ verb: v.literal("typing"), ...withToken, groupName: chatName, state: v.picklist(PRESENCE_STATES, "state must be one of " + PRESENCE_STATES.join(" ")), text: topicText }),
]);

/** `count` must equal the length of the list that follows it. */
function counted<T extends v.GenericSchema<{ count: number }>>(schema: T, list: string) {
  return v.pipe(
    schema,
    v.check(
      (x) => (x as { count: number }).count === (x as unknown as Record<string, unknown[]>)[list].length,
      `count does not match the number of ${list}`,
    ),
  );
}

const okTag = { verb: v.literal("ok"), ...withTag };
const reply = v.variant("verb", [
  v.variant("kind", [
    v.object({ ...okTag, kind: v.literal("login"), userName, token: v.string(), ttl: count, serverFinal: v.optional(v.string()) }),
    v.object({ ...okTag, kind: v.picklist(["open", "connect", "leave"]), groupName }),
    v.object({ ...okTag, kind: v.literal("add"), msg, groupName: chatName, msgId }),
    v.object({ ...okTag, kind: v.literal("auth"), userName, serverFirst: v.string() }),
    v.object({ ...okTag, kind: v.picklist(["register", "pubkey"]), userName }),
    v.object({ ...okTag, kind: v.picklist(["password", "drop"]), userName, serverFinal: v.string() }),
    counted(v.object({ ...okTag, kind: v.literal("dms"), count, entries: v.array(v.object({ groupName: chatName, last: v.nullable(msgId) })) }), "entries"),
    v.object({ ...okTag, kind: v.literal("mod"), groupName, action: v.picklist(MOD_ACTIONS), target: modTarget }),
    counted(
      v.object({ ...okTag, kind: v.literal("whois"), userName, registered: v.boolean(), idle: v.nullable(count), publicKey, count, rooms: v.array(groupName) }),
      "rooms",
    ),
    counted(
      v.object({ ...okTag, kind: v.literal("room"), groupName, mode: v.string(), topicBy: v.string(), topicAt: count, topic: topicText, count, roles: v.array(v.string()) }),
      "roles",
    ),
    counted(v.object({ ...okTag, kind: v.literal("rooms"), more: v.boolean(), count, names: v.array(groupName) }), "names"),
    counted(
      v.object({ ...okTag, kind: v.literal("who"), groupName, more: v.boolean(), count, names: v.array(userName) }),
      "names",
    ),
    v.object({ ...okTag, kind: v.literal("logout") }),
    counted(
      v.object({ ...okTag, kind: v.literal("history"), groupName: chatName, cursor: vector, more: v.boolean(), count, entries: v.array(entry) }),
      "entries",
    ),
    v.object({ ...okTag, kind: v.literal("act"), groupName: chatName, action: v.picklist(ACT_REQUESTS), target: msgId }),
    counted(v.object({ ...okTag, kind: v.literal("search"), more: v.boolean(), count, hits: v.array(v.object({ ...entry.entries, groupName: chatName })) }), "hits"),
    counted(v.object({ ...okTag, kind: v.literal("unread"), count, entries: v.array(v.object({ groupName: chatName, mark: v.nullable(msgId), unread: count })) }), "entries"),
    counted(v.object({ ...okTag, kind: v.literal("servers"), count, servers: v.array(serverListing) }), "servers"),
    counted(v.object({ ...okTag, kind: v.literal("typing"), groupName: chatName, count, states: v.array(v.object({ userName, state: v.picklist(PRESENCE_STATES) })) }), "states"),
  ]),
  counted(
    v.object({
      verb: v.literal("poll"),
      ...withTag,
      groupName: chatName,
      cursor: vector,
      more: v.boolean(),
      count,
      entries: v.array(entry),
    }),
    "entries",
  ),
  v.object({ verb: v.literal("error"), ...withTag, code: v.string(), message: v.string() }),
]);

const opHead = { origin: v.string(), seq: positive, deps: vector, at: count, session: v.string() };
const op = v.variant("kind", [
  v.object({ ...opHead, kind: v.literal("login"), userName, ttl: positive, account: v.optional(v.string()) }),
  v.object({ ...opHead, kind: v.picklist(["logout", "touch"]) }),
  v.object({ ...opHead, kind: v.picklist(["open", "join", "leave"]), groupName, reason: v.optional(topicText), quit: v.optional(v.literal(true)) }),
  v.object({ ...opHead, kind: v.literal("msg"), tag: v.string(), groupName: opRoom, userName, msg: opMsg, conf: v.optional(v.string()), re: v.optional(v.string()) }),
  v.object({ ...opHead, kind: v.literal("hide"), target: v.string() }),
  v.object({ ...opHead, kind: v.literal("acct"), action: v.picklist(ACCOUNT_ACTIONS), userName, data: v.pipe(v.string(), v.maxLength(400, "account data too long")) }),
  v.object({ ...opHead, kind: v.literal("mod"), action: v.picklist(MOD_ACTIONS), groupName, userName, target: modTarget, text: topicText }),
  v.object({ ...opHead, kind: v.literal("act"), action: v.picklist(ACT_ACTIONS), groupName: opRoom, userName, target: v.string(), text: actText }),
]);

const peerHead = { from: v.string(), nonce: v.string(), vector, signed: v.string(), mac: v.string() };
const peer = v.variant("verb", [
  counted(v.object({ verb: v.literal("add"), ...peerHead, count, ops: v.array(op), got: v.optional(count), silent: v.optional(vector), gotsOf: v.optional(gotsOf) }), "ops"),
  v.object({ verb: v.literal("ask"), ...peerHead }),
  v.object({ verb: v.literal("got"), ...peerHead, at: count, silent: v.optional(vector), gotsOf: v.optional(gotsOf) }),
  v.object({ verb: v.picklist(["hello", "proof"]), from: v.string(), nonce: v.string(), challenge: v.string(), version: v.optional(positive), signed: v.string(), mac: v.string() }),
  counted(v.object({ verb: v.literal("ok"), ...peerHead, more: v.boolean(), count, ops: v.array(op) }), "ops"),
  v.object({ verb: v.literal("stat"), from: v.string(), nonce: v.string(), signed: v.string(), mac: v.string() }),
  counted(
    v.object({
      verb: v.literal("pres"),
      from: v.string(),
      nonce: v.string(),
      count,
      notes: v.array(v.object({ userName, state: v.picklist(PRESENCE_STATES), ttlMs: count, rooms: v.pipe(v.array(opRoom), v.maxLength(MAX_PRESENCE_ROOMS, "too many rooms")) })),
      signed: v.string(),
      mac: v.string(),
    }),
    "notes",
  ),
  v.object({
    verb: v.literal("state"),
    from: v.string(),
    nonce: v.string(),
    json: v.pipe(v.string(), v.minLength(2, "state must be JSON")),
    signed: v.string(),
    mac: v.string(),
  }),
]);

export type Checked<T> = { ok: true; value: T } | { ok: false; nameOnly: boolean; message: string };

function run<S extends v.GenericSchema>(schema: S, ast: unknown): Checked<v.InferOutput<S>> {
  const r = v.safeParse(schema, ast);
  if (r.success) return { ok: true, value: r.output };
  const nameOnly = r.issues.every((i) => i.message.startsWith(NAME));
  const first = r.issues[0];
  const where = first.path?.map((p) => String(p.key)).join(".") ?? "";
  const text = first.message.startsWith(NAME) ? first.message.slice(NAME.length) : first.message;
  return { ok: false, nameOnly, message: where ? `${where}: ${text}` : text };
}

/** Drops the list counts the grammar kept for checking. */
function uncount<T extends { count?: number }>(x: T): Omit<T, "count"> {
  const { count: _count, ...rest } = x;
  return rest;
}

export function checkRequest(ast: unknown): Checked<Request> {
  return run(request, ast) as Checked<Request>;
}

export function checkReply(ast: unknown): Checked<Reply> {
  const r = run(reply, ast);
  return r.ok ? { ok: true, value: uncount(r.value as { count?: number }) as Reply } : r;
}

export function checkPeer(ast: unknown): Checked<SignedPeerDatagram> {
  const r = run(peer, ast);
  if (!r.ok) return r;
  const { signed, mac, ...rest } = uncount(r.value as typeof r.value & { count?: number });
  const d = rest as PeerDatagram;
  return { ok: true, value: { datagram: d, signed, mac } };
}
