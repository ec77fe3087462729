/** The `dms` verb (docs/PROTOCOL.md "Direct messages"): a session's direct conversations and their newest message. */
import type { DmsRequest, Reply } from "../wire/messages.ts";
import type { Context } from "./context.ts";
import { auth } from "./_access.ts";
import { conversationsOf } from "./direct.ts";

/** [PROTOCOL "dms"] the session's direct conversations and their newest message, as many as fit. */
export function dms(c: Context, req: DmsRequest): Reply {
  const s = auth(c);
  const entries = [];
  let bytes = 40;
  for (const { rkey, address } of conversationsOf(c.store, s, c.now, 200)) {
    const newest = c.store.messages.newest(rkey, null, 1);
    const last = newest && newest.length > 0 ? { origin: newest[0].origin, n: newest[0].seq } : null;
    const e = { groupName: address, last };
    bytes += e.groupName.length + 40;
    if (bytes > c.max) break;
    entries.push(e);
  }
  return { verb: "ok", tag: req.tag, kind: "dms", entries };
}
