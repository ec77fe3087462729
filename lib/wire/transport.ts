/**
 * The one datagram `Transport` interface. Implementations: node:dgram
 * (udp_node.ts), Deno.listenDatagram (udp_deno.ts); lib/net/bind.ts picks
 * and configures one. Servers and clients are built on this interface, and
 * tests replace it with an in-memory network or a fault proxy.
 */
import type { Address } from "./address.ts";

export type OnDatagram = (bytes: Uint8Array, from: Address) => void;

export interface Transport {
  /** Where this transport is bound (the real port when 0 was asked for). */
  readonly address: Address;
  /** Sends one datagram; failures are counted, never thrown (UDP may drop anyway). */
  send(bytes: Uint8Array, to: Address): void;
  /** Datagrams that could not be sent. */
  readonly sendErrors: number;
  close(): Promise<void>;
}

export type UdpOptions = {
  /** Join this IPv4 multicast group on the bound port (server network fan-out). */
  multicastGroup?: string;
  /** Socket buffer sizes in bytes; the OS may cap them. */
  recvBufferSize?: number;
  sendBufferSize?: number;
};
