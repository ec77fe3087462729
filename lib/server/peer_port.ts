/**
 * The peer port: the server network, wired. Peer datagrams → codec → peer
 * auth → Replicator inside the group commit (remote ops are applied in the
 * open transaction and wake long polls after it commits); what the
 * Replicator answers is sent after that commit, so an answer never carries
 * an op that is not durable here. Ops made here reach the Replicator when
 * the group commit says they are committed. A tick timer drives heartbeats
 * and re-asks, and a `stat` is answered with this server's `state`.
 *
 * - Every peer datagram takes one route, whichever socket it came in on
 *   (the peer socket or the multicast group); our own, which multicast
 *   loops back, are ignored.
 * - Datagrams go to each target's peer address from servers.txt, by id —
 *   never to the source address of what arrived (a proxy may sit in front).
 * - With multicast, a fan-out to all peers is one datagram to the group;
 *   asks, answers and targeted datagrams stay unicast.
 *
 * @example
 * ```ts
 * const port = new PeerPort({ commit, store, self: "a", peers, auth, statAuth, clock, send, multicast: null, localStatus });
 * const udp = await bindServerTransport(addr, port.onDatagram);
 * port.start();
 * ```
 */
import { decodePeer } from "../wire/codec.ts";
import type { PeerDatagram } from "../wire/messages.ts";
import { formatVector, type Vector } from "../wire/vector.ts";
import type { Address } from "../wire/address.ts";
import type { PeerAuth } from "../replication/peer_auth.ts";
import { type OpLog, type Outgoing, Replicator, type ReplicatorOptions } from "../replication/replicator.ts";
import { runtimeVersion } from "../platform/runtime.ts";
import { originsOf, serverOf } from "../rules/incarnation.ts";
import type { Cancel, Clock } from "./clock.ts";
import type { GroupCommit } from "./commit.ts";
import type { ClockHint, StatusReport } from "./status.ts";

/** What the peer port reads of the store besides the op log. */
export interface PeerStore extends OpLog {
  messages: { count(): number };
  sessions: { liveCount(now: number): number };
}

export type PeerPortOptions = {
  commit: GroupCommit;
  store: PeerStore;
  self: string;
  /** Every other server of servers.txt: id → peer address. */
  peers: ReadonlyMap<string, Address>;
  /** Checks and seals datagrams between servers. */
  auth: PeerAuth;
  /** Checks `stat` queries (from any sender, e.g. the status tool). */
  statAuth: PeerAuth;
  clock: Clock;
  /** Sends one datagram from the peer socket. */
  send(bytes: Uint8Array, to: Address): void;
  /** The multicast group for fan-out and how to send to it, or null for unicast. */
  multicast: { group: Address; send(bytes: Uint8Array, to: Address): void } | null;
  /** Figures of the rest of the server for `state` (held polls). */
  localStatus(): { heldPolls: number; heldAcks?: number };
  /** Tick period, ms. Default 25. */
  tickMs?: number;
  /** Every server id of servers.txt in file order (the ring that picks confirmers). Default: self then peers. */
  ring?: readonly string[];
  /**
   * Two-disk acks: remote ops are synced to disk before `got` tells their
   * senders so, and `onGot` hears every peer's `got`. Absent: one-disk acks.
   */
  onGot?(from: string, vector: Vector): void;
  /** One line of log (default: stderr). */
  log?(line: string): void;
  replicator?: ReplicatorOptions;
};

/** At most this many `stat`s are answered a second (a `state` is far larger than a `stat`). */
const STATS_PER_SECOND = 20;

/**
 * The servers that may name this one their confirmer: the NEAR servers before
 * it in servers.txt order (a server picks the first live one after itself).
 * They hear its `got` every GOT_EVERY_MS; every other peer every
 * GOT_ALL_EVERY_MS (liveness, clock offsets, and a stand-in disk when a
 * confirmer is down). With NEAR + 1 servers or fewer, every peer is near.
 */
const NEAR = 3;
/** A near server tells its peers what is on its disk at least this often, ms (also how they know it is alive). */
const GOT_EVERY_MS = 250;
/** Every server tells every peer at least this often, ms. */
const GOT_ALL_EVERY_MS = 1000;
/** A near peer heard from within this long is live (a confirmer candidate), ms: three `got` periods. */
const LIVE_MS = 3 * GOT_EVERY_MS;
/** The same for a peer further on, which sends its `got` every GOT_ALL_EVERY_MS. */
const LIVE_FAR_MS = 3 * GOT_ALL_EVERY_MS;
/** A peer clock further off than this is logged (once per SKEW_LOG_EVERY_MS). */
const SKEW_LOG_MS = 5000;
const SKEW_LOG_EVERY_MS = 600_000;
/** The most a fast server sets its chat time back to follow a slow peer, ms (a day). */
const MAX_LEAD_MS = 86_400_000;

export class PeerPort {
  readonly replicator: Replicator;
  #o: PeerPortOptions;
  #started: number;
  #stopTick: Cancel | null = null;
  #statWindowStart = 0;
  #statsAnswered = 0;
  #allPeers: string[];
  /** The peers in ring order, starting after this server. */
  #successors: string[];
  /** The servers before this one in ring order that may name it confirmer (they get its `got` every GOT_EVERY_MS). */
  #near: string[];
  /** A commit delivered messages naming this server confirmer: tell their origins what is on disk. */
  #gotDue = new Set<string>();
  /** Each peer's clock minus ours, ms, from its last `got`. */
  #clockOffset = new Map<string, number>();
  #lead = 0;
  #leadAt = 0;
  /** When each peer's last `got` came (they come every GOT_EVERY_MS: liveness for choosing confirmers). */
  #gotAt = new Map<string, number>();
  /** When each peer's last authenticated datagram of any kind came. */
  #heardAt = new Map<string, number>();
  #skewLogged = new Map<string, number>();
  #lastGot = -Infinity;
  #lastGotAll = -Infinity;

  constructor(o: PeerPortOptions) {
    this.#o = o;
    this.#started = o.clock.now();
    this.#allPeers = [...o.peers.keys()].sort();
    const ring = (o.ring ?? [o.self, ...o.peers.keys()]).filter((id) => id === o.self || o.peers.has(id));
    const at = ring.indexOf(o.self);
    this.#successors = [...ring.slice(at + 1), ...ring.slice(0, Math.max(at, 0))].filter((id) => id !== o.self);
    this.#near = this.#successors.length <= NEAR ? this.#allPeers : this.#successors.slice(-NEAR);
    // Ops can only come from the servers of servers.txt (and their incarnations).
    const isOrigin = originsOf([o.self, ...o.peers.keys()]);
    this.replicator = new Replicator({ self: o.self, peers: this.#allPeers, log: o.store, options: { isOrigin, ...o.replicator } });
    o.commit.subscribe(({ localOps }) => {
      if (localOps.length > 0) this.#send(this.replicator.localOps(localOps, o.clock.now()));
      if (this.#gotDue.size > 0) this.#sendGot([...this.#gotDue]);
    });
  }

  /** Starts the tick timer (heartbeats, re-asks, and a `got` a second). */
  start(): void {
    this.#stopTick ??= this.#o.clock.every(this.#o.tickMs ?? 25, () => {
      const now = this.#o.clock.now();
      this.#send(this.replicator.tick(now));
      if (this.#clockOffset.size > 0 && now - this.#leadAt >= 1000) {
        this.#leadAt = now;
        this.#updateLead();
      }
      // Repeated, so a lost `got` costs a held ack at most GOT_EVERY_MS, and a dead confirmer is noticed
      // within LIVE_MS; never from inside an open batch.
      if (this.#o.onGot && !this.#o.commit.busy && now - this.#lastGot >= GOT_EVERY_MS) {
        const all = now - this.#lastGotAll >= GOT_ALL_EVERY_MS;
        this.#lastGot = now;
        if (all) this.#lastGotAll = now;
        this.#sendGot(all ? this.#allPeers : this.#near);
      }
    });
  }

  /** When an authenticated datagram of `peer` last came (this server's clock), or undefined. */
  heardAt(peer: string): number | undefined {
    return this.#heardAt.get(peer);
  }

  /**
   * The confirmer of a message made now (docs/ARCHITECTURE.md "Acks"): the
   * first peer after this server in servers.txt order whose `got` came in
   * the last LIVE_MS (the NEAR peers after this server send theirs every
   * GOT_EVERY_MS; those further on every GOT_ALL_EVERY_MS, so for them
   * LIVE_FAR_MS), else the next one (the ack then waits for it); undefined
   * without peers.
   */
  confirmer(): string | undefined {
    const now = this.#o.clock.now();
    // This server is near to the NEAR servers after it: those send their `got` four times as often.
    const live = (id: string, i: number) => now - (this.#gotAt.get(id) ?? -Infinity) < (i < NEAR ? LIVE_MS : LIVE_FAR_MS);
    return this.#successors.find(live) ?? this.#successors[0];
  }

  /**
   * A peer's clock minus ours, from the time in its `got` (one-way delay
   * included: a few ms). One log line when it is more than SKEW_LOG_MS off,
   * again after SKEW_LOG_EVERY_MS while it stays so.
   */
  #noteClock(peer: string, at: number): void {
    const now = this.#o.clock.now();
    const offset = at - now;
    this.#clockOffset.set(peer, offset);
    this.#updateLead();
    const last = this.#skewLogged.get(peer) ?? -Infinity;
    if (Math.abs(offset) > SKEW_LOG_MS && now - last > SKEW_LOG_EVERY_MS) {
      this.#skewLogged.set(peer, now);
      const s = Math.round(Math.abs(offset) / 1000);
      (this.#o.log ?? ((l: string) => console.error(l)))(
        `the clock of ${peer} is ${s} s ${offset > 0 ? "ahead of" : "behind"} this server's: session expiry and name settlement shift by that much (docs/OPERATIONS.md)`,
      );
    }
  }

  /**
   * How far this server's clock runs ahead of the slowest live peer's, ms
   * (0 when none is slower; at most MAX_LEAD_MS). The client port reads
   * chat time as its clock minus this, so a server whose clock is fast
   * neither expires sessions early nor stamps ops in the future
   * (docs/ARCHITECTURE.md "Time").
   */
  clockLead(): number {
    return this.#lead;
  }

  /** Recomputes clockLead (on each `got` and each tick: reading it is on every request's path). */
  #updateLead(): void {
    const now = this.#o.clock.now();
    let lead = 0;
    for (const [peer, off] of this.#clockOffset) {
      // Offsets of peers whose last `got` came within the hour: the slowest one restarting must not make chat time jump.
      if (now - (this.#gotAt.get(peer) ?? -Infinity) > 3_600_000) continue;
      lead = Math.max(lead, -off);
    }
    this.#lead = Math.min(lead, MAX_LEAD_MS);
  }

  /** Tells `to` what is on this server's disk: the origins waiting for it, the near servers, or every peer. */
  #sendGot(to: readonly string[]): void {
    for (const id of to) this.#gotDue.delete(id);
    if (to.length === 0) return;
    const datagram = { verb: "got" as const, from: this.#o.self, nonce: "-", vector: this.#o.store.vector(), at: this.#o.clock.now() };
    this.#send([{ to, datagram }]);
  }

  stop(): void {
    this.#stopTick?.();
    this.#stopTick = null;
  }

  /** "unicast" or "multicast GROUP:PORT". */
  get fanout(): string {
    const m = this.#o.multicast?.group;
    return m ? `multicast ${m.host}:${m.port}` : "unicast";
  }

  /** Handles one datagram from the peer socket or the multicast group. Bound: pass it as a callback. */
  onDatagram = (bytes: Uint8Array, from: Address): void => {
    const { commit } = this.#o;
    if (commit.failed || commit.closed) return;
    const decoded = decodePeer(bytes);
    if (!decoded.ok) {
      this.replicator.noteDropped("malformed");
      return;
    }
    const signed = decoded.value;
    const d = signed.datagram;
    if (d.from === this.#o.self) return;
    if (d.verb === "stat") {
      this.#answerStat(signed, from);
      return;
    }
    if (d.verb === "state") {
      this.replicator.noteDropped("unexpected");
      return;
    }
    const v = this.#o.auth.verify(signed);
    if (!v.ok) {
      // A hello for an unknown epoch, or the proof a hello asked for: to the sender's servers.txt address.
      if (v.answer) this.#send([{ to: [d.from], datagram: { ...v.answer, from: this.#o.self } }]);
      if (v.reason !== "handshake") this.replicator.noteDropped(v.reason);
      return;
    }
    this.#heardAt.set(d.from, this.#o.clock.now());
    if (d.verb === "got") {
      this.#gotAt.set(d.from, this.#o.clock.now());
      this.#noteClock(d.from, d.at);
      this.#o.onGot?.(d.from, d.vector);
      return;
    }
    let out: Outgoing[] = [];
    const twoDisk = this.#o.onGot !== undefined;
    commit.batch(() => {
      out = this.replicator.receive(d, this.#o.clock.now());
      if (!twoDisk) return;
      for (const origin of this.replicator.takeConfirming()) {
        const id = serverOf(origin);
        if (this.#o.peers.has(id)) this.#gotDue.add(id);
      }
    }, {
      after: () => this.#send(out),
      // Two-disk acks: what we tell a peer is on our disk must be (docs/ARCHITECTURE.md "Acks");
      // it is on its origin's all the same, so long polls may see it before our sync.
      durableElsewhere: !twoDisk,
      shownBeforeSync: true,
    });
  };

  status(): StatusReport {
    const now = this.#o.clock.now();
    const r = this.replicator.status(now);
    const { store } = this.#o;
    const peers: StatusReport["peers"] = {};
    for (const p of r.peers) {
      // Heard: any replication datagram, or a `got` (every 250 ms).
      const got = this.#gotAt.get(p.id);
      const gotAgo = got === undefined ? null : now - got;
      const ago = p.lastHeardMsAgo === null ? gotAgo : gotAgo === null ? p.lastHeardMsAgo : Math.min(p.lastHeardMsAgo, gotAgo);
      peers[p.id] = { lastHeardMsAgo: ago, vector: formatVector(p.vector), clockOffsetMs: this.#clockOffset.get(p.id) ?? null };
    }
    return {
      id: this.#o.self,
      runtime: runtimeVersion(),
      uptimeMs: now - this.#started,
      vector: formatVector(store.vector()),
      messages: store.messages.count(),
      sessions: store.sessions.liveCount(now),
      ...this.#o.localStatus(),
      gapsPending: r.buffered,
      peers,
      dropped: r.dropped,
      sent: r.sent,
      received: r.received,
      fanout: this.fanout,
      keyed: this.#o.auth.keyed,
    };
  }

  /** Answers a `stat` to its source address, within a budget a second; with a key, its mac and nonce must check. */
  #answerStat(signed: Parameters<PeerAuth["verify"]>[0], to: Address): void {
    const now = this.#o.clock.now();
    if (now - this.#statWindowStart >= 1000) {
      this.#statWindowStart = now;
      this.#statsAnswered = 0;
    }
    if (this.#statsAnswered >= STATS_PER_SECOND) {
      this.replicator.noteDropped("stat-rate");
      return;
    }
    const v = this.#o.statAuth.verify(signed);
    if (!v.ok) {
      this.replicator.noteDropped(v.reason);
      // A nonce off by more than the window: the asker's clock is not ours. Say our time (a reply under 1.5× the stat).
      if (v.reason !== "stale") return;
      this.#statsAnswered++;
      const hint: ClockHint = { id: this.#o.self, staleNonce: true, now: this.#o.clock.now() };
      this.#o.send(this.#o.auth.seal({ verb: "state", from: this.#o.self, nonce: "-", json: JSON.stringify(hint) }), to);
      return;
    }
    this.#statsAnswered++;
    const json = JSON.stringify(this.status());
    this.#o.send(this.#o.auth.seal({ verb: "state", from: this.#o.self, nonce: "-", json }), to);
  }

  #send(out: readonly Outgoing[]): void {
    if (this.#stopTick === null) return;
    const { multicast, peers } = this.#o;
    for (const o of out) {
      const bytes = this.#o.auth.seal(o.datagram as PeerDatagram);
      if (multicast && o.to.length > 1 && o.to.length === this.#allPeers.length) {
        multicast.send(bytes, multicast.group);
        continue;
      }
      for (const id of o.to) {
        const addr = peers.get(id);
        if (addr) this.#o.send(bytes, addr);
      }
    }
  }
}
