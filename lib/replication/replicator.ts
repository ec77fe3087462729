/**
 * The replication state machine of the server network (docs/ARCHITECTURE.md,
 * protocol.peggy "Server network"): causal delivery of operations made at
 * other servers, gap repair, and anti-entropy. It is pure: it never touches a
 * socket, a timer or a clock. The server feeds it what happens — local ops,
 * received datagrams, the passing of time — with `now` as an argument, and
 * sends the datagrams each call returns (sealed by lib/replication/peer_auth.ts).
 *
 * How it talks (what each peer datagram means here):
 *
 * - `add vector ops` — fan-out of this node's new ops to every peer, `vector`
 *   being what the sender has delivered. An `add` with no ops is the
 *   heartbeat, sent to every peer every `antiEntropyMs`: it tells peers what
 *   we have, so that they find what they lack and ask for it, and that we are
 *   alive. (Heartbeats are not `ask`s so that N peers do not all answer the
 *   same missing ops at once.) A datagram from a peer not heard from for two
 *   periods is answered with a heartbeat at once, so a restarted node learns
 *   its peers' vectors in one round trip.
 * - `ask vector` — "send me what I lack": the asker's delivered vector (or
 *   the vector an answer still arriving brings it to, see `ok`). A
 *   node asks when a peer's known vector (from any datagram of that peer)
 *   shows ops it has neither delivered nor holds — a lost datagram, a restart —
 *   and that gap has lasted `gapGraceMs` (a causal race usually closes by
 *   itself). It asks one peer per gap, at most one outstanding ask per peer,
 *   re-asked after `askRetryMs` (`antiEntropyMs` for a peer not heard from).
 * - `ok vector more ops` — the answer to an ask: the ops the asker lacks,
 *   from the log in this node's delivery order (which is causal, so each
 *   answer delivers at once), in up to `answerDatagrams` (64) datagrams of at
 *   most MAX_DATAGRAM bytes. Every datagram of one answer carries the same
 *   `vector`: the asker's vector plus all ops of the answer, i.e. what the
 *   asker has once the whole answer arrived; `more` = 1 when the answerer
 *   has ops past that. Once half of an answer with `more` = 1 is applied
 *   (nothing held for a gap), the asker asks for what follows it, with that
 *   vector (pipelined: the answerer reads the next answer while the asker
 *   applies the rest of this one); it asks again after `askRetryMs` when a
 *   datagram of the answer was lost. Nothing to send: no answer.
 *
 * The op log is the server's (lib/store/store.ts implements `OpLog`; tests use an
 * in-memory one). Ops are opaque here: the engine never looks at their kind;
 * it hands each op it delivers to `onDelivered` (two-disk acks decide from
 * it who must hear a `got`, lib/acks/gots.ts). When each peer was last heard
 * is kept in the server's one liveness table (lib/acks/liveness.ts), which
 * the engine reads and writes.
 *
 * The server calls `tick(now)` every 20–50 ms (the engine decides itself when
 * a heartbeat or a re-ask is due).
 *
 * @example
 * ```ts
 * const r = new Replicator({ self: "a", peers: ["b", "c"], log });
 * send(r.localOps([op], Date.now()));             // after the op is stored
 * send(r.receive(decoded.datagram, Date.now()));  // after decode + auth
 * send(r.tick(Date.now()));                       // from a timer
 * function send(out: Outgoing[]) {
 *   for (const o of out) { const bytes = auth.seal(o.datagram); for (const p of o.to) transport.send(bytes, peerAddress(p)); }
 * }
 * ```
 */
import { headBytes, opBytes, packOps } from "./_batch.ts";
import { answerAsk } from "./_answer.ts";
import { CausalBuffer, isReady } from "./_buffer.ts";
import type { Op, PeerDatagram } from "../wire/messages.ts";
import { DEFAULTS, GAP_RETRY_RTTS, newPeer, RETRY_RTTS, type OpLog, type Outgoing, type Peer, type ReplicationStatus, type ReplicatorOptions } from "./types.ts";
import { LIVENESS, PeerLiveness } from "../acks/liveness.ts";

export type { OpLog, Outgoing, PeerStatus, ReplicationStatus, ReplicatorOptions } from "./types.ts";
import type { Vector } from "../wire/vector.ts";
import { advance, covers, get, merge, sum } from "../wire/vector.ts";

/** The replication engine of one node; see the module comment. */
export class Replicator {
  readonly self: string;
  readonly options: Required<ReplicatorOptions>;
  #log: OpLog;
  #peers = new Map<string, Peer>();
  #vector: Vector;
  #buffer: CausalBuffer;
  #nextHeartbeat = -Infinity;
  #liveness: PeerLiveness;
  #onDelivered: (op: Op) => void;
  #dropped: Record<string, number> = {};
  #counts = { sent: 0, received: 0, asksSent: 0, opsDelivered: 0, opsSent: 0 };

  /**
   * `liveness`: the server's peer liveness table (default: one of its own);
   * `onDelivered`: hears every op applied here that was made elsewhere.
   */
  constructor(init: {
    self: string;
    peers: readonly string[];
    log: OpLog;
    options?: ReplicatorOptions;
    liveness?: PeerLiveness;
    onDelivered?: (op: Op) => void;
  }) {
    this.self = init.self;
    this.options = { ...DEFAULTS, ...init.options };
    this.#log = init.log;
    this.#liveness = init.liveness ?? new PeerLiveness();
    this.#onDelivered = init.onDelivered ?? (() => {});
    this.#vector = init.log.vector();
    const o = this.options;
    this.#buffer = new CausalBuffer({
      maxOps: o.maxBuffered,
      maxOpsPerPeer: o.maxBufferedPerPeer,
      maxBytesPerPeer: o.maxBufferedBytesPerPeer,
      maxAhead: o.maxAhead,
      ttlMs: o.bufferTtlMs,
    }, o.isOrigin);
    for (const id of init.peers) {
      if (id === init.self) continue;
      this.#peers.set(id, newPeer(id, this.options.answerRate));
    }
  }

  /** The peers change (a membership change): a new one starts unheard; a retired one is forgotten (its ops stay valid). */
  setPeers(ids: readonly string[]): void {
    for (const id of [...this.#peers.keys()]) if (!ids.includes(id)) this.#peers.delete(id);
    for (const id of ids) if (id !== this.self && !this.#peers.has(id)) this.#peers.set(id, newPeer(id, this.options.answerRate));
  }

  /**
   * Fans out ops this node just made and stored (in the order made). Each
   * `add` carries this node's vector to every peer, as a heartbeat does, so
   * the next heartbeat is due `antiEntropyMs` after it: a server that keeps
   * making ops sends no heartbeats at all (bench/scaling.ts).
   */
  localOps(ops: readonly Op[], now: number): Outgoing[] {
    this.#vector = this.#log.vector();
    const vector = this.#vector;
    if (this.#peers.size === 0) return [];
    const packed = packOps(ops, headBytes("add", this.self, vector), Infinity);
    this.#drop("oversize-op", packed.oversize.length);
    if (packed.batches.length > 0) this.#nextHeartbeat = Math.max(this.#nextHeartbeat, now + this.options.antiEntropyMs);
    const to = [...this.#peers.keys()];
    return packed.batches.map((batch) => {
      this.#counts.opsSent += batch.length * to.length;
      return this.#out(to, { verb: "add", from: this.self, nonce: "-", vector, ops: batch });
    });
  }

  /** Handles a decoded, authenticated datagram from a peer. */
  receive(received: PeerDatagram, now: number): Outgoing[] {
    const peer = this.#peers.get(received.from);
    if (peer === undefined) {
      this.#drop("unknown-peer");
      return [];
    }
    const d = this.#admit(received);
    this.#counts.received++;
    this.#vector = this.#log.vector();
    const out: Outgoing[] = [];
    const stale = this.#liveness.silentFor(peer.id, now) > LIVENESS.staleHeartbeats * this.options.antiEntropyMs;
    this.#liveness.heard(peer.id, now);
    peer.told = true;
    if (stale) out.push(this.#heartbeat([peer.id]));
    switch (d.verb) {
      case "add":
        // Replaced, not merged: a peer that lost its log must not be asked forever.
        peer.vector = d.vector;
        this.#deliver(d.ops, peer.id, now);
        break;
      case "ok":
        out.push(...this.#onAnswer(peer, d.vector, d.more, d.ops, now));
        break;
      case "ask":
        peer.vector = d.vector;
        out.push(...this.#answer(peer, d.vector, now));
        break;
    }
    out.push(...this.#askForGaps(now));
    return out;
  }

  /** A heartbeat to `peer` now, none to a server not in the cluster: its new session says it restarted, maybe too soon to count as stale (lib/server/secure_peers.ts). */
  greet = (peer: string): Outgoing[] => this.#peers.has(peer) ? [this.#heartbeat([peer])] : [];

  /** Heartbeats and re-asks that are due. */
  tick(now: number): Outgoing[] {
    this.#vector = this.#log.vector();
    const out: Outgoing[] = [];
    this.#drop("buffer-expired", this.#buffer.expire(this.#vector, now));
    if (now >= this.#nextHeartbeat) {
      this.#nextHeartbeat = now + this.options.antiEntropyMs;
      if (this.#peers.size > 0) out.push(this.#heartbeat([...this.#peers.keys()]));
    }
    out.push(...this.#askForGaps(now));
    return out;
  }

  /** Ops delivered so far (applied to the log). */
  get delivered(): number {
    return this.#counts.opsDelivered;
  }

  /** Counts a datagram the server dropped before it got here (decode, auth). */
  noteDropped = (reason: string): void => this.#drop(reason);

  status(now: number): ReplicationStatus {
    const vector = this.#log.vector();
    return {
      self: this.self,
      vector,
      peers: [...this.#peers.values()].map((p) => ({
        id: p.id,
        lastHeardMsAgo: heardAgo(this.#liveness.silentFor(p.id, now)),
        told: p.told,
        vector: p.vector,
        ahead: !covers(vector, p.vector),
      })),
      buffered: this.#buffer.size,
      dropped: { ...this.#dropped },
      ...this.#counts,
    };
  }

  // --- receiving ops ---------------------------------------------------------

  /** The datagram without entries of origins that do not exist (counted), which no vector here ever holds. */
  #admit(d: PeerDatagram): PeerDatagram {
    if (!("vector" in d)) return d;
    const isOrigin = this.options.isOrigin;
    let vector = d.vector;
    for (const k of d.vector.keys()) {
      if (isOrigin(k)) continue;
      if (vector === d.vector) vector = new Map(d.vector);
      (vector as Map<string, number>).delete(k);
      this.#drop("foreign-origin-entry");
    }
    return vector === d.vector ? d : { ...d, vector };
  }

  /** Delivers what is ready, buffers the rest (within the buffer's bounds), then delivers what became ready. */
  #deliver(ops: readonly Op[], from: string, now: number): void {
    let delivered = false;
    for (const op of ops) {
      if (!this.options.isOrigin(op.origin)) {
        this.#drop("foreign-origin");
      } else if (op.seq <= get(this.#vector, op.origin) || this.#buffer.has(op.origin, op.seq)) {
        this.#drop("duplicate-op");
      } else if (get(op.deps, op.origin) >= op.seq) {
        this.#drop("bad-op");
      } else if (isReady(this.#vector, op, this.options.isOrigin)) {
        this.#apply(op);
        delivered = true;
      } else {
        const refused = this.#buffer.add(op, from, opBytes(op), this.#vector, now);
        if (refused) this.#drop(refused);
      }
    }
    if (!delivered) return;
    for (let op = this.#buffer.takeReady(this.#vector); op; op = this.#buffer.takeReady(this.#vector)) {
      this.#apply(op);
    }
  }

  #apply(op: Op): void {
    this.#log.applyRemote(op);
    this.#vector = advance(this.#vector, op.origin, op.seq);
    this.#counts.opsDelivered++;
    this.#onDelivered(op);
  }

  #onAnswer(peer: Peer, expect: Vector, more: boolean, ops: readonly Op[], now: number): Outgoing[] {
    // An answer to an older ask (a late or duplicated datagram) brings
    // nothing past what we had when we asked last: it settles nothing,
    // and its arrival is no round-trip sample of the ask now out.
    const old = covers(peer.askedVector, expect);
    if (!old && !Number.isNaN(peer.askSentAt)) {
      const sample = now - peer.askSentAt;
      peer.answerRttMs = peer.answerRttMs === 0 ? sample : 0.75 * peer.answerRttMs + 0.25 * sample;
      peer.askSentAt = NaN;
    }
    this.#deliver(ops, peer.id, now);
    peer.vector = merge(peer.vector, expect);
    // The rest of the answer a pipelined ask went out from, still arriving: that ask's re-ask waits, as below.
    if (old && covers(expect, peer.askedVector)) peer.askedAt = now;
    if (old) return [];
    if (covers(this.#vector, expect)) {
      // The whole answer is here: ask again at once if it said there is more.
      peer.askedAt = -Infinity;
      peer.more = more;
      return [];
    }
    peer.more ||= more;
    // The answer is arriving: the re-ask waits askRetryMs from its latest
    // datagram, not from the ask, or a large answer that takes longer than
    // that to apply would be asked for (and sent) again while it arrives.
    peer.askedAt = now;
    // Pipelining: half of it is applied and the peer has more, so ask now for
    // what follows this answer (sent after this batch's commit): the peer
    // reads the next answer while we apply the rest of this one.
    const half = 2 * (sum(this.#vector) - sum(peer.askedVector)) >= sum(expect) - sum(peer.askedVector);
    const other = this.#pipelinedTo(now);
    return more && half && this.#buffer.size === 0 && (other ?? peer) === peer ? [this.#ask(peer, expect, now, true)] : [];
  }

  // --- asking ------------------------------------------------------------------

  /** Asks, for each gap, one peer that has what is missing. */
  #askForGaps(now: number): Outgoing[] {
    const out: Outgoing[] = [];
    let expected = this.#vector;
    /** An ask is out: a peer that says it has more, but nothing past what that ask brings, waits for it. */
    let asking = false;
    const catchingUp = this.#pipelinedTo(now) !== undefined;
    const candidates: Peer[] = [];
    for (const p of this.#peers.values()) {
      const lacks = this.#lacksFrom(p, now);
      // An ask out counts even within the gap grace (a pipelined one, its answer on the way): no other peer is asked the same.
      if (this.#outstanding(p, now)) {
        expected = merge(expected, p.vector);
        asking = true;
      } else if (lacks) candidates.push(p);
    }
    // Least recently asked first: a peer whose answer went missing (it may
    // have crashed) yields to another that has the same ops; then the peer
    // that has the most.
    candidates.sort((a, b) => order(a.askedAt, b.askedAt) || sum(b.vector) - sum(a.vector) || order(a.id, b.id));
    for (const p of candidates) {
      // Two asks from one vector bring the same ops twice: ask another peer only for what the first lacks,
      // and no one during a catch-up (a pipelined ask out): what others have past it is asked once it ends.
      if (catchingUp || (this.#buffer.covers(expected, p.vector) && (!p.more || asking))) continue;
      asking = true;
      expected = merge(expected, p.vector);
      out.push(this.#ask(p, this.#vector, now));
    }
    return out;
  }

  /** An ask to `p` for what follows `vector`: what we have, or what an answer still arriving brings us to. */
  #ask(p: Peer, vector: Vector, now: number, pipelined = false): Outgoing {
    p.pipelined = pipelined;
    p.askedAt = now;
    p.askSentAt = now;
    p.askedVector = vector;
    p.more = false;
    this.#counts.asksSent++;
    return this.#out([p.id], { verb: "ask", from: this.self, nonce: "-", vector });
  }

  /** The peer a catch-up is under way with (a pipelined ask out to it), if any: no one else is asked meanwhile. */
  #pipelinedTo(now: number): Peer | undefined {
    for (const p of this.#peers.values()) if (p.pipelined && this.#outstanding(p, now)) return p;
  }

  /** True when `p` has more for us, or has had ops we lack for `gapGraceMs`. */
  #lacksFrom(p: Peer, now: number): boolean {
    if (p.more) return true;
    // What we hold waiting for a gap counts as had: only the gap itself is asked for (one peer per gap).
    if (this.#buffer.covers(this.#vector, p.vector)) {
      p.lackVector = null;
      return false;
    }
    if (p.lackVector === null || covers(this.#vector, p.lackVector)) {
      p.lackVector = p.vector;
      p.lackSince = now;
    }
    return now - p.lackSince >= this.options.gapGraceMs;
  }

  /**
   * An ask to `p` is still out: askRetryMs, or RETRY_RTTS (GAP_RETRY_RTTS)
   * times the time `p` has been taking to start answering when that is longer
   * (a busy or far peer; asking again, or asking another, while its answer
   * is on the way brings every op twice).
   */
  #outstanding(p: Peer, now: number): boolean {
    const alive = this.#liveness.silentFor(p.id, now) < LIVENESS.aliveHeartbeats * this.options.antiEntropyMs;
    const rtts = this.#buffer.size > 0 ? GAP_RETRY_RTTS : RETRY_RTTS;
    const retry = Math.min(Math.max(this.options.askRetryMs, rtts * p.answerRttMs), this.options.antiEntropyMs);
    return now - p.askedAt < (alive ? retry : this.options.antiEntropyMs);
  }

  /** The ok datagrams answering an ask with `asked`, or none if there is nothing to send. */
  #answer(peer: Peer, asked: Vector, now: number): Outgoing[] {
    const a = answerAsk(peer, asked, now, { self: this.self, log: this.#log, vector: this.#vector, options: this.options });
    for (const [reason, n] of a.drops) this.#drop(reason, n);
    return a.batches.map((batch) => {
      this.#counts.opsSent += batch.length;
      return this.#out([peer.id], { verb: "ok", from: this.self, nonce: "-", vector: a.expect, more: a.more, ops: batch });
    });
  }

  #heartbeat = (to: string[]): Outgoing => this.#out(to, { verb: "add", from: this.self, nonce: "-", vector: this.#vector, ops: [] });

  #out(to: readonly string[], datagram: PeerDatagram): Outgoing {
    this.#counts.sent += to.length;
    return { to, datagram };
  }

  #drop(reason: string, n = 1): void {
    if (n > 0) this.#dropped[reason] = (this.#dropped[reason] ?? 0) + n;
  }
}

/** ms since heard, or null for never (Infinity). */
const heardAgo = (ms: number): number | null => (Number.isFinite(ms) ? ms : null);
const order = <T extends number | string>(a: T, b: T): number => (a === b ? 0 : a < b ? -1 : 1);
