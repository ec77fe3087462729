/**
 * The types a server node (lib/server/node.ts) is built from and offers:
 * how it opens its transports, where other client transports deliver, and
 * what the IRC listener asks of it.
 */
import type { Address } from "../wire/address.ts";
import type { Vector } from "../wire/vector.ts";
import type { PresenceNote } from "../rules/presence.ts";
import type { ClientChannel } from "./channel.ts";
import type { Gauge, ServerMetrics } from "./metrics.ts";

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
  /** Subscribes `fn` to every typing or away state said here or passed on by a peer (docs/PROTOCOL.md "Typing and away"). */
  onPresence?(fn: (note: PresenceNote) => void): void;
  /** The name of the live session holding `userName` (anywhere in the cluster, as this server knows), or null (MONITOR). */
  online?(userName: string): string | null;
  /** Subscribes `fn` to the user names of the sessions each commit logged in or out here (MONITOR looks at them again at once). */
  onSessions?(fn: (userNames: string[]) => void): void;
};

