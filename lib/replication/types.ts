/**
 * The types of the replication engine (lib/replication/replicator.ts): what
 * it needs of an op log, what it hands out to send, its options and status.
 */
import type { Op, PeerDatagram } from "../wire/messages.ts";
import type { Vector } from "../wire/vector.ts";
import { EMPTY } from "../wire/vector.ts";

/**
 * What the engine needs from a node's op log. The log applies ops to the
 * derived tables itself; the engine only decides when.
 */
export interface OpLog {
  /** The delivered vector (called on every datagram and tick: keep it in memory): for each origin, the highest seq applied (all lower ones are too). */
  vector(): Vector;
  /** Applies an op made elsewhere. Called only when it is causally ready: `vector()[origin] == seq - 1` and `vector() ≥ deps`. */
  applyRemote(op: Op): void;
  /**
   * Up to `limit` ops with `seq > v[origin]`, in this node's delivery order
   * (which is causal). Calling again with `v` advanced by the ops returned
   * continues where the last call stopped.
   */
  opsAfter(v: Vector, limit: number): Op[];
}

/** A datagram to send (seal it with lib/replication/peer_auth.ts) to each peer in `to`. */
export type Outgoing = { to: readonly string[]; datagram: PeerDatagram };

export type ReplicatorOptions = {
  /** Heartbeat period, ms. Default 1000. */
  antiEntropyMs?: number;
  /** Least time between two asks to one peer while its answer is pending, ms. Default 100. */
  askRetryMs?: number;
  /** How long a gap may last before it is asked for, ms. Default 20. */
  gapGraceMs?: number;
  /** Most datagrams in one answer. Default 64 (at most 512 KiB at once). */
  answerDatagrams?: number;
  /** Most ops in one answer. Default 4096. */
  answerOps?: number;
  /** Ops read from the log per opsAfter call. Default 256. */
  fetchOps?: number;
  /** Most ops waiting for their causal predecessors. Default 100000. */
  maxBuffered?: number;
  /** Most ops one peer may have waiting. Default 20000. */
  maxBufferedPerPeer?: number;
  /** Most bytes (wire size) of ops one peer may have waiting. Default 8 MiB. */
  maxBufferedBytesPerPeer?: number;
  /** Ops more than this many seqs past what their origin needs are dropped (fetched later by asks). Default 10000. */
  maxAhead?: number;
  /** Waiting ops are dropped after this long (fetched later by asks), ms. Default 60000. */
  bufferTtlMs?: number;
  /** Answer (`ok`) datagrams one peer may be sent per second, however many asks it sends. Default 4000. */
  answerRate?: number;
  /**
   * Which origins exist (the servers of servers.txt and their incarnations).
   * Ops of other origins are dropped (`foreign-origin`), such entries are
   * removed from received vectors, and ops are never held back waiting for
   * them. Default: every origin.
   */
  isOrigin?: (origin: string) => boolean;
};

export type PeerStatus = {
  id: string;
  /** ms since any datagram from it arrived (lib/acks/liveness.ts: its `got`s too); null if never. */
  lastHeardMsAgo: number | null;
  /** It has told this node its vector since start (an add, ask or ok came): `vector` is what it said. */
  told: boolean;
  /** What it is known to have delivered. */
  vector: Vector;
  /** True when it has ops this node lacks. */
  ahead: boolean;
};

export type ReplicationStatus = {
  self: string;
  vector: Vector;
  peers: PeerStatus[];
  /** Ops received but waiting for predecessors ("gaps pending"). */
  buffered: number;
  /** Datagrams (or ops) dropped, by reason. */
  dropped: Record<string, number>;
  /** Datagrams handed out to send, counting each recipient. */
  sent: number;
  received: number;
  asksSent: number;
  opsDelivered: number;
  opsSent: number;
};

export type Peer = {
  id: string;
  /** It sent a replication datagram since start: `vector` is its word, not a guess. */
  told: boolean;
  /** What the peer is known to have delivered. */
  vector: Vector;
  /** When our outstanding ask to it went out (-Infinity: none), and with what vector. */
  askedAt: number;
  askedVector: Vector;
  /** It said it has more past its last answer. */
  more: boolean;
  /** The ask now out went while an answer of it was still arriving (a catch-up under way: no one else is asked). */
  pipelined: boolean;
  /** When the ask now out went, until its answer's first datagram came (NaN then): one round-trip sample per ask. */
  askSentAt: number;
  /** Smoothed time from an ask to its answer's first datagram, ms (0: none measured yet). */
  answerRttMs: number;
  /** Gap tracking: since when part of `lackVector` has been missing here. */
  lackSince: number;
  lackVector: Vector | null;
  /** Last ask answered, to ignore a duplicated one. */
  answeredAt: number;
  answeredVector: string;
  /** Answer datagrams this peer may still be sent now (a token bucket, refilled at `answerRate`). */
  answerTokens: number;
  answerTokensAt: number;
};

/** A peer as the engine first knows it: nothing heard, nothing asked, a full answer budget of `answerRate`. */
export function newPeer(id: string, answerRate: number): Peer {
  return {
    id,
    told: false,
    vector: EMPTY,
    askedAt: -Infinity,
    askedVector: EMPTY,
    more: false,
    pipelined: false,
    lackSince: 0,
    lackVector: null,
    answeredAt: -Infinity,
    answeredVector: "",
    askSentAt: NaN,
    answerRttMs: 0,
    answerTokens: answerRate,
    answerTokensAt: 0,
  };
}

/** An ask unanswered for this many of its peer's answer round trips goes to another peer (docs/PERFORMANCE_NOTES.md §5)… */
export const RETRY_RTTS = 2;
/** …or this many while ops wait here for a gap (small answers, and delivery held up: one peer is asked per gap). */
export const GAP_RETRY_RTTS = 1.25;

export const DEFAULTS: Required<ReplicatorOptions> = {
  antiEntropyMs: 1000,
  askRetryMs: 100,
  gapGraceMs: 20,
  answerDatagrams: 64,
  answerOps: 4096,
  fetchOps: 256,
  maxBuffered: 100_000,
  maxBufferedPerPeer: 20_000,
  maxBufferedBytesPerPeer: 8 * 1024 * 1024,
  maxAhead: 10_000,
  bufferTtlMs: 60_000,
  answerRate: 4000,
  isOrigin: () => true,
};

