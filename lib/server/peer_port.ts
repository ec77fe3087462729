/**
 * The peer port: the server network, wired. Peer datagrams → codec → peer
 * auth → Replicator inside the group commit (remote ops are applied in the
 * open transaction and wake long polls after it commits); what the
 * Replicator answers is sent after that commit, so an answer never carries
 * an op that is not durable here. Ops made here reach the Replicator when
 * the group commit says they are committed. A tick timer drives heartbeats
 * and re-asks, and a `stat` is answered with this server's `state`
 * (lib/server/stat_answers.ts).
 *
 * - Every peer datagram takes one route, whichever socket it came in on
 *   (the peer socket or the multicast group); our own, which multicast
 *   loops back, are ignored.
 * - Datagrams go to each target's peer address from servers.txt, by id —
 *   never to the source address of what arrived (a proxy may sit in front).
 * - With multicast, a fan-out to all peers is one datagram to the group;
 *   asks, answers and targeted datagrams stay unicast.
 * - Two-disk acks (lib/acks/): the peer liveness table, the confirmer's
 *   ring and when to send `got` are pure parts this port drives with its
 *   timer; it tells the ack gate nothing — the gate reads the same table.
 *
 * @example
 * ```ts
 * const port = new PeerPort({ commit, store, self: "a", peers, auth, statAuth, clock, ring, liveness, twoDisk: true, localStatus });
 * const udp = await bindServerTransport(addr, port.onDatagram);
 * port.start(udp);
 * ```
 */
import type { Log } from "../config/log.ts";
import { decodePeer, peerFits } from "../wire/codec.ts";
import type { GotWords, PeerDatagram, PresenceNote } from "../wire/messages.ts";
import { MAX_PRESENCE_ROOMS } from "../wire/messages.ts";
import { EMPTY, formatVector, type Vector } from "../wire/vector.ts";
import type { Address } from "../wire/address.ts";
import type { PeerAuth } from "../replication/peer_auth.ts";
import { FAN_OUT_GOT_VERSION, SILENT_VERSION } from "../replication/peer_versions.ts";
import { type OpLog, type Outgoing, Replicator, type ReplicatorOptions } from "../replication/replicator.ts";
import { runtimeVersion } from "../platform/runtime.ts";
import { originsOf } from "../rules/incarnation.ts";
import type { PeerLiveness } from "../acks/liveness.ts";
import type { Ring } from "../acks/ring.ts";
import { GotSchedule } from "../acks/gots.ts";
import type { Cancel, Clock } from "./clock.ts";
import type { GroupCommit } from "./commit.ts";
import type { StatusReport } from "./status.ts";
import { StatAnswers } from "./stat_answers.ts";

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
  /** The multicast group fan-out goes to (`start` is given its socket), or null for unicast. */
  multicast: Address | null;
  /** Figures of the rest of the server for `state` (held polls). */
  localStatus(): { heldPolls: number; heldAcks?: number; membership?: string; members?: string[]; links?: StatusReport["links"] };
  /** Tick period, ms. Default 25. */
  tickMs?: number;
  /** This server's place in servers.txt (lib/acks/ring.ts): whom it names confirmer, whom it tells its `got` more often. */
  ring: Ring;
  /**
   * Two-disk acks: remote ops are synced to disk before `got` tells their
   * senders so, and peers' `got`s are noted in `liveness`. False: one-disk acks.
   */
  twoDisk: boolean;
  /** The server's peer liveness table (lib/acks/liveness.ts). */
  liveness: PeerLiveness;
  /** A peer's `got` was noted (the ack gate rechecks its held acks). */
  onGot?(): void;
  /** Logs one event (lib/config/log.ts; default: stderr). */
  log?: Log;
  replicator?: ReplicatorOptions;
  /** Typing and away states a peer passed on (docs/PEER_PROTOCOL.md "Presence"). */
  onPresence?(notes: readonly PresenceNote[]): void;
  /** Which origins may make ops (default: this server's and its peers'); a node whose membership changes passes its live rule. */
  isOrigin?(origin: string): boolean;
  /** False while this server may not be named confirmer (a server still catching up after `--join`): it sends no `got`. */
  sendsGots?(): boolean;
};

/** Presence notes waiting for the next tick at most; more are dropped (they are the first thing dropped under load). */
const MAX_PRESENCE_PENDING = 256;
/** Presence notes per `pres` datagram. */
const PRESENCE_PER_DATAGRAM = 24;

/** Where the port sends: the peer socket, or the multicast group. */
type Sender = { send(bytes: Uint8Array, to: Address): void };

/** A peer clock further off than this is logged (once per SKEW_LOG_EVERY_MS). */
const SKEW_LOG_MS = 5000;
const SKEW_LOG_EVERY_MS = 600_000;

export class PeerPort {
  readonly replicator: Replicator;
  #o: PeerPortOptions;
  #started: number;
  #stopTick: Cancel | null = null;
  #out: Sender | null = null;
  #group: Sender | null = null;
  #stats: StatAnswers;
  /** When each peer was heard, its `got`s and its clock (lib/acks/liveness.ts). */
  readonly liveness: PeerLiveness;
  #ring: Ring;
  #gots: GotSchedule;
  #leadAt = 0;
  #skewLogged = new Map<string, number>();
  #presence: PresenceNote[] = [];
  /** Presence notes dropped: too many waiting (status). */
  presenceDropped = 0;

  constructor(o: PeerPortOptions) {
    this.#o = o;
    this.#started = o.clock.now();
    this.liveness = o.liveness;
    this.#ring = o.ring;
    this.#gots = new GotSchedule(this.ring, o.self);
    this.#stats = new StatAnswers({ self: o.self, auth: o.statAuth, clock: o.clock, dropped: (r) => this.replicator.noteDropped(r), report: () => this.status() });
    // Ops can only come from the servers of servers.txt (and their incarnations), or those it ever listed.
    const isOrigin = o.isOrigin ?? originsOf([o.self, ...o.peers.keys()]);
    this.replicator = new Replicator({
      self: o.self,
      peers: this.ring.peers,
      log: o.store,
      options: { isOrigin, ...o.replicator },
      liveness: this.liveness,
      onDelivered: o.twoDisk ? (op) => this.#gots.delivered(op) : undefined,
    });
    o.commit.subscribe(({ localOps }) => {
      if (localOps.length > 0) this.#fanOut(this.replicator.localOps(localOps, o.clock.now()));
      this.#sendGot(this.#gots.afterCommit(o.clock.now()));
    }, { first: true });
  }

  /** This server's place in servers.txt: whom it names confirmer. */
  get ring(): Ring {
    return this.#ring;
  }

  /**
   * The membership changed (lib/server/members.ts): the new ring, whom the
   * replicator and the authenticator deal with, and whom `got`s go to. The
   * caller has updated the peers' addresses (the `peers` map it passed).
   */
  setRing(ring: Ring): void {
    this.#ring = ring;
    this.#gots = new GotSchedule(ring, this.#o.self);
    this.replicator.setPeers(ring.peers);
    this.#o.auth.setPeers?.(ring.peers);
  }

  /** Starts sending through `out` (the peer socket; `group`: the multicast group's) and the tick timer (heartbeats, re-asks, `got`s). */
  start(out: Sender, group?: Sender): void {
    this.#out = out;
    this.#group = group ?? null;
    this.#stopTick ??= this.#o.clock.every(this.#o.tickMs ?? 25, () => {
      const now = this.#o.clock.now();
      this.#send(this.replicator.tick(now));
      this.#flushPresence();
      if (now - this.#leadAt >= 1000) {
        this.#leadAt = now;
        this.liveness.updateLead(now);
      }
      // Repeated, so a lost `got` costs a held ack at most LIVENESS.gotNearEveryMs, and a dead confirmer is
      // noticed within LIVENESS.liveNearMs; never from inside an open batch.
      if (this.#o.twoDisk && !this.#o.commit.busy) this.#sendGot(this.#gots.tick(now) ?? []);
    });
  }

  /** Sends `peer` a heartbeat now: it opened a new encrypted session with this server (restarted), see Replicator.greet. */
  greet(peer: string): void {
    this.#send(this.replicator.greet(peer));
  }

  /**
   * Passes a typing or away state said here on to every peer, in a `pres`
   * datagram at the next tick (not an op: no seq, ack or catch-up). Past
   * MAX_PRESENCE_PENDING waiting, dropped.
   */
  sayPresence(note: PresenceNote): void {
    if (this.ring.peers.length === 0) return;
    if (this.#presence.length >= MAX_PRESENCE_PENDING) {
      this.presenceDropped++;
      return;
    }
    this.#presence.push({ ...note, rooms: note.rooms.slice(0, MAX_PRESENCE_ROOMS) });
  }

  #flushPresence(): void {
    if (this.#presence.length === 0 || this.#o.commit.busy) return;
    const notes = this.#presence;
    this.#presence = [];
    for (let i = 0; i < notes.length; i += PRESENCE_PER_DATAGRAM) {
      const datagram = { verb: "pres" as const, from: this.#o.self, nonce: "-", notes: notes.slice(i, i + PRESENCE_PER_DATAGRAM) };
      this.#send([{ to: this.ring.peers, datagram }]);
    }
  }

  /** The confirmer of a message made now (lib/acks/ring.ts); undefined without peers. */
  confirmer(): string | undefined {
    return this.ring.confirmer(this.liveness, this.#o.clock.now());
  }

  /**
   * A peer's `got`: what is on its disk, its clock (one-way delay
   * included: a few ms), the peers it finds silent and the last `got` of
   * some (version 4; no `silent`: its earlier word is void). One log line
   * when its clock is more than SKEW_LOG_MS off, again after
   * SKEW_LOG_EVERY_MS while it stays so.
   */
  #noteGot(peer: string, vector: Vector, at: number, words: GotWords): void {
    const now = this.#o.clock.now();
    const offset = this.liveness.got(peer, vector, at, now);
    this.liveness.told(peer, words.silent ?? EMPTY, now);
    for (const [id, v] of words.gotsOf ?? []) if (id !== peer && id !== this.#o.self) this.liveness.gotOf(id, v);
    const last = this.#skewLogged.get(peer) ?? -Infinity;
    if (Math.abs(offset) > SKEW_LOG_MS && now - last > SKEW_LOG_EVERY_MS) {
      this.#skewLogged.set(peer, now);
      const s = Math.round(Math.abs(offset) / 1000);
      (this.#o.log ?? ((l: string) => console.error(l)))(
        `the clock of ${peer} is ${s} s ${offset > 0 ? "ahead of" : "behind"} this server's: session expiry and name settlement shift by that much (docs/OPERATIONS.md)`,
        { level: "warn", event: "clock-skew", fields: { peer, offsetMs: Math.round(offset) } },
      );
    }
  }

  /**
   * Tells `to` what is on this server's disk (the origins waiting for it,
   * the near servers, or every peer) and, those that read it (version 4),
   * what it knows of its silent peers (`#words`).
   */
  #sendGot(to: readonly string[]): void {
    if (to.length === 0 || this.#o.sendsGots?.() === false) return;
    const now = this.#o.clock.now(), versions = this.#o.auth.versions;
    const datagram = { verb: "got" as const, from: this.#o.self, nonce: "-", vector: this.#o.store.vector(), at: now };
    const words = this.#words(now);
    const told = words === null ? [] : to.filter((id) => versions.reads(id, SILENT_VERSION));
    const rest = told.length === 0 ? to : to.filter((id) => !told.includes(id));
    this.#send([{ to: told, datagram: { ...datagram, ...words } }, { to: rest, datagram }].filter((x) => x.to.length > 0));
  }

  /**
   * What a `got` says of this server's peers (version 4; null: nothing) for
   * a server that restarted since: those not heard from for 1.5 s and how
   * long, and the last `got` of those not heard from lately.
   */
  #words(now: number): GotWords | null {
    const silent = this.liveness.silences(this.ring.peers, now, this.#started), gotsOf = this.liveness.gotsOf(this.ring.peers, now);
    if (silent.size + gotsOf.size === 0) return null;
    return { ...(silent.size === 0 ? {} : { silent }), ...(gotsOf.size === 0 ? {} : { gotsOf }) };
  }

  /**
   * Sends the fan-out of ops made here. In two-disk mode, with no batch open
   * (its vector, read after the commit's sync, is all on disk) and every peer
   * at peer protocol version 3, it carries this server's `got` (at version 4
   * with what it says of its silent peers): every peer is told, and no `got` of its own goes
   * out until a period later.
   */
  #fanOut(out: readonly Outgoing[]): void {
    const o = this.#o, now = o.clock.now(), shared = o.auth.versions.shared(this.ring.peers);
    const rides = o.twoDisk && out.length > 0 && !o.commit.busy && o.sendsGots?.() !== false && shared >= FAN_OUT_GOT_VERSION;
    if (!rides) return this.#send(out);
    const words = shared >= SILENT_VERSION ? this.#words(now) : null;
    // The words only where they fit: the ops were packed up to MAX_DATAGRAM without them.
    const ride = (d: Extract<PeerDatagram, { verb: "add" }>) => words !== null && peerFits({ ...d, got: now, ...words }) ? { ...d, got: now, ...words } : { ...d, got: now };
    this.#send(out.map((x) => x.datagram.verb === "add" ? { ...x, datagram: ride(x.datagram) } : x));
    this.#gots.toldAll(now);
  }

  stop(): void {
    this.#stopTick?.();
    this.#stopTick = null;
  }

  /** "unicast" or "multicast GROUP:PORT". */
  get fanout(): string {
    const m = this.#o.multicast;
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
      const state = this.#stats.answer(signed);
      if (state !== null) this.#out?.send(state, from);
      return;
    }
    if (d.verb === "state") {
      this.replicator.noteDropped("unexpected");
      return;
    }
    const v = this.#o.auth.verify(signed);
    // A hello (an unknown epoch, or asking the peer's protocol version), or the proof a hello asked for: to the sender's servers.txt address.
    if (v.answer) this.#send([{ to: [d.from], datagram: { ...v.answer, from: this.#o.self } }]);
    if (!v.ok) {
      if (v.reason !== "handshake") this.replicator.noteDropped(v.reason);
      return;
    }
    if (d.verb === "got") {
      this.#noteGot(d.from, d.vector, d.at, d);
      this.#o.onGot?.();
      return;
    }
    if (d.verb === "pres") {
      this.#o.onPresence?.(d.notes);
      return;
    }
    let out: Outgoing[] = [];
    const twoDisk = this.#o.twoDisk;
    // A fan-out carrying its sender's `got`: noted once its ops are applied here, as a `got` sent after it would be.
    // No `onGot`: the ack gate and the held polls look again after every commit, this one's too.
    const got = d.verb === "add" ? d.got : undefined;
    commit.batch(() => (out = this.replicator.receive(d, this.#o.clock.now())), {
      after: () => {
        if (got !== undefined && d.verb === "add") this.#noteGot(d.from, d.vector, got, d);
        this.#send(out);
      },
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
      // Heard: any authenticated datagram (a `got` every 250 ms or second among them).
      peers[p.id] = {
        lastHeardMsAgo: p.lastHeardMsAgo,
        vector: formatVector(p.vector),
        clockOffsetMs: this.liveness.clockOffset(p.id),
        protocol: this.#o.auth.versions.of(p.id),
      };
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
      keyed: this.#o.statAuth.keyed,
      protocol: this.#o.auth.versions.own,
      sharedProtocol: this.#o.auth.versions.shared(r.peers.map((p) => p.id)),
    };
  }

  #send(out: readonly Outgoing[]): void {
    const socket = this.#out;
    if (this.#stopTick === null || socket === null) return;
    const { multicast, peers } = this.#o;
    for (const o of out) {
      const bytes = this.#o.auth.seal(o.datagram as PeerDatagram);
      if (multicast && this.#group && o.to.length > 1 && o.to.length === this.ring.peers.length) {
        this.#group.send(bytes, multicast);
        continue;
      }
      for (const id of o.to) {
        const addr = peers.get(id);
        if (addr) socket.send(bytes, addr);
      }
    }
  }
}
