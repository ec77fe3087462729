/**
 * The one place that picks and configures a datagram transport:
 * `Deno.listenDatagram` under Deno when the unstable `net` API is on
 * (deno.json enables it), `node:dgram` otherwise — under Deno, node:dgram
 * loses datagrams above a much lower rate (BENCHMARKS.md, "Limits") — and
 * the socket buffer sizes a server asks for.
 *
 * @example
 * ```ts
 * const t = await bindTransport({ host: "127.0.0.1", port: 0 }, (bytes, from) => {});
 * console.log(t.kind); // "deno" or "node:dgram"
 * await t.close();
 * ```
 */
import { runtimeName } from "../platform/runtime.ts";
import type { Address } from "../wire/address.ts";
import type { OnDatagram, Transport, UdpOptions } from "../wire/transport.ts";
import { bindUdp } from "./udp_node.ts";

/** Which implementation a transport uses. */
export type TransportKind = "deno" | "node:dgram";

/** A transport that says which implementation it is (for logs and benchmarks). */
export type NamedTransport = Transport & { readonly kind: TransportKind };

/**
 * Socket buffers of a server's sockets: 4 MiB each way. The OS default of
 * ~212 KB drops a burst of ~270 small datagrams while the server is busy
 * (e.g. 1,000 long polls re-armed at once after a fan-out).
 */
export const SERVER_BUFFERS = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 } as const;

/**
 * Binds the fastest UDP transport this runtime offers; rejects with the OS
 * error (e.g. EADDRINUSE). A Deno.listenDatagram socket gets SERVER_BUFFERS
 * unless `options` say otherwise.
 */
export async function bindTransport(at: Address, onDatagram: OnDatagram, options: UdpOptions = {}): Promise<NamedTransport> {
  if (runtimeName() === "deno") {
    const deno = await import("./udp_deno.ts");
    if (deno.denoDatagramsAvailable()) {
      return named(await deno.bindDenoUdp(at, onDatagram, { ...SERVER_BUFFERS, ...options }), "deno");
    }
  }
  return named(await bindUdp(at, onDatagram, options), "node:dgram");
}

/**
 * Binds a server socket (client port, peer port, multicast group) with
 * SERVER_BUFFERS: Deno.listenDatagram under Deno unless it joins a group,
 * node:dgram otherwise — without the buffers when the OS refuses them, but
 * never past a bind error (address in use, not allowed, not available).
 */
export async function bindServerTransport(at: Address, onDatagram: OnDatagram, multicastGroup?: string): Promise<NamedTransport> {
  if (runtimeName() === "deno" && !multicastGroup) return await bindTransport(at, onDatagram);
  const extra: UdpOptions = multicastGroup ? { multicastGroup } : {};
  try {
    return named(await bindUdp(at, onDatagram, { ...SERVER_BUFFERS, ...extra }), "node:dgram");
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") throw e;
    return named(await bindUdp(at, onDatagram, extra), "node:dgram");
  }
}

/** Adds the kind, and counts (never throws) a send that fails at once, e.g. after close. */
function named(t: Transport, kind: TransportKind): NamedTransport {
  let thrown = 0;
  return {
    kind,
    address: t.address,
    send(bytes, to) {
      try {
        t.send(bytes, to);
      } catch {
        thrown++;
      }
    },
    get sendErrors() {
      return t.sendErrors + thrown;
    },
    close: () => t.close(),
  };
}
