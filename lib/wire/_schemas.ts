/**
 * Valibot checks for what protocol.peggy cannot express: name patterns,
 * UTF-8 byte lengths, integer ranges, and list counts. Private to
 * lib/wire/codec.ts: each check takes the grammar's output and returns a typed
 * value, or says whether the only faults were names (→ `bad-name`).
 */
import * as v from "valibot";
import type { Op, PeerDatagram, Reply, Request, SignedPeerDatagram } from "./messages.ts";
import { MAX_HISTORY, MAX_MSG_BYTES } from "./messages.ts";
import { utf8Length } from "./utf8.ts";
import { ROOM_NAME, USER_NAME } from "./names.ts";
import type { Vector } from "./vector.ts";


/** Issue messages of name checks start with this, to tell them apart. */
const NAME = "name: ";

const userName = v.pipe(v.string(), v.regex(USER_NAME, `${NAME}user name must match ${USER_NAME.source}`));
const groupName = v.pipe(v.string(), v.regex(ROOM_NAME, `${NAME}room name must match ${ROOM_NAME.source}`));
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
const entry = v.object({ msgId, userName, sentAt: count, msg });

/** A vector arrives as [origin, n] pairs; an origin may appear only once. */
const vector = v.pipe(
  v.array(v.tuple([v.string(), count])),
  v.check((pairs) => new Set(pairs.map((p) => p[0])).size === pairs.length, "vector names a server twice"),
  v.transform((pairs): Vector => new Map(pairs.filter((p) => p[1] > 0))),
);

const withTag = { tag: v.string() };
const withToken = { ...withTag, token: v.string() };

const request = v.variant("verb", [
  v.object({ verb: v.literal("login"), ...withTag, userName }),
  v.object({ verb: v.picklist(["open", "connect", "leave"]), ...withToken, groupName }),
  v.object({ verb: v.literal("add"), ...withToken, msg, groupName }),
  v.object({ verb: v.literal("request"), ...withToken, groupName, cursor: vector, waitMs: count }),
  v.object({ verb: v.literal("rooms"), ...withToken, after: v.nullable(groupName) }),
  v.object({ verb: v.literal("who"), ...withToken, groupName, after: v.nullable(userName) }),
  v.object({ verb: v.literal("logout"), ...withToken }),
  v.object({
    verb: v.literal("history"),
    ...withToken,
    groupName,
    limit: v.pipe(positive, v.maxValue(MAX_HISTORY, `limit must be at most ${MAX_HISTORY}`)),
    before: v.nullable(msgId),
  }),
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
    v.object({ ...okTag, kind: v.literal("login"), userName, token: v.string(), ttl: count }),
    v.object({ ...okTag, kind: v.picklist(["open", "connect", "leave"]), groupName }),
    v.object({ ...okTag, kind: v.literal("add"), msg, groupName, msgId }),
    counted(v.object({ ...okTag, kind: v.literal("rooms"), more: v.boolean(), count, names: v.array(groupName) }), "names"),
    counted(
      v.object({ ...okTag, kind: v.literal("who"), groupName, more: v.boolean(), count, names: v.array(userName) }),
      "names",
    ),
    v.object({ ...okTag, kind: v.literal("logout") }),
    counted(
      v.object({ ...okTag, kind: v.literal("history"), groupName, cursor: vector, more: v.boolean(), count, entries: v.array(entry) }),
      "entries",
    ),
  ]),
  counted(
    v.object({
      verb: v.literal("poll"),
      ...withTag,
      groupName,
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
  v.object({ ...opHead, kind: v.literal("login"), userName, ttl: positive }),
  v.object({ ...opHead, kind: v.picklist(["logout", "touch"]) }),
  v.object({ ...opHead, kind: v.picklist(["open", "join", "leave"]), groupName }),
  v.object({ ...opHead, kind: v.literal("msg"), tag: v.string(), groupName, userName, msg: opMsg, conf: v.optional(v.string()) }),
  v.object({ ...opHead, kind: v.literal("hide"), target: v.string() }),
]);

const peerHead = { from: v.string(), nonce: v.string(), vector, signed: v.string(), mac: v.string() };
const peer = v.variant("verb", [
  counted(v.object({ verb: v.literal("add"), ...peerHead, count, ops: v.array(op) }), "ops"),
  v.object({ verb: v.literal("ask"), ...peerHead }),
  v.object({ verb: v.literal("got"), ...peerHead, at: count }),
  v.object({ verb: v.picklist(["hello", "proof"]), from: v.string(), nonce: v.string(), challenge: v.string(), signed: v.string(), mac: v.string() }),
  counted(v.object({ verb: v.literal("ok"), ...peerHead, more: v.boolean(), count, ops: v.array(op) }), "ops"),
  v.object({ verb: v.literal("stat"), from: v.string(), nonce: v.string(), signed: v.string(), mac: v.string() }),
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
  return { ok: true, value: { datagram: rest as PeerDatagram & { ops?: Op[] }, signed, mac } };
}
