/** The `servers` verb (docs/PROTOCOL.md "servers"): the server's live membership, for clients to fail over along. */
import type { Reply, ServersRequest } from "../wire/messages.ts";
import type { Context } from "./context.ts";

/** Bytes of a `servers` reply besides its entries ("ok", tag, kind, count), and of each entry besides its fields. */
const HEAD_BYTES = 40;
const ENTRY_BYTES = 3;

/**
 * [PROTOCOL "servers"] every live server with a client address, in
 * servers-file order: its id, client address and public key ("-": none).
 * No session needed (the list is what GET /servers.json publishes); a list
 * longer than the reply budget `c.max` is cut, never sent in part silently:
 * it is refused `unavailable` and the client asks again later.
 */
export function servers(c: Context, req: ServersRequest): Reply {
  const list = c.members();
  const bytes = list.reduce((n, s) => n + s.id.length + s.client.length + s.publicKey.length + ENTRY_BYTES, HEAD_BYTES + req.tag.length);
  if (bytes > c.max) return { verb: "error", tag: req.tag, code: "unavailable", message: "the server list does not fit in a reply to this address yet; ask again" };
  return { verb: "ok", tag: req.tag, kind: "servers", servers: list };
}
