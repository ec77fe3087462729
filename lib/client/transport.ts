/**
 * How the client core reaches servers: the small `ClientTransport` interface
 * (one datagram out to a server, datagrams in from servers). The core
 * (lib/client/connection.ts) does tags, retransmission and failover on top
 * of it, the same over every transport:
 *
 * - lib/client/udp_transport.ts — UDP (node:dgram; the terminal client);
 * - lib/client/web_transport.ts — a WebSocket per server (`/ws`), falling
 *   back to `POST /dc` (docs/PROTOCOL.md "Web transport"; the web page, or
 *   any runtime with WebSocket and fetch).
 *
 * Tests put an in-memory network behind it.
 *
 * @example
 * ```ts
 * const conn = await Connection.open({ servers, transport: webTransport() });
 * ```
 */
import type { Address } from "../wire/address.ts";

/** A server as the client knows it: its id, how to reach it (UDP address and/or web URL), and its static public key when known (servers.txt key=, or a `servers` reply). */
export type ServerRef = { id: string; client?: Address; web?: string; publicKey?: Uint8Array };

/** What a transport tells the connection. */
export type TransportEvents = {
  /** A datagram from `from`. */
  datagram(bytes: Uint8Array, from: ServerRef): void;
  /** `from` answered without a datagram (HTTP 204: a long poll it held to the end): it is alive. */
  alive?(from: ServerRef): void;
  /** `server` cannot be reached now (connection refused, reset or closed): no use waiting for its answers. */
  unreachable?(server: ServerRef): void;
};

export interface ClientTransport {
  /** Sends one request datagram to `to`; losses are the connection's business (it resends). Never throws. */
  send(bytes: Uint8Array, to: ServerRef): void;
  /** How `to` is reached now: "udp", "websocket" or "http". */
  via(to: ServerRef): string;
  /** Stops: no more events. */
  close(): Promise<void>;
}

/**
 * Opens a transport to `servers` that reports to `events`; events name a
 * server by the very ServerRef object of `servers`.
 */
export type OpenTransport = (servers: readonly ServerRef[], events: TransportEvents) => Promise<ClientTransport>;
