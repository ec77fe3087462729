/** The `history` verb (docs/PROTOCOL.md "History"): a page of a room's newest messages and the live-tail cursor. */
import type { HistoryRequest, Reply } from "../wire/messages.ts";
import { fitHistory } from "../wire/fit.ts";
import { get } from "../wire/vector.ts";
import { type Context, refuse } from "./context.ts";
import { auth, memberRoom } from "./_access.ts";

/**
 * [PROTOCOL "History"] the newest `limit` visible messages (before
 * `before`), as many as fit, oldest first, with the live-tail cursor: per
 * origin, the last message of the room stored here.
 */
export function history(c: Context, req: HistoryRequest): Reply {
  const s = auth(c);
  const { name, label } = memberRoom(c, req.groupName, s);
  const before = req.before && { origin: req.before.origin, seq: req.before.n };
  const newest = c.store.messages.newest(name, before, req.limit + 1, req.notices === true);
  if (newest === null) return refuse("no-message", `message ${req.before!.origin}.${req.before!.n} is not on this server (yet)`);
  // Stable delivery: the tail stays below copies not settled here, and the page lists none past it (a poll from the tail will).
  const cursor = c.store.messages.tail(name, c.store.vector().keys(), c.store.settling);
  const page = newest.filter((e) => e.seq <= get(cursor, e.origin));
  const fit = fitHistory(req.tag, label, cursor, page.slice(0, req.limit), newest.length > req.limit, c.max);
  return { verb: "ok", tag: req.tag, kind: "history", groupName: label, cursor, more: fit.more, entries: fit.entries };
}
