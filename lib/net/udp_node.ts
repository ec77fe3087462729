/**
 * The `Transport` (lib/wire/transport.ts) on node:dgram, which both Node and
 * Deno provide. lib/net/bind.ts decides when to use it.
 *
 * @example
 * ```ts
 * const t = await bindUdp({ host: "127.0.0.1", port: 0 }, (bytes, from) => {});
 * t.send(new TextEncoder().encode("login\n1\nbob\n"), { host: "127.0.0.1", port: 7001 });
 * await t.close();
 * ```
 */
import dgram from "node:dgram";
import type { Address } from "../wire/address.ts";
import type { OnDatagram, Transport, UdpOptions } from "../wire/transport.ts";

/** Binds a UDP socket; rejects with the OS error (e.g. EADDRINUSE) when it cannot. */
export function bindUdp(at: Address, onDatagram: OnDatagram, options: UdpOptions = {}): Promise<Transport> {
  const socket = dgram.createSocket({ type: at.host.includes(":") ? "udp6" : "udp4", reuseAddr: !!options.multicastGroup });
  let sendErrors = 0;
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(at.port, at.host, () => {
      socket.off("error", reject);
      socket.on("error", () => sendErrors++);
      try {
        if (options.recvBufferSize) socket.setRecvBufferSize(options.recvBufferSize);
        if (options.sendBufferSize) socket.setSendBufferSize(options.sendBufferSize);
        if (options.multicastGroup) {
          socket.addMembership(options.multicastGroup, at.host === "0.0.0.0" ? undefined : at.host);
          socket.setMulticastLoopback(true);
        }
      } catch (e) {
        socket.close();
        reject(e);
        return;
      }
      socket.on("message", (msg, rinfo) => onDatagram(msg, { host: rinfo.address, port: rinfo.port }));
      const bound = socket.address();
      resolve({
        address: { host: bound.address, port: bound.port },
        send(bytes, to) {
          try {
            socket.send(bytes, to.port, to.host, (err) => {
              if (err) sendErrors++;
            });
          } catch {
            sendErrors++; // closed socket or bad address: counted, never thrown
          }
        },
        get sendErrors() {
          return sendErrors;
        },
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}
