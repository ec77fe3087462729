/**
 * Picks the UDP transport for this runtime behind the one `Transport`
 * interface: `Deno.listenDatagram` under Deno when the unstable `net` API is
 * on (deno.json enables it), `node:dgram` otherwise. Under Deno, node:dgram
 * loses datagrams above a much lower rate (BENCHMARKS.md, "Limits").
 *
 * @example
 * ```ts
 * const t = await bindTransport({ host: "127.0.0.1", port: 0 }, (bytes, from) => {});
 * console.log(t.kind); // "deno" or "node:dgram"
 * await t.close();
 * ```
 */
import { runtimeName } from "./runtime.ts";
import { bindUdp } from "./udp.ts";
import type { Address, OnDatagram, Transport, UdpOptions } from "./udp.ts";

/** Which implementation a transport uses. */
export type TransportKind = "deno" | "node:dgram";

/** A transport that says which implementation it is (for logs and benchmarks). */
export type NamedTransport = Transport & { readonly kind: TransportKind };

/**
 * Socket buffers of a Deno.listenDatagram transport unless asked otherwise:
 * 4 MiB, as server.ts asks of node:dgram (the OS default of ~212 KB drops a
 * burst of ~270 small datagrams while the server is busy).
 */
const DENO_BUFFERS = { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 };

/** Binds the fastest UDP transport this runtime offers; rejects like `bindUdp`. */
export async function bindTransport(at: Address, onDatagram: OnDatagram, options: UdpOptions = {}): Promise<NamedTransport> {
  if (runtimeName() === "deno") {
    const deno = await import("./udp_deno.ts");
    if (deno.denoDatagramsAvailable()) {
      return named(await deno.bindDenoUdp(at, onDatagram, { ...DENO_BUFFERS, ...options }), "deno");
    }
  }
  return named(await bindUdp(at, onDatagram, options), "node:dgram");
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
