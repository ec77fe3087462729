/**
 * Links the benchmarks can cut: a TCP proxy (between two IRC servers) and
 * testing/udp_proxy.ts (in front of a DistChat server's peer port). A netsplit scenario
 * (bench/_scenarios.ts) only sees `Link`: `cut()` drops everything that
 * crosses, `restore()` lets traffic through again.
 *
 * @example
 * ```ts
 * const link = await tcpProxy({ host: "127.0.0.1", port: 6667 });
 * // configure the peer to connect to link.address instead
 * link.cut(); link.restore(); await link.close();
 * ```
 */
import net from "node:net";
import type { Address } from "../lib/wire/address.ts";
import type { UdpProxy } from "../testing/udp_proxy.ts";

export type Link = {
  /** Where the proxy listens: give this address to the peer instead of the target. */
  readonly address: Address;
  /** Drops the link: open connections are reset, datagrams dropped, until `restore`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
};

const LOOPBACK = "127.0.0.1";

/** TCP proxy to `target`; while cut, connections are reset and new ones refused at once. */
export function tcpProxy(target: Address): Promise<Link> {
  const open = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((inbound) => {
    if (cut) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect(target.port, target.host);
    inbound.setNoDelay(true);
    outbound.setNoDelay(true);
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        open.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        address: { host: LOOPBACK, port },
        cut() {
          cut = true;
          for (const s of open) s.resetAndDestroy();
        },
        restore() {
          cut = false;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of open) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * A DistChat peer link as a `Link`: testing/udp_proxy.ts (seeded faults, `cut`
 * / `heal`) in front of a server's peer port. To split one server off, list
 * proxies as the peer addresses on both sides and cut them all with `allOf`.
 */
export function udpLink(proxy: UdpProxy): Link {
  return {
    address: proxy.address,
    cut: () => proxy.cut(),
    restore: () => proxy.heal(),
    close: () => proxy.close(),
  };
}

/** One `Link` that cuts and restores several at once (e.g. every proxy around one server). */
export function allOf(links: Link[]): Link {
  return {
    address: links[0].address,
    cut: () => links.forEach((l) => l.cut()),
    restore: () => links.forEach((l) => l.restore()),
    close: async () => {
      await Promise.all(links.map((l) => l.close()));
    },
  };
}
