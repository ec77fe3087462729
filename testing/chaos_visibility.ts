/**
 * How long an acked message of the chaos run (testing/chaos.ts) takes to be
 * shown on every server (issue 27: ack → visible on all servers, p99 ≤ 2 s):
 * one watcher per server polls the room (no wait, from its cursor on) every
 * `everyMs`, with a short timeout so that a killed server does not stall it,
 * and notes when it first listed each msgID. Polls list settled copies only
 * (docs/ARCHITECTURE.md "Stable delivery"), so "listed" is what a reader sees.
 *
 * @example
 * ```ts
 * const seen = watchVisibility(clients, addrs, token, "chaos", () => stopped);
 * // … later, for each ack at `t` (ms since the epoch):
 * seen.allAt("c.7"); // when the last server first listed it, or null
 * ```
 */
import { type Address, lines, parsePoll, type UdpClient } from "./harness.ts";
import { cursorText, sleep, tag } from "./cluster_ops.ts";

/** When each server first listed each msgID (ms since the epoch). */
export type Visibility = {
  /** When the last of the servers (all, or those `only` keeps, told when each listed it) first listed `id`; null if one never did. */
  allAt(id: string, only?: (server: number, seenAt: number | undefined) => boolean): number | null;
  /** The msgIDs watcher `i` was shown, in the order it was first shown each. */
  shownOrder(i: number): string[];
  /** Resolves once every watcher has stopped. */
  done: Promise<void>;
};

/** Starts a watcher per address (`clients[i]` polls `addrs[i]`) until `stop()` says so. */
export function watchVisibility(
  clients: readonly Pick<UdpClient, "request">[],
  addrs: readonly Address[],
  token: string,
  room: string,
  stop: () => boolean,
  everyMs = 100,
): Visibility {
  const firstSeen = addrs.map(() => new Map<string, number>());
  const watch = async (i: number) => {
    let cursor = "0";
    while (!stop()) {
      try {
        const p = parsePoll(await clients[i].request(addrs[i], lines("request", tag(), token, room, cursor), 500));
        const now = Date.now();
        for (const e of p.entries) {
          const id = `${e.msgId.origin}.${e.msgId.n}`;
          if (!firstSeen[i].has(id)) firstSeen[i].set(id, now);
        }
        cursor = cursorText(p);
        if (p.more) continue;
      } catch {
        // down, restarting or lost: poll again
      }
      await sleep(everyMs);
    }
  };
  const done = Promise.all(addrs.map((_, i) => watch(i))).then(() => {});
  return {
    done,
    shownOrder: (i) => [...firstSeen[i].keys()],
    allAt(id, only = () => true) {
      let last = -Infinity;
      for (const [i, seen] of firstSeen.entries()) {
        const t = seen.get(id);
        if (!only(i, t)) continue;
        if (t === undefined) return null;
        last = Math.max(last, t);
      }
      return Number.isFinite(last) ? last : null;
    },
  };
}
