/**
 * The checks of lib/wire/_schemas.ts for the trees lib/wire/_fast_peer.ts
 * reads (peer `got`, and `add` and `ok` whose ops are logins, logouts,
 * touches, room entries and exits, and messages), without valibot: a catch-up applies
 * tens of thousands of such ops a second, and valibot's generic walk cost
 * about 5 µs of each (docs/PERFORMANCE_NOTES.md "3c"). Private to
 * lib/wire/codec.ts.
 *
 * It only ever accepts: any tree it is not sure of — a value out of range,
 * a name that does not match, a count that is wrong, a vector naming a
 * server twice — returns null and goes through valibot, which stays the
 * definition and writes the error. What it accepts is exactly valibot's
 * output for the same tree (tests/codec_property_test.ts compares the two
 * on generated and mutated datagrams). The name patterns are names.ts's,
 * the text limit messages.ts's.
 *
 * @example
 * ```ts
 * const tree = fastPeer(text);
 * const value = tree === null ? null : checkFastPeer(tree); // null: valibot decides
 * ```
 */
import type { Op, PeerDatagram, SignedPeerDatagram } from "./messages.ts";
import { MAX_MSG_BYTES } from "./messages.ts";
import { DM_ROOM, ROOM_NAME, USER_NAME } from "./names.ts";
import { utf8Length } from "./utf8.ts";
import type { Vector } from "./vector.ts";

type Tree = Record<string, unknown>;

const safe = (n: unknown): n is number => Number.isSafeInteger(n);
const positive = (n: unknown): boolean => safe(n) && n >= 1;
const userName = (s: unknown): boolean => typeof s === "string" && USER_NAME.test(s);
const room = (s: unknown): boolean => typeof s === "string" && ROOM_NAME.test(s);
/** A message's room: a room, or a direct conversation as servers store it. */
const opRoom = (s: unknown): boolean => typeof s === "string" && (ROOM_NAME.test(s) || DM_ROOM.test(s));
/** A message's text: "" (expunged at its sender) or 1 to MAX_MSG_BYTES bytes (a UTF-16 unit is at most 3 bytes: no count for short texts). */
const opMsg = (s: unknown): boolean => typeof s === "string" && (s.length * 3 <= MAX_MSG_BYTES || utf8Length(s) <= MAX_MSG_BYTES);

/** A vector's [origin, n] pairs as the schema's `vector` makes them: null when an origin is named twice or n is not safe; entries of 0 dropped. */
export function vector(pairs: unknown): Vector | null {
  if (!Array.isArray(pairs)) return null;
  const v = new Map<string, number>();
  for (const [origin, n] of pairs as [string, number][]) {
    if (!safe(n) || v.has(origin)) return null;
    v.set(origin, n);
  }
  for (const [origin, n] of v) if (n <= 0) v.delete(origin);
  return v;
}

/** A `got`'s gotof pairs as the schema's `gotsOf` makes them: null when a peer is named twice or a vector fails. */
function gotsOf(pairs: unknown): Map<string, Vector> | null {
  const out = new Map<string, Vector>();
  for (const [id, p] of pairs as [string, unknown][]) {
    const v = vector(p);
    if (v === null || out.has(id)) return null;
    out.set(id, v);
  }
  return out;
}

/** One op of the fast path's kinds, checked, or null. */
function op(t: Tree): Op | null {
  const deps = vector(t.deps);
  if (deps === null || !positive(t.seq) || !safe(t.at)) return null;
  switch (t.kind) {
    case "login":
      if (!userName(t.userName) || !positive(t.ttl)) return null;
      break;
    case "logout":
    case "touch":
      break;
    case "open":
    case "join":
    case "leave":
      if (!room(t.groupName)) return null;
      break;
    case "msg":
      if (!opRoom(t.groupName) || !userName(t.userName) || !opMsg(t.msg)) return null;
      break;
    default:
      return null;
  }
  return { ...t, deps } as Op;
}

/** The checked datagram of a fast-path tree (`add`, `ok` or `got`), as checkPeer would return it, or null: let valibot decide. */
export function checkFastPeer(tree: Tree): { ok: true; value: SignedPeerDatagram } | null {
  const v = vector(tree.vector);
  // What a `got` says of the sender's peers (version 4): a vector, and [peer, vector] pairs, each peer once.
  const silent = tree.silent === undefined ? undefined : vector(tree.silent);
  const of = tree.gotsOf === undefined ? undefined : gotsOf(tree.gotsOf);
  if (v === null || silent === null || of === null) return null;
  const withSilent = { ...(silent === undefined ? {} : { silent }), ...(of === undefined ? {} : { gotsOf: of }) };
  if (tree.verb === "got") {
    if (!safe(tree.at)) return null;
    const { signed, mac, ...rest } = tree;
    return { ok: true, value: { datagram: { ...rest, vector: v, ...withSilent } as PeerDatagram, signed: signed as string, mac: mac as string } };
  }
  const list = tree.ops as Tree[];
  if (!safe(tree.count) || tree.count !== list.length || (tree.got !== undefined && !safe(tree.got))) return null;
  const ops: Op[] = [];
  for (const t of list) {
    const o = op(t);
    if (o === null) return null;
    ops.push(o);
  }
  const { count: _count, signed, mac, ...rest } = tree;
  const datagram = { ...rest, vector: v, ...withSilent, ops } as PeerDatagram;
  return { ok: true, value: { datagram, signed: signed as string, mac: mac as string } };
}
