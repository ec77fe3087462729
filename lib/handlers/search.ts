/**
 * Search and read state (docs/PROTOCOL.md "Search", "Read state"): full
 * text in the rooms a session belongs to (lib/store/search.ts), and each
 * room's read marker with the count of messages after it.
 */
import type { Reply, SearchHit, SearchRequest, UnreadRequest } from "../wire/messages.ts";
import { MAX_DATAGRAM } from "../wire/messages.ts";
import { pollEntryText, utf8Length } from "../wire/codec.ts";
import { nameKey } from "../wire/names.ts";
import { pollEntry } from "../wire/fit.ts";
import { type Context, refuse } from "./context.ts";
import { auth, memberRoom } from "./_access.ts";
import { conversationsOf, roomAccess } from "./direct.ts";

/** Messages a search indexes first, at most (the housekeeping does the rest). */
const INDEX_NOW = 5000;

/** Rooms one `unread` lists at most (a session's rooms are bounded by its quota). */
const MAX_UNREAD_ROOMS = 200;

/**
 * [PROTOCOL "search"] messages holding every word of the query, best
 * first (or newest first), in one room or ("*") every room the session is
 * a member of; a word written `@name` must appear as a mention.
 */
export function search(c: Context, req: SearchRequest): Reply {
  const s = auth(c);
  const index = c.store.messages.search;
  if (!index.enabled) refuse("unavailable", "this server keeps no search index");
  // The newest messages first (indexed in bulk every 200 ms: lib/store/search.ts), so a search finds what was just said.
  if (c.store.messages.indexBehind) c.store.messages.indexPending(INDEX_NOW);
  const rooms = req.groupName === "*"
    ? c.store.rooms.ofSession(s.id).filter((r) => !r.startsWith("@") && !("refused" in roomAccess(c.store, r, s)))
    : [memberRoom(c, req.groupName, s).name];
  const rkeys = rooms.map(nameKey);
  let before: number | null = null;
  if (req.before !== null) {
    const row = c.store.messages.row(req.before.origin, req.before.n);
    if (row === null) refuse("no-message", `message ${req.before.origin}.${req.before.n} is not on this server`);
    before = row.dseq;
  }
  const mentions = [...req.query.matchAll(/@([A-Za-z0-9_-]+)/g)].map((m) => new RegExp(`@${m[1]}(?![A-Za-z0-9_-])`, "i"));
  const hits: SearchHit[] = [];
  let bytes = 60;
  let more = false;
  for (let round = 0; round < 4 && hits.length < req.limit; round++) {
    let dseqs: number[];
    try {
      dseqs = index.find(rkeys, req.query, before, req.limit * 2, req.order ?? "best");
    } catch (e) {
      return refuse("bad-request", (e as Error).message);
    }
    for (const e of c.store.messages.hits(rkeys, dseqs)) {
      if (mentions.some((m) => !m.test(e.msg))) continue;
      const hit: SearchHit = { ...pollEntry(e), groupName: c.store.rooms.name(e.rkey) ?? e.rkey };
      bytes += utf8Length(hit.groupName) + 1 + utf8Length(pollEntryText(hit));
      if (hits.length >= req.limit || bytes > Math.min(c.max, MAX_DATAGRAM)) {
        more = true;
        break;
      }
      hits.push(hit);
    }
    if (more || dseqs.length < req.limit * 2) break;
    before = dseqs[dseqs.length - 1];
    if (hits.length >= req.limit) more = true;
  }
  return { verb: "ok", tag: req.tag, kind: "search", more, hits };
}

/**
 * [PROTOCOL "unread"] each room of the session, then each of its direct
 * conversations (named "@" + the other party): its read marker and how many
 * messages follow it.
 */
export function unread(c: Context, req: UnreadRequest): Reply {
  const s = auth(c);
  const reg = c.store.accounts.get(s.user)?.reg ?? `~${s.id}`;
  const marks = c.store.acts.marks(reg);
  const rooms = c.store.rooms.ofSession(s.id).filter((r) => !r.startsWith("@")).slice(0, MAX_UNREAD_ROOMS)
    .map((rkey) => ({ rkey, groupName: c.store.rooms.name(rkey) ?? rkey }));
  const dms = conversationsOf(c.store, s, c.now, MAX_UNREAD_ROOMS).map(({ rkey, address }) => ({ rkey, groupName: address }));
  const entries = [...rooms, ...dms].map(({ rkey, groupName }) => {
    const m = marks.get(rkey) ?? null;
    return { groupName, mark: m?.mark ?? null, unread: c.store.messages.unread(rkey, m) };
  });
  let bytes = 40;
  const fit = entries.filter((e) => (bytes += utf8Length(e.groupName) + 40) <= Math.min(c.max, MAX_DATAGRAM));
  return { verb: "ok", tag: req.tag, kind: "unread", entries: fit };
}
