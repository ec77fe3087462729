/**
 * How the client port sees a transport (docs/ARCHITECTURE.md "The
 * picture"): client datagrams come in on a channel, and every reply goes
 * back through the channel its request came from — a UDP socket, the web
 * listener's WebSocket or HTTP transport (lib/web/), or an in-memory
 * network in tests. A channel's addresses are its own: two channels may
 * both have a `127.0.0.1:5`, so the port keys what it keeps per source by
 * `sourceKey` (the channel's name and the address).
 *
 * @example
 * ```ts
 * const udp: ClientChannel = { name: "", proven: false, send: (bytes, to) => socket.send(bytes, to) };
 * port.onDatagram(bytes, from, udp);
 * sourceKey(udp, from); // "127.0.0.1:5000"
 * ```
 */
import type { Address } from "../wire/address.ts";
import { formatAddress } from "../wire/address.ts";

/** A transport as the client port sees it. */
export type ClientChannel = {
  /** "" for UDP (its addresses are keyed as they are); a short name for any other ("ws", "http"). */
  readonly name: string;
  /** Its sources proved they receive what is sent to them (a TCP handshake): their replies are not budgeted. */
  readonly proven: boolean;
  /** Sends one reply datagram to `to`, one of this channel's addresses; `tag` is the tag of the request it answers. */
  send(bytes: Uint8Array, to: Address, tag: string): void;
};

/** The key of a source in the port's tables (budgets, retransmissions, refusals): its channel's name and its address. */
export function sourceKey(via: Pick<ClientChannel, "name">, from: Address): string {
  return via.name === "" ? formatAddress(from) : `${via.name} ${formatAddress(from)}`;
}

/**
 * A client channel that replies through a transport opened after it (a
 * socket and its callback need each other: the callback is made first, and
 * nothing arrives before the socket is open and bound here).
 */
export function replyThrough<T extends { send(bytes: Uint8Array, to: Address): void }>(name: string): ClientChannel & { bind(t: T): T } {
  let transport: T | null = null;
  return {
    name,
    proven: false,
    send: (bytes, to) => transport?.send(bytes, to),
    bind: (t) => (transport = t),
  };
}
