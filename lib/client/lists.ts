/**
 * Paged lists (`rooms`, `who`): ask page after page, with `after` = the last
 * name received, while the server says `more` (docs/PROTOCOL.md "Cursors,
 * paging and long polls").
 *
 * @example
 * ```ts
 * const r = await pageNames((after) => call((tag, token) => ({ verb: "rooms", tag, token, after })));
 * if ("names" in r) show(r.names);
 * ```
 */
import type { Reply } from "../wire/messages.ts";

/** Pages read at most. */
const MAX_PAGES = 1000;

type ErrorReply = Extract<Reply, { verb: "error" }>;
type ListReply = Extract<Reply, { kind: "rooms" | "who" }>;

/** Every name of a paged list, and the room's name as shown (who); the error if a page failed; null when closing. */
export async function pageNames(
  ask: (after: string | null) => Promise<Reply | null>,
): Promise<{ names: string[]; shown: string | null } | ErrorReply | null> {
  const names: string[] = [];
  let shown: string | null = null;
  let after: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const reply = await ask(after);
    if (reply === null) return null;
    if (reply.verb === "error") return reply;
    if (reply.verb !== "ok" || (reply.kind !== "rooms" && reply.kind !== "who")) {
      return { verb: "error", tag: reply.tag, code: "internal", message: "unexpected reply" };
    }
    const list = reply as ListReply;
    if (list.kind === "who") shown = list.groupName;
    names.push(...list.names);
    if (!list.more || list.names.length === 0) break;
    after = list.names[list.names.length - 1];
  }
  return { names, shown };
}
