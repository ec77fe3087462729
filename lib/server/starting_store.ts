/**
 * The store as the handlers see it while a server starts (docs/ARCHITECTURE.md
 * "Incarnations"): the client transports open before the start has chosen
 * the origin the server writes under, so reads are answered at once — but
 * an op made then would be written under an origin not chosen yet. Until
 * `starting()` turns false, a request's refresh makes no `touch` op (the
 * session's activity is logged by its first request after), and any other
 * op a handler would make (e.g. `auth`'s logout of a session whose name was
 * registered by someone else) ends the request with `unavailable` instead,
 * nothing written. Requests that write are refused before their handler
 * runs (lib/server/client_port.ts `writesRefused`); this is the net under
 * the reads.
 *
 * @example
 * ```ts
 * const store = startingStore(realStore, () => members.starting ? members.writesRefused() : null);
 * handlerDeps({ store, random, … });
 * ```
 */
import type { HandlerStore } from "../handlers/context.ts";
import { refuse } from "../handlers/context.ts";

/**
 * `store` for the handlers; `starting()`: why no op may be written yet
 * (the origin is not chosen), or null once it may — then every call goes
 * straight to `store`.
 */
export function startingStore(store: HandlerStore, starting: () => string | null): HandlerStore {
  return {
    session: (id) => store.session(id),
    sessions: store.sessions,
    rooms: store.rooms,
    messages: store.messages,
    accounts: store.accounts,
    moderation: store.moderation,
    conversations: store.conversations,
    acts: store.acts,
    settling: store.settling,
    vector: () => store.vector(),
    membersAfter: (groupName, after, limit, now) => store.membersAfter(groupName, after, limit, now),
    uncovered: (groupName, cursor, notices) => store.uncovered(groupName, cursor, notices),
    refresh: (s, now) => starting() === null ? store.refresh(s, now) : null,
    appendLocal: (input, at, noTwin) => {
      const why = starting();
      return why === null ? store.appendLocal(input, at, noTwin) : refuse("unavailable", why);
    },
  };
}
