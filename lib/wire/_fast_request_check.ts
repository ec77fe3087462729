/**
 * The checks of lib/wire/_schemas.ts for the trees lib/wire/_fast_requests.ts
 * reads (a client `add` without a reply target, a `request`), without
 * valibot: every acked add paid ~3 µs for valibot's generic walk of five
 * fields (docs/PERFORMANCE_NOTES.md §2, "addcpu"). Private to
 * lib/wire/codec.ts.
 *
 * Like lib/wire/_fast_peer_check.ts it only ever accepts: a tree it is not
 * sure of (a text too long or empty, a room name that does not match, a
 * number past the safe integers, a cursor naming a server twice) returns
 * null and goes through valibot, which stays the definition and writes the
 * error. What it accepts is exactly valibot's output for the same tree
 * (tests/fast_request_check_test.ts compares the two).
 *
 * @example
 * ```ts
 * const tree = fastRequest(text);
 * const value = tree === null ? null : checkFastRequest(tree); // null: valibot decides
 * ```
 */
import type { Request } from "./messages.ts";
import { MAX_MSG_BYTES } from "./messages.ts";
import { DM_ADDRESS, ROOM_NAME } from "./names.ts";
import { utf8Length } from "./utf8.ts";
import { vector } from "./_fast_peer_check.ts";

type Tree = Record<string, unknown>;

/** A room, or a direct conversation as a client names it ("@bob"): the schema's `chatName`. */
const chatName = (s: unknown): s is string => typeof s === "string" && (ROOM_NAME.test(s) || DM_ADDRESS.test(s));
/** A message's text: 1 to MAX_MSG_BYTES bytes (a UTF-16 unit is at most 3 bytes: no count for short texts). */
const msgText = (s: unknown): s is string => typeof s === "string" && s.length > 0 && (s.length * 3 <= MAX_MSG_BYTES || utf8Length(s) <= MAX_MSG_BYTES);

/** The checked request of a fast-path tree (`add` or `request`), as checkRequest would return it, or null: let valibot decide. */
export function checkFastRequest(t: Tree): { ok: true; value: Request } | null {
  if (typeof t.tag !== "string" || typeof t.token !== "string" || !chatName(t.groupName)) return null;
  if (t.verb === "add") {
    if (!msgText(t.msg)) return null;
    return { ok: true, value: { verb: "add", tag: t.tag, token: t.token, msg: t.msg, groupName: t.groupName } };
  }
  if (t.verb !== "request") return null;
  const cursor = vector(t.cursor);
  if (cursor === null || !Number.isSafeInteger(t.waitMs)) return null;
  const r = { verb: "request" as const, tag: t.tag, token: t.token, groupName: t.groupName, cursor, waitMs: t.waitMs as number };
  if (t.notices === undefined) return { ok: true, value: r };
  return t.notices === true ? { ok: true, value: { ...r, notices: true } } : null;
}
