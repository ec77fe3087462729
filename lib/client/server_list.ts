/**
 * Adopting a server list a server vouched for (docs/CLIENT.md "Learning the
 * server list", docs/PROTOCOL.md "servers"): the live membership one server
 * sent in a `servers` reply becomes the list the client fails over along.
 * Pure: the current list, the trust root and the reply come in; the new
 * list (or why it is refused) goes out.
 *
 * The rules: a list is vouched for only by a server whose key the client
 * pinned (a plaintext server's list changes nothing); new servers come with
 * the keys the list gives; a server the client knows — in the list it has,
 * or in the servers file given at start (`root`, the trust root) — keeps its
 * key and address: a list giving it another key is refused as a whole, and
 * the client says so; servers no longer listed are dropped, except the one
 * it is talking to, kept (last) until it fails.
 *
 * @example
 * ```ts
 * const r = adoptServers({ current, root, from: current[0], talkingTo: current[0], offered: reply.servers });
 * if (r.ok) servers = r.servers; else notice(r.problem);
 * ```
 */
import { parseAddress } from "../wire/address.ts";
import { fromBase64 } from "../wire/base64.ts";
import type { ServerListing } from "../wire/messages.ts";
import { sameBytes } from "./seal.ts";
import type { ServerRef } from "./transport.ts";

/** The list adopted (`added`/`dropped`: ids, for a notice), or why not (nothing changes). */
export type Adopted =
  | { ok: true; servers: ServerRef[]; added: string[]; dropped: string[] }
  | { ok: false; problem: string };

/** Whether two keys are the same bytes. */
function sameKey(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined || b === undefined ? a === b : sameBytes(a, b);
}

/** What the client makes of one listed server; undefined key for "-". */
function listed(s: ServerListing): { id: string; client: ServerRef["client"]; publicKey: Uint8Array | undefined } | null {
  try {
    const publicKey = s.publicKey === "-" ? undefined : fromBase64(s.publicKey) ?? null;
    if (publicKey === null || (publicKey && publicKey.length !== 32)) return null;
    return { id: s.id, client: parseAddress(s.client), publicKey };
  } catch {
    return null;
  }
}

/**
 * The list `from` (the server that answered, a ref of `current`) offers,
 * checked against what the client knows: `current` (the list now) and
 * `root` (keys of the servers file given at start, by id). `talkingTo`
 * (the server requests go to now) is kept even when not listed.
 */
export function adoptServers(o: {
  current: readonly ServerRef[];
  root: ReadonlyMap<string, Uint8Array>;
  from: ServerRef;
  talkingTo: ServerRef;
  offered: readonly ServerListing[];
}): Adopted {
  const vouch = o.root.get(o.from.id) ?? o.from.publicKey;
  if (vouch === undefined) return { ok: false, problem: `server list from ${o.from.id} not adopted: the client has no key for ${o.from.id}, so it cannot vouch for one` };
  const byId = new Map(o.current.map((s) => [s.id, s] as const));
  const next: ServerRef[] = [];
  const added: string[] = [];
  for (const s of o.offered) {
    const l = listed(s);
    if (l === null) return { ok: false, problem: `server list from ${o.from.id} not adopted: its entry for ${s.id} is not an address and key` };
    const known = byId.get(l.id);
    const pinned = o.root.get(l.id) ?? known?.publicKey;
    if ((known || o.root.has(l.id)) && !sameKey(pinned, l.publicKey)) {
      return { ok: false, problem: `server list from ${o.from.id} not adopted: it gives server ${l.id} another key than the one this client knows; keys of known servers change only in the servers file` };
    }
    if (next.some((x) => x.id === l.id)) continue;
    if (known) next.push(known);
    else {
      next.push(l.publicKey ? { id: l.id, client: l.client, publicKey: l.publicKey } : { id: l.id, client: l.client });
      added.push(l.id);
    }
  }
  const dropped = o.current.filter((s) => !next.includes(s) && s !== o.talkingTo).map((s) => s.id);
  // The server it talks to stays until it fails, even when it is no longer listed.
  if (!next.includes(o.talkingTo)) next.push(o.talkingTo);
  return { ok: true, servers: next, added, dropped };
}

/** `current` without the servers `ids` names, except `talkingTo` (kept until it fails), and the ids dropped. */
export function withoutServers(current: readonly ServerRef[], talkingTo: ServerRef, ids: readonly string[]): { servers: ServerRef[]; dropped: string[] } {
  const gone = new Set(ids);
  return { servers: current.filter((s) => !gone.has(s.id) || s === talkingTo), dropped: current.filter((s) => gone.has(s.id) && s !== talkingTo).map((s) => s.id) };
}
