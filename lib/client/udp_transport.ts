/**
 * The ClientTransport (lib/client/transport.ts) over UDP, for the terminal
 * client: one socket, each request a datagram to the server's client address,
 * replies matched to a server by their source address. `bind` opens the
 * socket (lib/net/udp_node.ts in client.ts; tests pass an in-memory network).
 *
 * @example
 * ```ts
 * const conn = await Connection.open({ servers, transport: udpTransport((on) => bindUdp({ host: "127.0.0.1", port: 0 }, on)) });
 * ```
 */
import type { Address } from "../wire/address.ts";
import type { OnDatagram, Transport } from "../wire/transport.ts";
import type { OpenTransport, ServerRef } from "./transport.ts";

const IP_LITERAL = /^(\d+\.\d+\.\d+\.\d+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$/;

/** True when a datagram from `from` may come from `server`'s address. */
function sameAddress(from: Address, server: Address): boolean {
  if (from.port !== server.port) return false;
  // A host name in servers.txt cannot be compared with the sender's address.
  return !IP_LITERAL.test(server.host) || from.host.replace(/^::ffff:/, "") === server.host;
}

/** A UDP transport on the socket `bind` opens. Servers without a client address are never sent to. */
export function udpTransport(bind: (onDatagram: OnDatagram) => Promise<Transport>): OpenTransport {
  return async (servers: readonly ServerRef[], events) => {
    const socket = await bind((bytes, from) => {
      const server = servers.find((s) => s.client !== undefined && sameAddress(from, s.client));
      if (server) events.datagram(bytes, server); // else not from a server of ours
    });
    return {
      send(bytes, to) {
        if (to.client) socket.send(bytes, to.client);
      },
      via: () => "udp",
      close: () => socket.close(),
    };
  };
}
