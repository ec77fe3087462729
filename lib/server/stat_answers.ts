/**
 * The answer to a `stat` (docs/PEER_PROTOCOL.md "Health: `stat` and
 * `state`"): the status tool's query, answered to its source address with
 * one `state` — at most STATS_PER_SECOND a second (a `state` is far larger
 * than a `stat`, so a forged source gets no amplifier); with a cluster key
 * its mac and nonce must check, and a nonce off by more than the window gets
 * a clock hint instead. The peer port (lib/server/peer_port.ts) sends what
 * this returns.
 *
 * @example
 * ```ts
 * const stats = new StatAnswers({ self: "a", auth: statAuth, clock, dropped: replicator.noteDropped, report: () => port.status() });
 * const reply = stats.answer(signed); // the sealed `state`, or null
 * if (reply) socket.send(reply, from);
 * ```
 */
import type { SignedPeerDatagram } from "../wire/messages.ts";
import type { PeerAuth } from "../replication/peer_auth.ts";
import type { Clock } from "./clock.ts";
import type { ClockHint, StatusReport } from "./status.ts";

/** At most this many `stat`s are answered a second. */
const STATS_PER_SECOND = 20;

export type StatAnswersOptions = {
  self: string;
  /** Checks `stat` queries (from any sender, e.g. the status tool) and seals the `state`. */
  auth: PeerAuth;
  clock: Clock;
  /** Counts a `stat` not answered, by reason (`stat-rate`, or the check's). */
  dropped(reason: string): void;
  /** This server's report, read only for a `stat` that is answered. */
  report(): StatusReport;
};

/** Answers `stat`s within a budget a second (see the file comment). */
export class StatAnswers {
  #o: StatAnswersOptions;
  #windowStart = 0;
  #answered = 0;

  constructor(o: StatAnswersOptions) {
    this.#o = o;
  }

  /** The sealed `state` answering `stat` `signed`, or null: over the budget, or it did not check. */
  answer(signed: SignedPeerDatagram): Uint8Array | null {
    const { self, auth, clock } = this.#o;
    const now = clock.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#answered = 0;
    }
    if (this.#answered >= STATS_PER_SECOND) {
      this.#o.dropped("stat-rate");
      return null;
    }
    const v = auth.verify(signed);
    if (!v.ok) this.#o.dropped(v.reason);
    // A nonce off by more than the window: the asker's clock is not ours. Say our time (a reply under 1.5× the stat).
    if (!v.ok && v.reason !== "stale") return null;
    this.#answered++;
    const hint: ClockHint = { id: self, staleNonce: true, now: clock.now() };
    return auth.seal({ verb: "state", from: self, nonce: "-", json: JSON.stringify(v.ok ? this.#o.report() : hint) });
  }
}
