/**
 * Answering an `ask`: the duplicate check, the answer budget per peer (a
 * token bucket of `answerRate` datagrams a second) and the ops the asker
 * lacks, packed into at most `answerDatagrams` datagrams. Private to
 * lib/replication/replicator.ts, which sends them.
 *
 * @example
 * ```ts
 * const a = answerAsk(peer, asked, now, { self: "a", log, vector, options });
 * for (const batch of a.batches) send({ verb: "ok", vector: a.expect, more: a.more, ops: batch });
 * ```
 */
import { headBytes, readAnswer } from "./_batch.ts";
import type { Op } from "../wire/messages.ts";
import type { OpLog, Peer, ReplicatorOptions } from "./types.ts";
import type { Vector } from "../wire/vector.ts";
import { formatVector, merge } from "../wire/vector.ts";

/** The ok datagrams' ops (none: nothing to send), the vector and `more` they carry, and what was dropped, by reason. */
export type AskAnswer = { batches: Op[][]; expect: Vector; more: boolean; drops: [reason: string, n: number][] };

/** What to answer `peer`'s ask with `asked` at `now`; updates the peer's budget and last-answered mark. */
export function answerAsk(
  peer: Peer,
  asked: Vector,
  now: number,
  at: { self: string; log: OpLog; vector: Vector; options: Required<ReplicatorOptions> },
): AskAnswer {
  const o = at.options;
  const none = (reason: string): AskAnswer => ({ batches: [], expect: asked, more: false, drops: [[reason, 1]] });
  const askedText = formatVector(asked);
  if (askedText === peer.answeredVector && now - peer.answeredAt < o.askRetryMs / 2) return none("duplicate-ask");
  // A budget per peer: asks (forged ones on an unkeyed cluster, or a broken peer) never make more than answerRate datagrams a second.
  peer.answerTokens = Math.min(o.answerRate, peer.answerTokens + ((now - peer.answerTokensAt) / 1000) * o.answerRate);
  peer.answerTokensAt = now;
  if (peer.answerTokens < 1) return none("answer-budget");
  peer.answeredVector = askedText;
  peer.answeredAt = now;
  const datagrams = Math.min(o.answerDatagrams, Math.floor(peer.answerTokens));
  const head = headBytes("ok", at.self, merge(asked, at.vector));
  const packed = readAnswer(at.log, asked, { head, datagrams, answerOps: o.answerOps, fetchOps: o.fetchOps });
  peer.answerTokens -= packed.batches.length;
  return { batches: packed.batches, expect: packed.expect, more: packed.more, drops: [["oversize-op", packed.oversize.length]] };
}
