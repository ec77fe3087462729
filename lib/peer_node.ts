/**
 * The server network, wired: peer datagrams ↔ codec ↔ peer auth ↔
 * Replicator ↔ store (through the group commit of lib/server_app.ts), a tick
 * timer, optional multicast fan-out, and the `stat` → `state` status answer.
 * It never opens a socket itself: server.ts binds them and passes them in.
 *
 * - A peer datagram is decoded (`malformed` dropped and counted), a `stat` is
 *   answered at once, anything else is authenticated (drops counted by
 *   reason) and handed to the Replicator inside `app.batch`, so remote ops
 *   are applied in the open transaction and wake long polls after commit.
 *   What the Replicator answers is sent after that commit (an answer never
 *   carries an op that is not durable here).
 * - Datagrams go to each target's peer address from servers.txt, by id —
 *   never to the source address of what arrived (a proxy may sit in front).
 * - With multicast, a fan-out to all peers is one datagram to the group;
 *   asks, answers and targeted datagrams stay unicast.
 *
 * @example
 * ```ts
 * const node = new PeerNode({ app, self: "a", peers, auth, fanout: "unicast" });
 * node.attach(peerTransport, multicastTransport);
 * app.replication = node.hooks;
 * ```
 */
import { timingSafeEqual } from "node:crypto";
import { decodePeer } from "./codec.ts";
import type { Op, PeerDatagram } from "./messages.ts";
import type { PeerAuth } from "./peer_auth.ts";
import { peerMac } from "./peer_auth.ts";
import { type Outgoing, Replicator, type ReplicatorOptions } from "./replication.ts";
import { runtimeVersion } from "./runtime.ts";
import type { ReplicationHooks, ServerApp } from "./server_app.ts";
import type { Address } from "./servers_file.ts";
import type { StatusReport } from "./status.ts";
import type { Transport } from "./udp.ts";
import { formatVector } from "./vector.ts";

export type PeerNodeOptions = {
  app: ServerApp;
  self: string;
  /** Every other server of servers.txt: id → peer address. */
  peers: ReadonlyMap<string, Address>;
  auth: PeerAuth;
  /** The cluster key (to check `stat` datagrams), or null. */
  key: Uint8Array | null;
  /** The multicast group for fan-out, or null for unicast. */
  multicast: Address | null;
  /** Tick period, ms. Default 25. */
  tickMs?: number;
  replicator?: ReplicatorOptions;
  now?: () => number;
};

const STAT_WINDOW_MS = 30_000;
/** At most this many `stat`s answered per second, and keyed stat nonces remembered. */
const STATS_PER_SECOND = 20;
const MAX_STAT_NONCES = 1000;
const NONCE = /^(\d{1,16})\.[0-9a-f]{16}$/;

export class PeerNode {
  readonly replicator: Replicator;
  readonly hooks: ReplicationHooks;
  #o: PeerNodeOptions;
  #now: () => number;
  #started: number;
  #peer: Transport | null = null;
  #group: Transport | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #statWindowStart = 0;
  #statsAnswered = 0;
  #statNonces = new Map<string, number>();
  #allPeers: string[];

  constructor(o: PeerNodeOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#started = this.#now();
    this.#allPeers = [...o.peers.keys()].sort();
    this.replicator = new Replicator({ self: o.self, peers: this.#allPeers, log: o.app.store, options: o.replicator });
    this.hooks = {
      onPeerDatagram: (bytes, from) => this.#onDatagram(bytes, from, false),
      onLocalOps: (ops) => this.#onLocalOps(ops),
    };
  }

  /** Starts sending: the peer socket, and the multicast one (receives only via `onMulticastDatagram`). */
  attach(peer: Transport, group: Transport | null): void {
    this.#peer = peer;
    this.#group = group;
    this.#timer = setInterval(() => {
      if (this.#peer) this.#send(this.replicator.tick(this.#now()));
    }, this.#o.tickMs ?? 25);
  }

  /** A datagram on the multicast socket: our own come back and are ignored. */
  onMulticastDatagram = (bytes: Uint8Array, from: Address): void => {
    this.#onDatagram(bytes, from, true);
  };

  /** "unicast" or "multicast GROUP:PORT". */
  get fanout(): string {
    const m = this.#o.multicast;
    return m ? `multicast ${m.host}:${m.port}` : "unicast";
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#peer = null;
    this.#group = null;
  }

  status(): StatusReport {
    const now = this.#now();
    const r = this.replicator.status(now);
    const app = this.#o.app;
    const peers: StatusReport["peers"] = {};
    for (const p of r.peers) peers[p.id] = { lastHeardMsAgo: p.lastHeardMsAgo, vector: formatVector(p.vector) };
    return {
      id: this.#o.self,
      runtime: runtimeVersion(),
      uptimeMs: now - this.#started,
      vector: formatVector(app.store.vector()),
      messages: app.store.messageCount(),
      sessions: app.store.liveSessionCount(now),
      heldPolls: app.heldPolls,
      gapsPending: r.buffered,
      peers,
      dropped: r.dropped,
      sent: r.sent,
      received: r.received,
      fanout: this.fanout,
      keyed: this.#o.auth.keyed,
    };
  }

  // --- receiving ---------------------------------------------------------------

  #onDatagram(bytes: Uint8Array, from: Address, multicast: boolean): void {
    const decoded = decodePeer(bytes);
    if (!decoded.ok) {
      this.replicator.noteDropped("malformed");
      return;
    }
    const signed = decoded.value;
    const d = signed.datagram;
    if (multicast && d.from === this.#o.self) return;
    if (d.verb === "stat") {
      if (!multicast) this.#answerStat(signed.signed, signed.mac, d.nonce, from);
      return;
    }
    if (d.verb === "state") {
      this.replicator.noteDropped("unexpected");
      return;
    }
    const v = this.#o.auth.verify(signed);
    if (!v.ok) {
      this.replicator.noteDropped(v.reason);
      return;
    }
    let out: Outgoing[] = [];
    this.#o.app.batch(
      () => {
        out = this.replicator.receive(d, this.#now());
      },
      () => this.#send(out),
      true,
    );
  }

  /** Answers `stat` to its source address; with a key its mac (and a fresh nonce) must check. */
  #answerStat(signed: string, mac: string, nonce: string, to: Address): void {
    const now = this.#now();
    // A state reply is far larger than a stat: answer a bounded number per
    // second so a forged source address cannot turn a server into an amplifier.
    if (now - this.#statWindowStart >= 1000) {
      this.#statWindowStart = now;
      this.#statsAnswered = 0;
    }
    if (this.#statsAnswered >= STATS_PER_SECOND) {
      this.replicator.noteDropped("stat-rate");
      return;
    }
    const key = this.#o.key;
    if (key !== null) {
      const m = NONCE.exec(nonce);
      if (m === null || mac === "-") {
        this.replicator.noteDropped("unauthenticated");
        return;
      }
      const want = Buffer.from(peerMac(key, signed), "hex");
      const got = Buffer.from(mac, "hex");
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        this.replicator.noteDropped("bad-mac");
        return;
      }
      if (Math.abs(now - Number(m[1])) > STAT_WINDOW_MS) {
        this.replicator.noteDropped("stale");
        return;
      }
      if (this.#statNonces.has(nonce)) {
        this.replicator.noteDropped("replay");
        return;
      }
      this.#statNonces.set(nonce, now);
      for (const [n, at] of this.#statNonces) {
        if (now - at <= STAT_WINDOW_MS && this.#statNonces.size <= MAX_STAT_NONCES) break;
        this.#statNonces.delete(n);
      }
    }
    this.#statsAnswered++;
    const json = JSON.stringify(this.status());
    this.#peer?.send(this.#o.auth.seal({ verb: "state", from: this.#o.self, nonce: "-", json }), to);
  }

  // --- sending -------------------------------------------------------------------

  #onLocalOps(ops: Op[]): void {
    this.#send(this.replicator.localOps(ops, this.#now()));
  }

  #send(out: readonly Outgoing[]): void {
    const peer = this.#peer;
    if (!peer) return;
    for (const o of out) {
      const bytes = this.#o.auth.seal(o.datagram as PeerDatagram);
      const group = this.#o.multicast;
      if (group && this.#group && o.to.length > 1 && o.to.length === this.#allPeers.length) {
        this.#group.send(bytes, group);
        continue;
      }
      for (const id of o.to) {
        const addr = this.#o.peers.get(id);
        if (addr) peer.send(bytes, addr);
      }
    }
  }
}
