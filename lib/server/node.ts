/**
 * A DistChat server, assembled from parts (docs/ARCHITECTURE.md "The
 * picture"): given a store, a clock, randomness, its config and how to
 * open its transports, `createServerNode` builds the group commit, the
 * peer liveness table and the ack gate (lib/acks/), the handlers
 * (lib/handlers/), the client and peer ports and the housekeeping; `start`
 * opens the peer transport and the client transports (reads only), waits
 * (on the node's clock) to hear the peers, then chooses the origin it writes
 * under (lib/rules/incarnation.ts) and takes writes. It never opens a socket or a file itself: server.ts
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
import { noteKnownServers } from "../store/known_servers.ts";
import { countVisibleChanges } from "../store/visible_changes.ts";
import { chooseOrigin, type OriginChoice } from "../rules/incarnation.ts";
import type { MembershipChange } from "../rules/membership.ts";
import type { ServersFile } from "../config/servers_file.ts";
import { readPosition } from "../rules/read_position.ts";
import { sessionId } from "../rules/session_id.ts";
import { nameKey } from "../wire/names.ts";
import { ReadPositions } from "../store/read_positions.ts";
import { createPeerAuth, createStatAuth } from "../replication/peer_auth.ts";
import { createPeerVersions, LEAVE_REASON_VERSION, type PeerVersions } from "../replication/peer_versions.ts";
import { LIVENESS, PeerLiveness } from "../acks/liveness.ts";
import { Ring } from "../acks/ring.ts";
import { type HandlerDeps, handlerDeps } from "../handlers/index.ts";
import type { NodeConfig } from "../config/node_config.ts";
import { ServerTransport } from "../secure/server_transport.ts";
import { generateKeyPair, type KeyPair } from "../secure/suite.ts";
import { AckGate } from "./ack_gate.ts";
import { Answers } from "./answers.ts";
import { type ClientChannel, replyThrough } from "./channel.ts";
import { ClientPort } from "./client_port.ts";
import { type Clock, laggingClock } from "./clock.ts";
import { GroupCommit } from "./commit.ts";
import { UNHEARD_ORIGINS } from "./held_polls.ts";
import { startHousekeeping } from "./housekeeping.ts";
import { type Gauge, guessGauges, ServerMetrics, statusGauges } from "./metrics.ts";
import { Members, type MemberState, reloadServers, watchRetire, type WatchOptions } from "./members.ts";
import { hearPeers, watchCatchUp } from "./catch_up.ts";
import { startingStore } from "./starting_store.ts";
import { PeerPort } from "./peer_port.ts";
import { PresenceBoard, type PresenceNote } from "../rules/presence.ts";
import { Quotas } from "./quotas.ts";
import { SecureIntake } from "./secure_intake.ts";
import { peerLinksEncrypted, type SecurePeers, securePeers } from "./secure_peers.ts";
import type { StatusReport } from "./status.ts";
import type { Log } from "../config/log.ts";

export { PEER_WAIT_MS } from "./catch_up.ts";

export type { Deliver, IrcHooks, NodeTransports, NodeView, Open, Sender } from "./node_types.ts";
import type { IrcHooks, NodeTransports, NodeView, Sender } from "./node_types.ts";

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
  /** The peer protocol version this node speaks (tests of a cluster being upgraded); default PEER_PROTOCOL_VERSION. */
  peerProtocol?: number;
  /** The database failed: the node stops writing; this must stop the process (default: throw). */
  onFatal?(problem: string): void;
};

/** Where a starting node listens, as soon as its client transports are open (reads only until its origin is chosen). */
export type Listening = { peer?: Address; client?: Address; web?: string; irc?: string };

/** What `start` did: the origin chosen (and why a new incarnation), where the transports listen, and its membership state then ("rejoining": restarted, no writes until caught up). */
export type Started = OriginChoice & Listening & { state?: MemberState };

/** A server node (see the file comment); `createServerNode` builds one. */
export class ServerNode {
  readonly store: Store;
  readonly commit: GroupCommit;
  /** Counters of requests, errors and acks (for /metrics). */
  readonly metrics = new ServerMetrics();
  /** Who is typing or away (lib/rules/presence.ts): in memory only. */
  readonly presence = new PresenceBoard();
  /** Who hears each presence note besides the board (the IRC listener: away-notify, typing). */
  #presenceHeard: ((note: PresenceNote) => void)[] = [];
  #o: ServerNodeOptions;
  /** Who is in the cluster now, and this server's own state (lib/server/members.ts). */
  readonly members: Members;
  /** What the database says of its own origin, read before peers send anything. */
  #facts: Pick<Parameters<typeof chooseOrigin>[0], "stored" | "local" | "hwm" | "backup">;
  #gate: AckGate | undefined;
  #desk: HandlerDeps["desk"];
  #clientPort: ClientPort;
  #peerPort: PeerPort;
  /** The peer links' encrypted transport, or null: plaintext peer datagrams (HMAC only). */
  #link: SecurePeers | null = null;
  /** The peers' protocol versions, shared by the peer port's authenticator and the links' (lib/server/secure_peers.ts). */
  readonly #versions: PeerVersions;
  #stopHousekeeping: () => void;
  #closers: (() => Promise<void>)[] = [];

  constructor(o: ServerNodeOptions) {
    const { store, clock, config } = o;
    this.#o = o;
    this.#versions = createPeerVersions(o.peerProtocol);
    this.store = store;
    // Retired servers' ops are history: valid for good (docs/ARCHITECTURE.md "Membership changes").
    const known = noteKnownServers(store.db, [...config.servers.map((s) => s.id), ...config.retired ?? []]);
    // A restart on a database that holds state takes no writes until caught up (docs/ARCHITECTURE.md "A confirmer that dies").
    const held = store.storedOrigin() !== null;
    // No writes until `start` has chosen the origin (the client transports open before: docs/ARCHITECTURE.md "Incarnations").
    const members = this.members = new Members({ self: config.id, servers: config.servers, known, joining: (config.join ?? false) && !held, rejoining: config.twoDisk && held, starting: true });
    const junk = store.dropForeignOrigins(members.isOrigin);
    if (junk > 0) o.log(`removed ${junk} op(s) of origins that are not servers of the servers file`);
    store.sessions.loadLive(clock.now());
    this.#facts = { stored: store.storedOrigin(), local: store.vector(), hwm: store.readHighWater(), backup: readBackupMark(store.db) };
    this.commit = new GroupCommit({ store, clock, checkDatabase: o.checkDatabase, onFatal: o.onFatal });
    // Text deleted by a commit (retention) leaves the write-ahead log too (lib/store/scrub.ts).
    if (o.checkpointer) this.commit.subscribe(() => void (store.erasures.take() && o.checkpointer!.scrub()));
    const liveness = new PeerLiveness();
    const ring = new Ring(members.ids, config.id);
    this.#gate = config.twoDisk
      ? new AckGate({ self: config.id, store, commit: this.commit, clock, liveness, isServer: members.isServer, holdMs: config.holdAcksMs, visibleChanges: countVisibleChanges(store.db) })
      : undefined;
    const confirmer = config.twoDisk ? () => this.#peerPort.ring.confirmer(liveness, clock.now()) : undefined;
    const handlers = handlerDeps({
      store: startingStore(store, () => members.starting ? members.writesRefused() : null), random: o.random, sessionTtl: config.sessionTtl, secret: o.clusterKey ?? undefined, confirmer,
      // Typing and away: in memory, passed to peers in `pres` datagrams (docs/PROTOCOL.md "Typing and away").
      members: () => this.members.listing(),
      leaveReasons: () => this.#versions.shared(this.members.peers.keys()) >= LEAVE_REASON_VERSION,
      presence: this.presence, presenceSaid: (note) => (this.#peerPort.sayPresence(note), this.#presenceHeard.forEach((fn) => fn(note))),
    });
    this.#desk = handlers.desk;
    // Chat time: this server's clock, set back by how far it runs ahead of its slowest peer (docs/ARCHITECTURE.md "Time").
    const chatClock = laggingClock(clock, () => liveness.clockLead);
    const sessionLive = (id: string, now: number) => store.sessions.isLiveId(id, now);
    const quotas = config.quotas === null ? undefined : new Quotas(config.quotas, sessionLive);
    this.#clientPort = this.#makeClientPort(handlers, chatClock, quotas);
    this.#peerPort = this.#makePeerPort(ring, liveness, () => chatClock.now());
    this.#link = securePeers({ ...o, self: config.id, peers: this.members.peers, multicast: config.multicast, port: this.#peerPort, versions: this.#versions });
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
      indexLater: () => this.members.catchingUp,
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
      cursorSlack: UNHEARD_ORIGINS + this.members.known.size,
      diskLow: this.#o.diskLow,
      writesRefused: () => this.members.writesRefused(),
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
      peers: this.members.peers,
      // Encrypted links authenticate and number every datagram: their text carries no nonce or mac.
      auth: createPeerAuth({ key: peerLinksEncrypted(this.#o.secure, this.members.peers.size) ? null : key, peers: this.members.peers.keys(), now, random, versions: this.#versions }),
      isOrigin: this.members.isOrigin,
      sendsGots: () => this.members.sendsGots,
      statAuth: createStatAuth({ key, peers: "any", now, random, maxNonces: 1000 }),
      multicast: config.multicast,
      localStatus: () => ({ heldPolls: this.heldPolls, heldAcks: this.heldAcks, membership: this.members.described, members: this.members.ids, links: this.#link?.counts }),
      ring,
      liveness,
      twoDisk: config.twoDisk,
      onGot: gate && (() => {
        gate.noteGot();
        // Held-back rooms are read again now when no batch is open, else after its commit.
        if (store.settling.waiting && !this.commit.busy) this.#clientPort.wakeRooms(store.settling.take());
      }),
      onPresence: (notes) => notes.forEach((n) => (this.presence.set(n.rooms, n.userName, n.state, chatNow(), n.ttlMs), this.#presenceHeard.forEach((fn) => fn(n)))),
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
   * Opens the peer transport (and the multicast group's), then the client
   * transports — reads, polls and catch-up are served from then on, and
   * `listening` is told where — waits on the node's clock to hear the peers,
   * and chooses the origin to write under (lib/rules/incarnation.ts: ask the
   * peers what they have of ours first); no write is taken before.
   */
  async start(listening?: (at: Listening) => void): Promise<Started> {
    const { transports, config, clock } = this.#o;
    const peerPort = this.#peerPort;
    const link = this.#link;
    const peer = await transports.peer(link?.receive ?? ((bytes, from) => peerPort.onDatagram(bytes, from)));
    const group = transports.multicast && await transports.multicast(link?.receiveGroup ?? ((bytes, from) => peerPort.onDatagram(bytes, from)));
    link?.start(peer, group || undefined);
    if (link) peerPort.start(link.out, group ? link.groupOut : undefined);
    else peerPort.start(peer, group || undefined);
    const at = { peer: peer.address, ...await this.#openClients() };
    listening?.(at);
    const vectors = await hearPeers({ clock, told: this.#told, peers: this.members.peers.size, wait: !(config.newCluster && this.#facts.stored === null) });
    const choice = chooseOrigin({ id: config.id, ...this.#facts, peers: vectors, allPeersHeard: vectors.length === this.members.peers.size, newCluster: config.newCluster, now: clock.now() });
    this.store.setOrigin(choice.origin);
    this.members.originChosen();
    if (choice.reason) {
      this.#o.log(`writing as the new incarnation ${choice.origin}: ${choice.reason}`, { event: "incarnation", fields: { origin: choice.origin, reason: choice.reason } });
    }
    this.#watch(watchCatchUp);
    return { ...choice, ...at, state: this.members.state };
  }

  /** Opens the client transports: UDP (through the encrypted intake), the web listener and IRC when configured. */
  async #openClients(): Promise<Omit<Listening, "peer">> {
    const { transports } = this.#o;
    const clientPort = this.#clientPort;
    const udp = replyThrough<Sender>("");
    const intake = this.#intake(udp);
    const client = udp.bind(await transports.client((bytes, from) => intake.receive(bytes, from)));
    const view: NodeView = { metrics: this.metrics, gauges: () => this.gauges() };
    const web = await transports.web?.((bytes, from, via) => clientPort.onDatagram(bytes, from, via), view);
    if (web) this.#closers.push(() => web.close());
    const irc = await transports.irc?.((bytes, from, via) => clientPort.onDatagram(bytes, from, via), this.#ircHooks());
    if (irc) this.#closers.push(() => irc.close());
    return { client: client.address, web: web?.origin, irc: irc?.origin };
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
      onPresence: (fn) => this.#presenceHeard.push(fn),
      online: (userName) => store.sessions.liveHolder(userName, clock.now())?.user ?? null,
      onSessions: (fn) => this.commit.subscribe((c) => {
        const names = c.localOps.flatMap((op) => (op.kind === "login" ? [op.userName] : op.kind === "logout" ? [store.session(op.session)?.user ?? ""] : []));
        if (names.length > 0) fn(names.filter((n) => n !== ""));
      }),
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

  /** The peers that have told their vectors since start (the start's wait and the membership watches read them). */
  #told = () => this.#peerPort.replicator.status(this.#o.clock.now()).peers.filter((p) => p.told);

  /** Runs a membership watch (lib/server/catch_up.ts, members.ts) until it is done or the node closes. */
  #watch(w: (o: WatchOptions) => () => void): void {
    const { clock, log } = this.#o;
    const live = (peer: string) => this.#peerPort.liveness.silentFor(peer, clock.now()) < LIVENESS.confirmerDownMs;
    const stop = w({ members: this.members, clock, log, told: this.#told, mine: () => this.store.vector(), live });
    this.#closers.push(async () => stop());
  }

  /** Applies a reread servers file when lib/rules/membership.ts allows the change; else nothing changes and the refusal says why. */
  reload(file: ServersFile): MembershipChange {
    const { clock, store } = this.#o;
    const now = clock.now();
    const liveness = this.#peerPort.liveness;
    const change = this.members.reload(file.servers, file.retired, (id) => now - (liveness.heardAt(id) ?? -Infinity));
    if (!change.ok) return change;
    noteKnownServers(store.db, this.members.known);
    this.#peerPort.setRing(new Ring(this.members.ids, this.members.self));
    this.#link?.addPeers(file.servers, now);
    if (change.retiring) this.#watch(watchRetire);
    return change;
  }

  /** SIGHUP: rereads the servers file `path` and applies its change (and to GET /servers.json through `web`), or logs why not. */
  reloadFile = (path: string, web: Parameters<typeof reloadServers>[2], log: Log): void => reloadServers(path, this, web, log);

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

/** Builds a server node; nothing is opened until `start`. */
export function createServerNode(o: ServerNodeOptions): ServerNode {
  return new ServerNode(o);
}
