/**
 * The `Transport` of lib/udp.ts on Deno's own datagram API
 * (`Deno.listenDatagram`), which takes several times more datagrams per
 * second than Deno's `node:dgram` (BENCHMARKS.md, "Limits"). Needs the
 * unstable `net` API: `"unstable": ["net"]` in deno.json or `--unstable-net`.
 * Never imported under Node: lib/transport.ts loads it dynamically.
 *
 * @example
 * ```ts
 * if (denoDatagramsAvailable()) {
 *   const t = await bindDenoUdp({ host: "127.0.0.1", port: 0 }, (bytes, from) => {});
 *   await t.close();
 * }
 * ```
 */
import type { Address, OnDatagram, Transport, UdpOptions } from "./udp.ts";

type NetAddr = { transport: "udp"; hostname: string; port: number };
type Membership = { setLoopback(loopback: boolean): Promise<void>; leave(): Promise<void> };
type DatagramConn = {
  readonly addr: NetAddr;
  receive(into?: Uint8Array): Promise<[Uint8Array, NetAddr]>;
  send(bytes: Uint8Array, to: NetAddr): Promise<number>;
  joinMulticastV4(group: string, networkInterface: string): Promise<Membership>;
  close(): void;
};
type ListenOptions = { transport: "udp"; hostname: string; port: number; reuseAddress?: boolean; loopback?: boolean };
type DenoNet = { listenDatagram?: (options: ListenOptions) => DatagramConn };

const deno = (globalThis as unknown as { Deno?: DenoNet }).Deno;

/** Largest UDP payload; one receive buffer of this size is reused. */
const MAX_DATAGRAM = 65_536;

/** Whether `Deno.listenDatagram` is there (Deno with the unstable `net` API). */
export function denoDatagramsAvailable(): boolean {
  return typeof deno?.listenDatagram === "function";
}

/**
 * Binds a UDP socket with `Deno.listenDatagram`; rejects with the OS error
 * (e.g. AddrInUse) when it cannot. `recvBufferSize` and `sendBufferSize` are
 * not offered by this API and are ignored (the OS defaults apply).
 */
export async function bindDenoUdp(at: Address, onDatagram: OnDatagram, options: UdpOptions = {}): Promise<Transport> {
  const listen = deno?.listenDatagram;
  if (!listen) throw new TypeError("Deno.listenDatagram is not available: run deno with --unstable-net");
  const conn = listen({
    transport: "udp",
    hostname: at.host,
    port: at.port,
    reuseAddress: !!options.multicastGroup,
    loopback: !!options.multicastGroup,
  });
  if (options.multicastGroup) {
    try {
      const membership = await conn.joinMulticastV4(options.multicastGroup, at.host === "0.0.0.0" ? "0.0.0.0" : at.host);
      await membership.setLoopback(true);
    } catch (e) {
      conn.close();
      throw e;
    }
  }
  let sendErrors = 0;
  let closed = false;
  const receiving = (async () => {
    const buffer = new Uint8Array(MAX_DATAGRAM);
    while (!closed) {
      let got: [Uint8Array, NetAddr];
      try {
        got = await conn.receive(buffer);
      } catch {
        // Closed (the loop ends), or a socket error: do not spin on it.
        if (!closed) await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      // The bytes are a view of the shared buffer: hand out a copy.
      onDatagram(got[0].slice(), { host: got[1].hostname, port: got[1].port });
    }
  })();
  const failed = () => {
    sendErrors++;
  };
  return {
    address: { host: conn.addr.hostname, port: conn.addr.port },
    send(bytes, to) {
      conn.send(bytes, { transport: "udp", hostname: to.host, port: to.port }).catch(failed);
    },
    get sendErrors() {
      return sendErrors;
    },
    async close() {
      if (closed) return;
      closed = true;
      conn.close();
      await receiving;
    },
  };
}
