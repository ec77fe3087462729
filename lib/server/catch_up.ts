/**
 * A server's start-up catch-up (docs/ARCHITECTURE.md "A confirmer that
 * dies", "Membership changes"): `hearPeers` waits, on the node's clock, to
 * hear every peer's vector before the origin is chosen; `watchCatchUp` then
 * watches a server that takes no writes until it has caught up — one added
 * with `--join` (every peer's word) or one restarted on a database that held
 * state (the word of the peers that answered by then) — and logs when it
 * takes writes.
 *
 * @example
 * ```ts
 * const vectors = await hearPeers({ clock, peers: 3, wait: true, told });
 * const stop = watchCatchUp({ members, clock, log, told, mine: () => store.vector(), live });
 * ```
 */
import type { Vector } from "../wire/vector.ts";
import type { Clock } from "./clock.ts";
import type { WatchOptions } from "./members.ts";

/** How long a starting server waits to hear every peer before it chooses its origin, ms (a peer that is up answers within it: LIVENESS.confirmerDownMs 1.5 s, the others' bound for "down", and a round trip). */
export const PEER_WAIT_MS = 2000;

/**
 * How often a catching-up server checks whether it has caught up, ms. Its
 * first check comes as its start's wait ends, often while the last peer's
 * ops are still arriving; at 100 ms that cost a restarted server ~100 ms
 * more of refused writes at the median in chaos once the client transports
 * opened before the wait (2026-12-07). A check compares two vectors.
 */
export const CATCH_UP_CHECK_MS = 20;

/**
 * Waits on `clock` until `peers` peers have told their vectors, or
 * PEER_WAIT_MS passed (not at all when `wait` is false); the vectors told.
 */
export async function hearPeers(o: { clock: Clock; peers: number; wait: boolean; told(): { vector: Vector }[] }): Promise<Vector[]> {
  for (const until = o.clock.now() + PEER_WAIT_MS; o.wait && o.told().length < o.peers && o.clock.now() < until;) {
    await new Promise<void>((resolve) => o.clock.after(20, resolve));
  }
  return o.told().map((p) => p.vector);
}

/**
 * While `members` is joining or rejoining: checks at once and then every
 * CATCH_UP_CHECK_MS whether the server has caught up, then logs that it
 * takes writes (and every 10 s until then, what it waits for). Returns what
 * stops the timer (nothing runs for a member).
 */
export function watchCatchUp(o: WatchOptions): () => void {
  const { members, clock, log } = o;
  const state = members.state;
  if (state !== "joining" && state !== "rejoining") return () => {};
  const since = clock.now();
  let said = since;
  const live = o.live ?? (() => true);
  const check = () => members.checkCaughtUp(o.told(), o.mine(), live);
  const done = () => {
    const whom = state === "joining" ? "every peer" : members.answered?.join(", ") || "no peer (none answered)";
    log(`caught up with ${whom}: taking writes (members ${members.ids.join(", ")}; ${clock.now() - since} ms after start)`, { event: "membership", fields: { state: "member", ms: clock.now() - since } });
  };
  if (state === "joining") {
    log("joining the cluster (--join): no writes until caught up with every peer", { event: "membership", fields: { state } });
  }
  const caughtUp = check();
  if (state === "rejoining") {
    const answered = members.answered ?? [], silent = [...members.peers.keys()].filter((p) => !answered.includes(p));
    log(
      `restarted on a database that holds state: no writes until caught up with what ${answered.join(", ") || "no peer"} told${silent.length ? ` (silent at start: ${silent.join(", ")})` : ""}`,
      { event: "membership", fields: { state, answered: answered.join(","), silent: silent.join(",") } },
    );
  }
  if (caughtUp) return done(), () => {};
  const stop = clock.every(CATCH_UP_CHECK_MS, () => {
    if (!check()) {
      if (clock.now() - said < 10_000) return;
      said = clock.now();
      return log(`still ${members.described}`, { level: "warn", event: "membership", fields: { state } });
    }
    stop();
    done();
  });
  return stop;
}
