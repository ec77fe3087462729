/**
 * Direct conversations (private to lib/irc; docs/PROTOCOL.md "Direct
 * messages"): a PRIVMSG to a nick is an `add` to `@nick`. DistChat does not
 * push new conversations, so the connection asks `dms` every few seconds
 * (as the terminal client does) and follows a conversation whose newest
 * message moved: it shows the messages after the one it knew, then
 * long-polls. At most MAX_DM_FOLLOWS are followed at once; the least
 * recently active is dropped and read again when it moves.
 */
import type { PollEntry } from "../wire/messages.ts";
import { type Core, type Ctx, type Follow, newFollow } from "./_core.ts";
import { msgidTag } from "./render.ts";
import { MAX_DM_FOLLOWS } from "./isupport.ts";
import { nameKey } from "./names.ts";
import { followFromHistory } from "./_deliver.ts";

/** Entries read when a conversation starts to be followed. */
const DM_PAGE = 50;

/**
 * Follows `@nick` (if not yet), showing the entries of its newest page
 * after `knownLast` ("origin.n"; null: all of them; undefined: none).
 * Returns the follow and whether it is new (its page is still to come).
 */
export function followDm(c: Core, ctx: Ctx | null, address: string, knownLast: string | null | undefined): { f: Follow; created: boolean } {
  const key = nameKey(address);
  const s = c.state;
  const had = s.dms.get(key);
  if (had !== undefined) {
    s.dms.delete(key); // most recently active last
    s.dms.set(key, had);
    return { f: had, created: false };
  }
  if (s.dms.size >= MAX_DM_FOLLOWS) {
    const [oldest, f] = s.dms.entries().next().value!;
    s.dms.delete(oldest);
    f.generation++;
  }
  const f = newFollow(address, new Map());
  s.dms.set(key, f);
  followFromHistory(c, ctx, f, DM_PAGE, (entries: PollEntry[]) => {
    if (knownLast === undefined) return entries.length;
    if (knownLast === null) return -1;
    const i = entries.findIndex((e) => msgidTag(e.msgId) === knownLast);
    return i; // -1 (not in the page): all of it
  });
  return { f, created: true };
}

/**
 * Every `dmsEveryMs` (or now, with `ctx`: a nudge, lib/irc/connection.ts
 * `checkDms`): asks `dms` and follows the conversations that moved. The
 * first answer is the baseline.
 */
export function tickDms(c: Core, ctx: Ctx | null = null): void {
  const s = c.state;
  if (s.token === null || (ctx === null && c.now - s.lastDms < c.config.dmsEveryMs)) return;
  s.lastDms = c.now;
  const first = !s.dmsBaseline;
  c.call(ctx, (tag, token) => ({ verb: "dms", tag, token }), (r) => {
    if (r.verb !== "ok" || r.kind !== "dms") return;
    for (const e of r.entries) {
      const key = nameKey(e.groupName);
      const last = e.last === null ? null : msgidTag(e.last);
      const known = s.dmLast.get(key);
      s.dmLast.set(key, last);
      if (first || last === null || known === last || s.dms.has(key)) continue;
      followDm(c, ctx, e.groupName, known === undefined ? null : known);
    }
    s.dmsBaseline = true;
  });
}
