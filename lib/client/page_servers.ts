/**
 * How an open web page follows a changed server list (docs/CLIENT.md "The
 * web client: a changed server list"): it reads `/servers.json` from the
 * server it talks to now and then, and compares it with what it loaded.
 * Retired servers leave its failover list at once (the one it talks to once
 * it fails: lib/client/connection.ts `dropServers`). Added servers are out
 * of reach of the page's Content-Security-Policy (connect-src was fixed when
 * the page loaded), so the page reloads itself: at a quiet moment, or at
 * once when no server answers it. Pure: lists, flags and times in, answers out.
 *
 * @example
 * ```ts
 * const c = compareListing(["a", "b", "c"], [{ id: "a", web: "http://a" }, { id: "b", web: "http://b" }, { id: "d", web: "http://d" }]);
 * // { retired: ["c"], added: ["d"] }
 * reloadDecision({ added: c.added, quiet: true, answering: true, registered: false, sinceReloadMs: Infinity }); // "reload"
 * ```
 */

/** How often a page asks for the list, ms (and once after each failover). */
export const PAGE_SERVERS_EVERY_MS = 60_000;
/** A page reloads itself for a changed list at most this often, ms (a server still serving the old list cannot make it loop). */
export const PAGE_RELOAD_GAP_MS = 5 * 60_000;

/** What a `/servers.json` answer says against the ids the page loaded with. */
export type ListingChange = { retired: string[]; added: string[] };

/**
 * The `servers` of a `/servers.json` answer (`{ servers: [{ id, web }] }`),
 * or null when it is not one (then the page changes nothing).
 */
export function parseListing(body: unknown): { id: string; web: string }[] | null {
  const servers = (body as { servers?: unknown } | null)?.servers;
  if (!Array.isArray(servers) || servers.length === 0) return null;
  const out: { id: string; web: string }[] = [];
  for (const s of servers) {
    if (typeof s?.id !== "string" || s.id === "" || typeof s.web !== "string") return null;
    out.push({ id: s.id, web: s.web });
  }
  return out;
}

/**
 * `loaded`: ids of the servers the page was loaded with (its CSP names
 * them); `listed`: the live list. Retired: loaded, no longer listed. Added:
 * listed, not loaded (the page cannot reach them before a reload).
 */
export function compareListing(loaded: readonly string[], listed: readonly { id: string }[]): ListingChange {
  const live = new Set(listed.map((s) => s.id));
  const had = new Set(loaded.filter((id) => id !== ""));
  return { retired: [...had].filter((id) => !live.has(id)), added: [...live].filter((id) => !had.has(id)) };
}

/**
 * Whether the page reloads now for servers `added`: "reload", "wait" (for a
 * quiet moment, or for the gap since the last such reload), "tell" (a
 * registered user's page only says so: a reload asks for the password
 * again) or "none" (nothing added). `quiet`: nothing typed in the composer,
 * no dialog or form open, no reply or edit under way; `answering`: a server
 * of its list answers (when none does, the page reloads at once, quiet or
 * not, registered or not: the new servers may be the only ones left).
 */
export function reloadDecision(o: { added: readonly string[]; quiet: boolean; answering: boolean; registered: boolean; sinceReloadMs: number }): "reload" | "wait" | "tell" | "none" {
  if (o.added.length === 0) return "none";
  if (o.sinceReloadMs < PAGE_RELOAD_GAP_MS) return "wait";
  if (!o.answering) return "reload";
  if (o.registered) return "tell";
  return o.quiet ? "reload" : "wait";
}
