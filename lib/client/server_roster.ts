/**
 * The list of servers a client fails over along, and which one it talks to:
 * one home for replacing the list (a `servers` reply adopted, or servers a
 * page's /servers.json no longer names) and for moving to the next server,
 * dropping one no longer listed once it has been left. The array is shared
 * with the transport, which reads it live, so it is changed in place.
 *
 * @example
 * ```ts
 * const roster = new ServerRoster(servers);
 * const r = roster.adopt({ root, from: roster.current, offered: reply.servers }); // changes, or why not
 * const left = roster.advance(); // the failover: the server left, and the next is current
 * ```
 */
import { adoptServers, withoutServers } from "./server_list.ts";
import type { ServerListing } from "../wire/messages.ts";
import type { ServerRef } from "./transport.ts";

export class ServerRoster {
  /** The list, in failover order (the transport holds the same array). */
  readonly servers: ServerRef[];
  #current = 0;
  /** Ids of the servers the last adopted list named (null: none adopted yet); a server not in it is dropped once left. */
  #listed: Set<string> | null = null;

  constructor(servers: readonly ServerRef[]) {
    if (servers.length === 0) throw new RangeError("a client needs at least one server");
    this.servers = [...servers];
  }

  /** The server requests go to now. */
  get current(): ServerRef {
    return this.servers[this.#current];
  }

  /** Adopts the list `from` sent (lib/client/server_list.ts): the ids added and dropped, or why not (nothing changes). */
  adopt(o: { root: ReadonlyMap<string, Uint8Array>; from: ServerRef; offered: readonly ServerListing[] }): ReturnType<typeof adoptServers> {
    const r = adoptServers({ current: this.servers, root: o.root, from: o.from, talkingTo: this.current, offered: o.offered });
    if (r.ok) this.#replace(r.servers, new Set(o.offered.map((s) => s.id)));
    return r;
  }

  /** Drops servers `ids`, the current one once it is left; returns the ids dropped now. */
  drop(ids: readonly string[]): string[] {
    const r = withoutServers(this.servers, this.current, ids);
    const gone = new Set(ids);
    this.#replace(r.servers, new Set(this.servers.filter((s) => !gone.has(s.id) && (this.#listed?.has(s.id) ?? true)).map((s) => s.id)));
    return r.dropped;
  }

  /** Moves to the next server (wrapping); the one left is dropped if no longer listed. Returns the one left. */
  advance(): ServerRef {
    const from = this.current;
    this.#current = (this.#current + 1) % this.servers.length;
    if (this.#listed !== null && !this.#listed.has(from.id) && this.servers.length > 1) {
      const at = this.servers.indexOf(from);
      this.servers.splice(at, 1);
      if (at < this.#current) this.#current--;
      this.#current %= this.servers.length;
    }
    return from;
  }

  /** The list becomes `next` (which holds the current server), `listed` the ids a list named. */
  #replace(next: readonly ServerRef[], listed: Set<string>): void {
    const talkingTo = this.current;
    this.#listed = listed;
    this.servers.splice(0, this.servers.length, ...next);
    this.#current = this.servers.indexOf(talkingTo);
  }
}
