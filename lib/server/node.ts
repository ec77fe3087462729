/**
 * A DistChat server, assembled from parts (docs/ARCHITECTURE.md "The
 * picture"): given a store, a clock, randomness, its config and how to
 * open its transports, `createServerNode` builds the group commit, the
 * peer liveness table and the ack gate (lib/acks/), the handlers
 * (lib/handlers/), the client and peer ports and the housekeeping; `start`
 * opens the peer transport, waits (on the node's clock) to hear the peers,
 * chooses the origin it writes under (lib/rules/incarnation.ts), then opens
 * the client transports. It never opens a socket or a file itself: server.ts
 * gives it UDP sockets and the web listener, a test the in-memory network of
 * testing/memory_cluster.ts — so a whole cluster runs in one process.
 *
 * @example
 * ```ts
 * const node = createServerNode({ store, clock: systemClock, random: randomBytes, config, clusterKey,
 *   replyKey, log, transports: { peer: (receive) => bindServerTransport(peerAt, receive), client: (receive) => bindServerTransport(at, receive) } });
 * const started = await node.start(); // { origin: "a", reason: null, … }
 * await node.close();
 * ```
 */
import type { Address } from "../wire/address.ts";
import type { Vector } from "../wire/vector.ts";
import type { Store } from "../store/store.ts";
import { readBackupMark } from "../store/backup.ts";
import { chooseOrigin, type OriginChoice, originsOf } from "../rules/incarnation.ts";
import { readPosition } from "../rules/read_position.ts";
import { sessionId } from "../rules/session_id.ts";
import { nameKey } from "../wire/names.ts";
import { ReadPositions } from "../store/read_positions.ts";
import { createPeerAuth, createStatAuth } from "../replication/peer_auth.ts";
import { PeerLiveness } from "../acks/liveness.ts";
import { Ring } from "../acks/ring.ts";
import { type HandlerDeps, handlerDeps } from "../handlers/index.ts";
import type { NodeConfig } from "../config/node_config.ts";
import { ServerTransport } from "../secure/server_transport.ts";
import { generateKeyPair, type KeyPair } from "../secure/suite.ts";
import { AckGate } from "./ack_gate.ts";
import { Answers } from "./answers.ts";
import type { ClientChannel } from "./channel.ts";
import { ClientPort } from "./client_port.ts";
import { type Clock, laggingClock } from "./clock.ts";
import { GroupCommit } from "./commit.ts";
import { UNHEARD_ORIGINS } from "./held_polls.ts";
import { startHousekeeping } from "./housekeeping.ts";
import { type Gauge, guessGauges, ServerMetrics, statusGauges } from "./metrics.ts";
import { PeerPort } from "./peer_port.ts";
import { PresenceBoard } from "../rules/presence.ts";
import { Quotas } from "./quotas.ts";
import { SecureIntake } from "./secure_intake.ts";
import { peerLinksEncrypted, type SecurePeers, securePeers } from "./secure_peers.ts";
import type { StatusReport } from "./status.ts";
import type { Log } from "../config/log.ts";

/** How long a starting server waits to hear every peer before it chooses its origin, ms. */
export const PEER_WAIT_MS = 2000;

/** A datagram transport as the node uses it: it sends; whoever opened it closes it. */
export type Sender = { send(bytes: Uint8Array, to: Address): void; readonly address?: Address };

/** Opens a transport that hands every datagram it receives to `receive`. */
export type Open = (receive: (bytes: Uint8Array, from: Address) => void) => Promise<Sender>;

/** Where client datagrams of another transport go (the web listener's): the client port. */
export type Deliver = (bytes: Uint8Array, from: Address, via: ClientChannel) => void;

/** What the node shows a transport that serves /metrics: its counters and its gauges now. */
export type NodeView = { metrics: ServerMetrics; gauges(): Gauge[] };

/** How the node opens its transports, in this order: peer (and multicast) first, client once the origin is chosen. */
export type NodeTransports = {
  peer: Open;
  /** The multicast group's socket (config.multicast). */
  multicast?: Open;
  client: Open;
  /** More client transports (the web listener): given where datagrams go; resolves with its origin and what closes it. */
  web?: (deliver: Deliver, view: NodeView) => Promise<{ origin: string; close(): Promise<void> }>;
  /** The IRC listener (lib/ircd/listener.ts): given where datagrams go and what else it asks the node. */
  irc?: (deliver: Deliver, hooks: IrcHooks) => Promise<{ origin: string; close(): Promise<void> }>;
};

/** What the IRC listener asks the node besides requests. */
export type IrcHooks = {
  /** Subscribes `fn` to the rooms with new entries of every commit (and of peers' ops shown before their sync). */
  onRooms(fn: (rooms: ReadonlySet<string>) => void): void;
  /** What the previous session of `userName` (not the one of `token`) was shown (lib/rules/read_position.ts), or null. */
  readPosition(userName: string, token: string): Vector | null;
};

export type ServerNodeOptions = {
  store: Store;
  clock: Clock;
  /** `n` random bytes (node:crypto randomBytes in production). */
  random: (n: number) => Uint8Array;
  config: NodeConfig;
  transports: NodeTransports;
  /** The cluster key (peer datagrams are authenticated with it, and it makes the salts of names not registered), or null. */
  clusterKey: Uint8Array | null;
  /**
   * The encrypted client transport (lib/server/secure_intake.ts): this
   * server's static key pair (null: none, plaintext only) and whether the
   * unencrypted protocol is accepted beside it. Absent: plaintext only, as
   * before the encrypted transport (in-memory test clusters).
   */
  secure?: {
    staticKey: KeyPair | null;
    allowPlaintext: boolean;
    handshakesPerSecond?: number;
    /** Every peer's static public key (servers.txt key=), or null when one has none: peer links then stay plaintext (lib/server/secure_peers.ts). */
    peerKeys?: ReadonlyMap<string, Uint8Array> | null;
  };
  /** The key sealing saved login replies (lib/server/reply_seal.ts). */
  replyKey: Uint8Array;
  /** Logs one event (lib/config/log.ts). */
  log: Log;
  /** What is wrong with the database file, or null (lib/store/file_guard.ts); checked after commits and every half second. */
  checkDatabase?(): string | null;
  /** True while the database's disk is below its free-space floor (lib/server/disk_floor.ts). */
  diskLow?(): boolean;
  /** Bytes free on the database's disk now, for /metrics (lib/server/disk_floor.ts freeBytes). */
  diskFree?(): number;
  /** The checkpointer (lib/store/checkpointer.ts): scrubs the log after a commit that deleted text; stopped before the store closes. */
  checkpointer?: { scrub(): void; stop(): Promise<void> };
  /** The database failed: the node stops writing; this must stop the process (default: throw). */
  onFatal?(problem: string): void;
};

/** What `start` did: the origin chosen (and why a new incarnation), and where the transports listen. */
export type Started = OriginChoice & { peer?: Address; client?: Address; web?: string; irc?: string };

/** A server node (see the file comment); `createServerNode` builds one. */
export class ServerNode {
  readonly store: Store;
  readonly commit: GroupCommit;
  /** Counters of requests, errors and acks (for /metrics). */
  readonly metrics = new ServerMetrics();
  /** Who is typing or away (lib/rules/presence.ts): in memory only. */
  readonly presence = new PresenceBoard();
  #o: ServerNodeOptions;
  #ids: string[];
  #peers: Map<string, Address>;
  /** What the database says of its own origin, read before peers send anything. */
  #facts: Pick<Parameters<typeof chooseOrigin>[0], "stored" | "local" | "hwm" | "backup">;
  #gate: AckGate | undefined;
  #desk: HandlerDeps["desk"];
  #clientPort: ClientPort;
  #peerPort: PeerPort;
  /** The peer links' encrypted transport, or null: plaintext peer datagrams (HMAC only). */
  #link: SecurePeers | null = null;
  #stopHousekeeping: () => void;
  #closers: (() => Promise<void>)[] = [];

  constructor(o: ServerNodeOptions) {
    const { store, clock, config } = o;
    this.#o = o;
    this.store = store;
    this.#ids = config.servers.map((s) => s.id);
    this.#peers = new Map(config.servers.filter((s) => s.id !== config.id).map((s) => [s.id, s.peer] as const));
    const junk = store.dropForeignOrigins(originsOf(this.#ids));
    if (junk > 0) o.log(`removed ${junk} op(s) of origins that are not servers of the servers file`);
    store.sessions.loadLive(clock.now());
    this.#facts = { stored: store.storedOrigin(), local: store.vector(), hwm: store.readHighWater(), backup: readBackupMark(store.db) };
    this.commit = new GroupCommit({ store, clock, checkDatabase: o.checkDatabase, onFatal: o.onFatal });
    // Text deleted by a commit (retention) leaves the write-ahead log too (lib/store/scrub.ts).
    if (o.checkpointer) this.commit.subscribe(() => void (store.erasures.take() && o.checkpointer!.scrub()));
    const liveness = new PeerLiveness();
    const ring = new Ring(this.#ids, config.id);
    this.#gate = config.twoDisk
      ? new AckGate({ self: config.id, store, commit: this.commit, clock, liveness, isServer: (id) => this.#ids.includes(id), holdMs: config.holdAcksMs })
      : undefined;
    const confirmer = config.twoDisk ? () => ring.confirmer(liveness, clock.now()) : undefined;
    const handlers = handlerDeps({
      store, random: o.random, sessionTtl: config.sessionTtl, secret: o.clusterKey ?? undefined, confirmer,
      // Typing and away: in memory, passed to peers in `pres` datagrams (docs/PROTOCOL.md "Typing and away").
      presence: this.presence, presenceSaid: (note) => this.#peerPort.sayPresence(note),
    });
    this.#desk = handlers.desk;
    // Chat time: this server's clock, set back by how far it runs ahead of its slowest peer (docs/ARCHITECTURE.md "Time").
    const chatClock = laggingClock(clock, () => liveness.clockLead);
    const sessionLive = (id: string, now: number) => store.sessions.isLiveId(id, now);
    const quotas = config.quotas === null ? undefined : new Quotas(config.quotas, sessionLive);
    this.#clientPort = this.#makeClientPort(handlers, chatClock, quotas);
    this.#peerPort = this.#makePeerPort(ring, liveness, () => chatClock.now());
    this.#link = securePeers({ ...o, self: config.id, peers: this.#peers, multicast: config.multicast, port: this.#peerPort });
    const port = this.#clientPort;
    // Stable delivery (docs/ARCHITECTURE.md): polls list a copy once its confirmer's word is in here; the rooms held back are read again after each commit (a `got` brings one).
    const gate = this.#gate;
    if (gate) store.settling.rule = () => gate.settledTest();
    if (gate) this.commit.subscribe(() => port.wakeRooms(store.settling.take()));
    this.#stopHousekeeping = startHousekeeping({
      clock: chatClock,
      commit: this.commit,
      store,
      limiters: [port.limiter, port.sessionLimiter, ...(quotas ? [quotas] : []), { prune: (now: number) => port.budget.prune((id) => sessionLive(id, now)) }],
      checkDatabase: o.checkDatabase,
    });
  }

  #makeClientPort(handlers: HandlerDeps, clock: Clock, quotas: Quotas | undefined): ClientPort {
    const { store, config } = this.#o;
    return new ClientPort({
      commit: this.commit,
      clock,
      gate: this.#gate,
      handlers,
      store,
      answers: new Answers({ replies: store.replies, replyKey: this.#o.replyKey }),
      metrics: this.metrics,
      rateLimit: config.rateLimit,
      sessionRate: config.sessionRate,
      quotas,
      maxHeldPerSession: config.heldPolls.heldPollsPerSession,
      maxHeldBytesPerIp: config.heldPolls.heldPollKibPerIp * 1024,
      maxHeldBytes: config.heldPolls.heldPollKib * 1024,
      // A server catching up from an empty database has heard of none of its peers yet.
      cursorSlack: UNHEARD_ORIGINS + this.#ids.length,
      diskLow: this.#o.diskLow,
      log: this.#o.log,
    });
  }

  #makePeerPort(ring: Ring, liveness: PeerLiveness, chatNow: () => number): PeerPort {
    const { store, clock, config, random, clusterKey: key } = this.#o;
    const gate = this.#gate;
    const now = () => clock.now();
    return new PeerPort({
      commit: this.commit,
      store,
      clock,
      self: config.id,
      peers: this.#peers,
      // Encrypted links authenticate and number every datagram: their text carries no nonce or mac.
      auth: createPeerAuth({ key: peerLinksEncrypted(this.#o.secure, this.#peers.size) ? null : key, peers: this.#peers.keys(), now, random }),
      statAuth: createStatAuth({ key, peers: "any", now, random, maxNonces: 1000 }),
      multicast: config.multicast,
      localStatus: () => ({ heldPolls: this.heldPolls, heldAcks: this.heldAcks, links: this.#link?.counts }),
      ring,
      liveness,
      twoDisk: config.twoDisk,
      onGot: gate && (() => {
        gate.noteGot();
        // Held-back rooms are read again now when no batch is open, else after its commit.
        if (store.settling.waiting && !this.commit.busy) this.#clientPort.wakeRooms(store.settling.take());
      }),
      onPresence: (notes) => notes.forEach((n) => this.presence.set(n.rooms, n.userName, n.state, chatNow(), n.ttlMs)),
      log: this.#o.log,
    });
  }

  /** Acks held for a second disk (0 with one-disk acks). */
  get heldAcks(): number {
    return this.#gate?.size ?? 0;
  }

  /** Long polls held. */
  get heldPolls(): number {
    return this.#clientPort.heldPolls;
  }

  /** "unicast" or "multicast GROUP:PORT". */
  get fanout(): string {
    return this.#peerPort.fanout;
  }

  /** The `state` report (docs/PEER_PROTOCOL.md "Health"). */
  status(): StatusReport {
    return this.#peerPort.status();
  }

  /** The node's gauges for /metrics. */
  gauges(): Gauge[] {
    return [
      ...statusGauges(this.status(), { rooms: this.store.rooms.count(), expunged: this.store.retention.expunged }),
      ...guessGauges(this.#desk.guard),
      ...diskGauges(this.#o),
    ];
  }

  /**
   * Opens the peer transport (and the multicast group's), waits on the
   * node's clock to hear the peers, chooses the origin to write under
   * (lib/rules/incarnation.ts: ask the peers what they have of ours first),
   * then opens the client transports.
   */
  async start(): Promise<Started> {
    const { transports, config, clock } = this.#o;
    const peerPort = this.#peerPort, clientPort = this.#clientPort;
    const link = this.#link;
    const peer = await transports.peer(link?.receive ?? ((bytes, from) => peerPort.onDatagram(bytes, from)));
    const group = transports.multicast && await transports.multicast(link?.receiveGroup ?? ((bytes, from) => peerPort.onDatagram(bytes, from)));
    link?.start(peer, group || undefined);
    if (link) peerPort.start(link.out, group ? link.groupOut : undefined);
    else peerPort.start(peer, group || undefined);
    const vectors = await this.#hearPeers();
    const choice = chooseOrigin({ id: config.id, ...this.#facts, peers: vectors, allPeersHeard: vectors.length === this.#peers.size, newCluster: config.newCluster, now: clock.now() });
    this.store.setOrigin(choice.origin);
    if (choice.reason) {
      this.#o.log(`writing as the new incarnation ${choice.origin}: ${choice.reason}`, { event: "incarnation", fields: { origin: choice.origin, reason: choice.reason } });
    }
    const udp = replyThrough("");
    const intake = this.#intake(udp);
    const client = udp.bind(await transports.client((bytes, from) => intake.receive(bytes, from)));
    const view: NodeView = { metrics: this.metrics, gauges: () => this.gauges() };
    const web = await transports.web?.((bytes, from, via) => clientPort.onDatagram(bytes, from, via), view);
    if (web) this.#closers.push(() => web.close());
    const irc = await transports.irc?.((bytes, from, via) => clientPort.onDatagram(bytes, from, via), this.#ircHooks());
    if (irc) this.#closers.push(() => irc.close());
    return { ...choice, peer: peer.address, client: client.address, web: web?.origin, irc: irc?.origin };
  }

  #ircHooks(): IrcHooks {
    const { store, clock, config } = this.#o;
    const positions = new ReadPositions(store.db);
    const told = (id: string) => this.#peerPort.replicator.status(clock.now()).peers.find((p) => p.id === id && p.told)?.vector ?? null;
    return {
      onRooms: (fn) => {
        this.commit.subscribe((c) => c.rooms.size > 0 && fn(c.rooms));
        this.commit.onShown((d) => d.rooms.size > 0 && fn(d.rooms));
      },
      readPosition: (userName, token) => readPosition(positions.previous(nameKey(userName), sessionId(token)), { self: config.id, own: store.vector(), peer: told }),
    };
  }

  /** What stands between the UDP client socket and the client port: the encrypted transport, plaintext only when allowed. */
  #intake(udp: ClientChannel): SecureIntake {
    const { clock, random, secure } = this.#o;
    const key = secure?.staticKey ?? null;
    const transport = key === null ? null : new ServerTransport({ staticKey: key, random, newKeyPair: generateKeyPair, now: clock.now(), handshakesPerSecond: secure?.handshakesPerSecond });
    return new SecureIntake({ transport, allowPlaintext: secure?.allowPlaintext ?? true, port: this.#clientPort, plain: udp, raw: { send: (b, to) => udp.send(b, to, "") }, clock });
  }

  /** Waits on the node's clock until every peer has told its vector, or PEER_WAIT_MS passed; the vectors told. */
  async #hearPeers(): Promise<Vector[]> {
    const { clock, config } = this.#o;
    const told = () => this.#peerPort.replicator.status(clock.now()).peers.filter((p) => p.told);
    const wait = this.#peers.size > 0 && !(config.newCluster && this.#facts.stored === null);
    for (const until = clock.now() + PEER_WAIT_MS; wait && told().length < this.#peers.size && clock.now() < until;) {
      await new Promise<void>((resolve) => clock.after(20, resolve));
    }
    return told().map((p) => p.vector);
  }

  /** Stops the timers and closes the store (the transports' openers close the transports). */
  async close(): Promise<void> {
    this.#stopHousekeeping();
    this.#peerPort.stop();
    this.#clientPort.close();
    for (const c of this.#closers) await c();
    await this.#o.checkpointer?.stop();
    this.commit.close();
  }
}

/** The disk's gauges: below the floor (0/1), and bytes free when the node can tell. */
function diskGauges(o: Pick<ServerNodeOptions, "diskLow" | "diskFree">): Gauge[] {
  const low: Gauge = { name: "distchat_disk_low", help: "1 while the database's disk is below --min-free-mb (writes refused).", values: [[{}, o.diskLow?.() ? 1 : 0]] };
  let free: number | null = null;
  try {
    free = o.diskFree?.() ?? null;
  } catch { /* cannot tell: no sample */ }
  return free === null ? [low] : [low, { name: "distchat_disk_free_bytes", help: "Bytes free on the database's file system.", values: [[{}, free]] }];
}

/**
 * A client channel that replies through a transport opened after it (a
 * socket and its callback need each other: the callback is made first, and
 * nothing arrives before the socket is open and bound here).
 */
function replyThrough(name: string): ClientChannel & { bind(t: Sender): Sender } {
  let transport: Sender | null = null;
  return {
    name,
    proven: false,
    send: (bytes, to) => transport?.send(bytes, to),
    bind: (t) => (transport = t),
  };
}

/** Builds a server node; nothing is opened until `start`. */
export function createServerNode(o: ServerNodeOptions): ServerNode {
  return new ServerNode(o);
}
