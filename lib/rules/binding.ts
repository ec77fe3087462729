/**
 * Binding (docs/ARCHITECTURE.md "Acks"): when a confirmer stores a copy of
 * (session, tag) that names it while it is bound to another copy of the
 * same add — one not refused that it made or that names it — it refuses
 * the new copy (a hide op in the same transaction). One exception, for two
 * copies naming each other's origin (two servers, or a skipped successor):
 * a copy this server made that names the new copy's origin as confirmer,
 * and whose key is larger than the new copy's, does not make it refuse —
 * that origin refuses this server's copy by the same rule instead, so
 * exactly one of the two survives, the one with the smaller key. Pure.
 *
 * @example
 * ```ts
 * refuses("b", "a~1", [5, "a~1"], [{ origin: "b~1", key: [6, "b~1"], conf: "a" }]); // false: a refuses b's copy
 * ```
 */
import { type Key, keyLess } from "./conflict.ts";
import { serverOf } from "./incarnation.ts";

/** A copy of the add that the storing server is bound to: its origin (incarnation), its conflict key, its confirmer ("" for none). */
export type BoundCopy = { origin: string; key: Key; conf: string };

/**
 * True when server `me`, storing a copy that names it confirmer (made by
 * incarnation `origin`, conflict key `key`), must refuse it, being bound
 * to the copies `bound` of the same (session, tag).
 */
export function refuses(me: string, origin: string, key: Key, bound: readonly BoundCopy[]): boolean {
  const from = serverOf(origin);
  return bound.some((b) => !(serverOf(b.origin) === me && b.conf === from && keyLess(key, b.key)));
}
