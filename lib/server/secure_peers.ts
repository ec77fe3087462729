/**
 * The encrypted transport between servers, wired (docs/PEER_PROTOCOL.md
 * "Encrypted transport"): it stands between the peer sockets and the peer
 * port, as lib/server/secure_intake.ts does for clients.
 *
 * - Receiving: every datagram of the peer socket goes through the
 *   PeerTransport (lib/secure/peer_transport.ts); a data datagram's text
 *   goes to the peer port only when its `from` line is the peer whose
 *   session opened it. Group datagrams of the multicast socket are opened
 *   with the sender's group key (lib/secure/group.ts). A plaintext peer
 *   datagram is dropped (`plaintext`), except a `stat` (the status tool's,
 *   checked by the peer port with the cluster key as before). With
 *   --allow-plaintext a plaintext peer datagram is checked as the earlier
 *   release did (the cluster key's HMAC, epochs) and its sender, a peer of
 *   that release during a rolling upgrade, is answered in plaintext while
 *   it has no session (initiations still go, and find it once upgraded).
 * - Sending: the peer port sends through `out`, which seals for the peer
 *   whose servers.txt address it sends to; to any other address — only the
 *   `state` answering a `stat` goes there — it sends as is. Through
 *   `groupOut` a fan-out to every peer is one group datagram when every
 *   peer has a session and holds the group key in use, else one sealed
 *   datagram per peer.
 * - Each new session to a peer gets this server's group key grants first
 *   (a restarted peer has lost them).
 *
 * Drops are counted by reason through `noteDropped` (status `dropped`).
 *
 * @example
 * ```ts
 * const link = new SecurePeers({ transport, group, receiver, peers, clock, port, noteDropped });
 * const peer = await openPeerSocket(link.receive); const g = await openGroupSocket(link.receiveGroup);
 * link.start(peer, g); port.start(link.out, link.groupOut);
 * ```
 */
import { decodeEnvelope } from "../secure/envelope.ts";
import { GroupReceiver, GroupSender } from "../secure/group.ts";
import { DEFAULT_PEER_LIMITS, type PeerReceived, PeerTransport } from "../secure/peer_transport.ts";
import { generateKeyPair, type KeyPair } from "../secure/suite.ts";
import { type Address, formatAddress } from "../wire/address.ts";
import { decodePeer } from "../wire/codec.ts";
import { createPeerAuth, type PeerAuth } from "../replication/peer_auth.ts";
import type { PeerVersions } from "../replication/peer_versions.ts";
import type { Clock } from "./clock.ts";

/** Where bytes are sent: a socket. */
export type Sender = { send(bytes: Uint8Array, to: Address): void };

/** How often expired sessions are swept and the group key's age checked, ms. */
const SWEEP_MS = 1000;
const NL = 0x0a;
const STAT = new TextEncoder().encode("stat\n");
const STATE = new TextEncoder().encode("state\n");

export type SecurePeersOptions = {
  transport: PeerTransport;
  /** This server's group key for multicast fan-out, or null without multicast. */
  group: GroupSender | null;
  receiver: GroupReceiver;
  /** Every other server of servers.txt: id → peer address. */
  peers: ReadonlyMap<string, Address>;
  /** The multicast group, or null. */
  multicast: Address | null;
  clock: Clock;
  /** The peer port: gets the datagrams opened, and is told when a peer opened a new session (`greet`: it answers with a heartbeat). */
  port: { onDatagram(bytes: Uint8Array, from: Address): void; greet?(peer: string): void };
  /** Counts a drop (the replicator's `dropped`). */
  noteDropped(reason: string): void;
  /** Randomness (a new group key when the peers change). */
  random: (n: number) => Uint8Array;
  /**
   * With --allow-plaintext: this server's id and the authenticator of the
   * plaintext peer protocol (the cluster key's HMAC, epochs), for peers of
   * an earlier release during a rolling upgrade; null: plaintext peer
   * datagrams are dropped.
   */
  legacy?: { self: string; auth: PeerAuth } | null;
  /** The peers' protocol versions (lib/replication/peer_versions.ts): forgotten on a new session, so an upgraded peer is asked again. */
  versions?: PeerVersions;
};

/** The peer sockets' encrypted transport, between the sockets and the peer port. */
export class SecurePeers {
  readonly #o: SecurePeersOptions;
  readonly #byAddress = new Map<string, string>();
  readonly #ids: Map<string, Uint8Array>;
  #raw: Sender | null = null;
  /** This server's group key (new when the peers change), or null without multicast. */
  #group: GroupSender | null;
  #groupSocket: Sender | null = null;
  #sweptAt = -Infinity;
  /** Group datagrams sent and opened, and fan-outs sent per peer instead (status `links`). */
  readonly counts = { groupSent: 0, groupFallback: 0, groupOpened: 0 };
  /** Peers that sent authenticated plaintext (an earlier release): answered so while they have no session. */
  readonly #legacyPeers = new Set<string>();
  /** Peers holding the group key in use (its grants sealed on their current session). */
  readonly #granted = new Set<string>();

  constructor(o: SecurePeersOptions) {
    this.#o = o;
    this.#group = o.group;
    for (const [id, a] of o.peers) this.#byAddress.set(formatAddress(a), id);
    this.#ids = new Map([...o.peers.keys()].map((id) => [id, new TextEncoder().encode(`${id}\n`)]));
  }

  /**
   * Servers added to servers.txt while running (a membership reload): each
   * with a `key=` is linked; one without stays unlinked (`no-link`). With
   * multicast, a new group key for the new set of receivers.
   */
  addPeers(servers: readonly { id: string; publicKey?: Uint8Array }[], now: number): void {
    const added = servers.filter((e) => !this.#ids.has(e.id) && e.publicKey !== undefined && this.#o.peers.has(e.id));
    for (const e of added) {
      this.#o.transport.addPeer({ id: e.id, publicKey: e.publicKey! });
      this.#ids.set(e.id, new TextEncoder().encode(`${e.id}\n`));
      this.#byAddress.set(formatAddress(this.#o.peers.get(e.id)!), e.id);
    }
    if (added.length === 0 || this.#group === null) return;
    this.#group = new GroupSender({ peers: [...this.#ids.keys()], random: this.#o.random, now });
    this.#granted.clear();
    for (const peer of this.#ids.keys()) if (this.#o.transport.established(peer, now)) this.#grant(peer, now);
  }

  /** Sends through the peer socket (and the multicast group's). */
  start(raw: Sender, group?: Sender): void {
    this.#raw = raw;
    this.#groupSocket = group ?? null;
  }

  /**
   * What the peer port sends through: sealed for the peer at `to`; a `state`
   * (the answer to a status tool's `stat`) to any other address as is;
   * anything else is dropped (`no-link`): never plaintext to a server.
   */
  readonly out: Sender = {
    send: (bytes, to) => {
      const at = formatAddress(to);
      // The peers map may change (a membership reload): an address not seen at the start is looked up again.
      const peer = this.#byAddress.get(at) ?? [...this.#o.peers].find(([, a]) => formatAddress(a) === at)?.[0];
      if (peer !== undefined) this.#seal(peer, bytes);
      else if (startsWith(bytes, STATE)) this.#raw?.send(bytes, to);
      else this.#o.noteDropped("no-link");
    },
  };

  /** What the peer port multicasts through: one group datagram, or one sealed datagram per peer. */
  readonly groupOut: Sender = {
    send: (bytes) => {
      const { multicast } = this.#o;
      const group = this.#group;
      const now = this.#o.clock.now();
      const ready = group !== null && multicast !== null && this.#groupSocket !== null &&
        [...this.#o.peers.keys()].every((p) => this.#granted.has(p) && this.#o.transport.established(p, now));
      const sealed = ready ? group.seal(bytes, now) : null;
      if (sealed !== null) {
        this.counts.groupSent++;
        this.#groupSocket!.send(sealed, multicast!);
      } else {
        this.counts.groupFallback++;
        for (const peer of this.#o.peers.keys()) this.#seal(peer, bytes);
      }
    },
  };

  /** Handles one datagram of the peer socket. Bound: pass it as a callback. */
  receive = (bytes: Uint8Array, from: Address): void => {
    const now = this.#o.clock.now();
    this.#housekeeping(now);
    if (bytes.length === 0 || bytes[0] >= 0x20) {
      if (startsWith(bytes, STAT)) this.#o.port.onDatagram(bytes, from);
      else if (this.#o.legacy) this.#legacyIn(bytes, from);
      else this.#o.noteDropped("plaintext");
      return;
    }
    const r = this.#o.transport.receive(bytes, formatAddress(from), now);
    this.#answer(r, from);
    if (r.fresh && r.peer !== null) {
      this.#o.versions?.forget(r.peer);
      this.#grant(r.peer, now);
    }
    if (r.kind === "data" && r.peer !== null && r.plaintext !== null) {
      if (!fromLine(r.plaintext, this.#ids.get(r.peer)!)) return this.#o.noteDropped("wrong-sender");
      this.#o.port.onDatagram(r.plaintext, from);
      // A new session (a restarted peer, waiting to hear every peer's vector at its start): our vector now, not at our next heartbeat.
      if (r.fresh) this.#o.port.greet?.(r.peer);
    } else if (r.kind === "grant" && r.peer !== null && r.plaintext !== null) {
      if (!this.#o.receiver.learn(r.peer, r.plaintext, now)) this.#o.noteDropped("bad-grant");
    } else if (r.reason !== null) this.#o.noteDropped(r.reason);
  };

  /** Handles one datagram of the multicast socket. Bound: pass it as a callback. */
  receiveGroup = (bytes: Uint8Array, from: Address): void => {
    const e = decodeEnvelope(bytes);
    if (e.kind !== "group") {
      this.#o.noteDropped(e.kind === "plaintext" ? "plaintext" : "unexpected");
      return;
    }
    // Ours, looped back: ignored, as the peer port ignores its own.
    if (this.#group !== null && e.keyId === this.#group.keyId) return;
    const opened = this.#o.receiver.open(e);
    if (!opened.ok) {
      this.#o.noteDropped(opened.reason);
      return;
    }
    if (fromLine(opened.plaintext, this.#ids.get(opened.peer)!)) {
      this.counts.groupOpened++;
      this.#o.port.onDatagram(opened.plaintext, from);
    } else this.#o.noteDropped("wrong-sender");
  };

  #answer(r: PeerReceived, from: Address): void {
    const to = r.peer === null ? undefined : this.#o.peers.get(r.peer);
    if (to !== undefined) for (const b of r.toPeer) this.#raw?.send(b, to);
    if (r.toSource !== null) this.#raw?.send(r.toSource, from);
  }

  /** A plaintext peer datagram with --allow-plaintext: checked as the earlier release did (HMAC, epochs); its hello or proof answered so. */
  #legacyIn(bytes: Uint8Array, from: Address): void {
    const { auth, self } = this.#o.legacy!;
    const d = decodePeer(bytes);
    if (!d.ok) return this.#o.noteDropped("malformed");
    const peer = d.value.datagram.from;
    const to = this.#o.peers.get(peer);
    if (!this.#ids.has(peer) || to === undefined) return this.#o.noteDropped("unknown-peer");
    const v = auth.verify(d.value);
    if (!v.ok) {
      if (v.answer) this.#raw?.send(auth.seal({ ...v.answer, from: self }), to);
      return v.reason === "handshake" ? undefined : this.#o.noteDropped(v.reason);
    }
    this.#legacyPeers.add(peer);
    this.#o.port.onDatagram(bytes, from);
  }

  #seal(peer: string, bytes: Uint8Array): void {
    // A server this link was not built with (no key known for it): nothing goes, sealed or not.
    if (!this.#ids.has(peer)) return this.#o.noteDropped("no-link");
    const now = this.#o.clock.now();
    const wasUp = this.#o.transport.established(peer, now);
    const to = this.#o.peers.get(peer)!;
    // A peer of an earlier release, no session: plaintext as it reads it; initiations go too (they find an upgraded peer).
    if (!wasUp && this.#legacyPeers.has(peer)) {
      const d = decodePeer(bytes);
      if (d.ok) this.#raw?.send(this.#o.legacy!.auth.seal(d.value.datagram), to);
    }
    for (const b of this.#o.transport.seal(peer, bytes, now)) this.#raw?.send(b, to);
    if (!wasUp) this.#granted.delete(peer);
  }

  /** Seals the group key grants on `peer`'s new session. */
  #grant(peer: string, now: number): void {
    const group = this.#group;
    if (group === null) return;
    const to = this.#o.peers.get(peer)!;
    for (const g of group.grants(peer)) for (const b of this.#o.transport.seal(peer, g, now)) this.#raw?.send(b, to);
    this.#granted.add(peer);
  }

  #housekeeping(now: number): void {
    if (now - this.#sweptAt < SWEEP_MS) return;
    this.#sweptAt = now;
    this.#o.transport.sweep(now);
    if (this.#group?.rotate(now)) {
      this.#granted.clear();
      for (const peer of this.#o.peers.keys()) if (this.#o.transport.established(peer, now)) this.#grant(peer, now);
    }
  }
}

const startsWith = (b: Uint8Array, prefix: Uint8Array) => b.length >= prefix.length && prefix.every((x, i) => b[i] === x);

/** Whether the peer datagram `p`'s second line (its `from`) is `idLine` (the id and a newline). */
function fromLine(p: Uint8Array, idLine: Uint8Array): boolean {
  const at = p.indexOf(NL) + 1;
  if (at === 0 || p.length < at + idLine.length) return false;
  for (let i = 0; i < idLine.length; i++) if (p[at + i] !== idLine[i]) return false;
  return true;
}

/** What the node knows of keys: its own key pair and its peers' public keys (null: one has none). */
export type PeerKeys = { staticKey: KeyPair | null; peerKeys?: ReadonlyMap<string, Uint8Array> | null; allowPlaintext?: boolean } | undefined;

/** Whether peer links are encrypted: this server has a key and so has every one of its `peerCount` peers. */
export function peerLinksEncrypted(keys: PeerKeys, peerCount: number): boolean {
  return peerCount > 0 && keys?.staticKey != null && keys.peerKeys != null && keys.peerKeys.size === peerCount;
}

/** The encrypted peer links of a node, or null when they stay plaintext (peerLinksEncrypted). */
export function securePeers(o: {
  self: string;
  secure?: PeerKeys;
  clusterKey: Uint8Array | null;
  random: (n: number) => Uint8Array;
  clock: Clock;
  peers: ReadonlyMap<string, Address>;
  multicast: Address | null;
  port: SecurePeersOptions["port"] & { replicator: { noteDropped(reason: string): void } };
  versions?: PeerVersions;
}): SecurePeers | null {
  const keys = o.secure;
  if (!peerLinksEncrypted(keys, o.peers.size)) return null;
  const now = o.clock.now();
  const ids = [...o.peers.keys()];
  const transport = new PeerTransport({
    selfId: o.self,
    staticKey: keys!.staticKey!,
    peers: ids.map((id) => ({ id, publicKey: keys!.peerKeys!.get(id)! })),
    clusterKey: o.clusterKey,
    random: o.random,
    newKeyPair: generateKeyPair,
    now,
  });
  const group = o.multicast === null ? null : new GroupSender({ peers: ids, random: o.random, now });
  const receiver = new GroupReceiver({ windowBits: DEFAULT_PEER_LIMITS.windowBits });
  const { port } = o;
  const { versions, random } = o;
  const legacy = keys!.allowPlaintext ? { self: o.self, auth: createPeerAuth({ key: o.clusterKey, peers: ids, now: () => o.clock.now(), random, versions }) } : null;
  return new SecurePeers({ transport, group, receiver, peers: o.peers, multicast: o.multicast, clock: o.clock, port, noteDropped: (r) => port.replicator.noteDropped(r), legacy, versions, random });
}
