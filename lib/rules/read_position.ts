/**
 * Where an account's reader left off when its connection went away, derived
 * from replicated facts (docs/IRC.md "Failover") — the rule behind IRC's
 * replay after a reconnection, nothing stored for it:
 *
 * - the previous session ended with a **logout** (its socket closed while
 *   its server lived): the logout's vector timestamp — exactly what that
 *   server had, so what the session was shown;
 * - no logout, made at **another server** (that server died with it): that
 *   server's vector as it last told this one (lib/replication heartbeats) —
 *   it showed its readers what it had, and nothing newer reached them;
 * - no logout, made **here** (this server restarted, or the session is
 *   still open on another connection): this server's own vector — nothing
 *   to replay;
 * - no previous session, or a server not heard since this one started: null.
 *
 * @example
 * ```ts
 * readPosition({ origin: "a~m3k", logout: null }, { self: "b", own, peer: (id) => told.get(id) ?? null }); // a's last vector
 * ```
 */
import type { Vector } from "../wire/vector.ts";

/** The previous session of a name: the origin it logged in at (an incarnation, "id~…", or the plain id), and its logout's vector timestamp or null. */
export type PreviousSession = { origin: string; logout: Vector | null };

/** What `prev` (the name's previous session) was shown, or null when unknown (see the file comment). */
export function readPosition(prev: PreviousSession | null, o: { self: string; own: Vector; peer: (serverId: string) => Vector | null }): Vector | null {
  if (prev === null) return null;
  if (prev.logout !== null) return prev.logout;
  const server = prev.origin.split("~")[0];
  return server === o.self ? o.own : o.peer(server);
}
