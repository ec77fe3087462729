/** The `history` verb (docs/PROTOCOL.md "History"): a page of a room's newest messages and the live-tail cursor. */
import type { HistoryRequest, Reply } from "../wire/messages.ts";
import { fitHistory } from "../wire/fit.ts";
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
  const page = c.store.messages.newest(name, before, req.limit + 1, req.notices === true);
  if (page === null) return refuse("no-message", `message ${req.before!.origin}.${req.before!.n} is not on this server (yet)`);
  const cursor = c.store.messages.tail(name, c.store.vector().keys());
  const fit = fitHistory(req.tag, label, cursor, page.slice(0, req.limit), page.length > req.limit, c.max);
  return { verb: "ok", tag: req.tag, kind: "history", groupName: label, cursor, more: fit.more, entries: fit.entries };
}
