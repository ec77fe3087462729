/**
 * Direct conversations (docs/PROTOCOL.md "Direct messages"): a client names
 * one "@" + the other user's name; the server stores it as a room whose key
 * is "@" PART "@" PART, sorted (lib/wire/names.ts DM_ROOM). A PART is a
 * name's key, "~" and 12 hex digits:
 *
 * - of a registered name, digits of its *registration* (SHA-256 of the `reg`
 *   op's id): the conversation belongs to that account and outlives its
 *   sessions; once the account is dropped, a new registration of the name has
 *   another part, so it never sees the old one's conversations (issue 20,
 *   row 12), on every server alike (the id is the same everywhere);
 * - of an unregistered name, digits of its session id: a DM to an
 *   unregistered name reaches its current session only.
 *
 * No third session can name a conversation it is not part of: its own part
 * is always one of the two. Conversations stored before registrations were
 * part of keys name a registered party by its bare key; they stay that
 * account's while it is the name's first (never dropped), and are no one's
 * once it was dropped (docs/ARCHITECTURE.md "Direct conversations").
 */
import { createHash } from "node:crypto";
import type { SessionRecord } from "../store/store.ts";
import type { HandlerStore as Store } from "./context.ts";
import type { Account } from "../rules/ledger.ts";
import { nameKey } from "../wire/names.ts";
import { parts } from "../store/conversations.ts";
import { byWhom, kickedSince } from "../rules/moderation.ts";

/**
 * Whether session `s` may read and write room `groupName` (not a direct
 * conversation): its display name, or why not. A member whose name is banned,
 * or who was kicked after joining, is refused on every server that has the
 * ban or kick (docs/PROTOCOL.md "Moderation").
 */
export function roomAccess(store: Store, groupName: string, s: SessionRecord): { name: string } | { refused: string } {
  const m = store.rooms.membership(groupName, s.id);
  if (m === null) return { refused: `not a member of ${groupName}` };
  const ban = banned(store, m.name, s);
  if (ban !== null) return { refused: ban };
  const mod = store.moderation.get(m.name);
  if (kickedSince(mod, s.user, m.joined)) return { refused: `you were kicked from ${m.name}${byWhom(mod.kicks.get(s.ukey))}; /join it again` };
  return { name: m.name };
}

/** Why session `s` may not enter room `name` (its display name) because its name is banned there, or null. */
export function banned(store: Store, name: string, s: SessionRecord): string | null {
  const mod = store.moderation.get(name);
  return mod.bans.has(s.ukey) ? `you are banned from ${name}${byWhom(mod.banWhy.get(s.ukey))}` : null;
}

/** The part of registration `reg` (its op id) of the name whose key is `ukey`. */
export function accountPart(ukey: string, reg: string): string {
  return `${ukey}~${createHash("sha256").update(`distchat account ${reg}`).digest("hex").slice(0, 12)}`;
}

/** Where a party's conversations are: its part now, and the bare key its older ones used (a first account's), or null. */
type Parts = { part: string; legacy: string | null };

/** The parts of the holder of name key `ukey`: its account's, when the name is registered, else its session's (id `session`). */
function partsOf(ukey: string, acct: Account | null, session: string): Parts {
  return acct !== null ? { part: accountPart(ukey, acct.reg), legacy: acct.first ? ukey : null } : { part: `${ukey}~${session.slice(0, 12)}`, legacy: null };
}

/** The parts of user `name` now; null when the name is neither registered nor held by a live session. */
function partsOfName(store: Store, name: string, now: number): Parts | null {
  const acct = store.accounts.get(name);
  const holder = acct === null ? store.sessions.liveHolder(name, now) : null;
  return acct === null && holder === null ? null : partsOf(nameKey(name), acct, holder?.id ?? "");
}

/** A session's parts (its name must be usable by it: the handlers check that first, lib/handlers/_access.ts). */
function partsOfSession(store: Store, s: SessionRecord): Parts {
  return partsOf(s.ukey, store.accounts.get(s.user), s.id);
}

/** A session's part of the conversations it starts now. */
export function partOf(store: Store, s: SessionRecord): string {
  return partsOfSession(store, s).part;
}

const roomKey = (x: string, y: string) => "@" + [x, y].sort().join("@");

/**
 * The conversation of session `s` with the user `address` names ("@bob"), or
 * why there is none: the one under both parties' parts now, unless they
 * already talked under an older key that still stands for both.
 */
export function conversation(store: Store, s: SessionRecord, address: string, now: number): { room: string } | { problem: "no-user" } {
  const peer = address.slice(1);
  // One's own name is the conversation with oneself (notes to self; IRC's messages to one's own nick): "@PART@PART".
  const theirs = nameKey(peer) === s.ukey ? partsOfSession(store, s) : partsOfName(store, peer, now);
  if (theirs === null) return { problem: "no-user" };
  const mine = partsOfSession(store, s);
  if (mine.legacy !== null || theirs.legacy !== null) {
    const old = roomKey(mine.legacy ?? mine.part, theirs.legacy ?? theirs.part);
    if (store.conversations.has(old)) return { room: old };
  }
  return { room: roomKey(mine.part, theirs.part) };
}

/**
 * The conversations session `s` is a party of (at most `limit`), with the
 * address each has for it; those whose other party is gone — a dropped
 * account, an ended session — are left out: "@name" now names another.
 */
export function conversationsOf(store: Store, s: SessionRecord, now: number, limit: number): { rkey: string; address: string }[] {
  const mine = partsOfSession(store, s);
  const out: { rkey: string; address: string }[] = [];
  for (const own of mine.legacy === null ? [mine.part] : [mine.part, mine.legacy]) {
    for (const rkey of store.conversations.of(own, limit)) {
      const [x, y] = parts(rkey);
      const other = x === own ? y : x;
      const name = other.split("~")[0];
      const current = partsOfName(store, name, now);
      const address = "@" + name;
      if (current !== null && (other === current.part || other === current.legacy) && !out.some((e) => e.address === address)) out.push({ rkey, address });
    }
  }
  return out.slice(0, limit);
}
