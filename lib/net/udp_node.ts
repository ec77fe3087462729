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
import dns from "node:dns";
import { isIP } from "node:net";
import type { Address } from "../wire/address.ts";
import type { OnDatagram, Transport, UdpOptions } from "../wire/transport.ts";

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * node:dgram's address lookup, answering an IP address at once. node:dgram
 * looks up every destination before it sends, and `dns.lookup` answers even
 * an IP address on `process.nextTick`: a datagram sent during a callback
 * then left only when the callback returned (a poll reply after the rest of
 * a commit's work; docs/PERFORMANCE_NOTES.md section 1, cause 1). Answered
 * here synchronously, the datagram leaves within `send()`, one tick fewer
 * per datagram. A name still goes to `dns.lookup`.
 */
export function lookupAtOnce(host: string, family: number | dns.LookupOneOptions, callback: LookupCallback): void {
  const f = isIP(host);
  if (f !== 0) callback(null, host, f);
  else dns.lookup(host, typeof family === "number" ? { family } : family, callback);
}

/** Binds a UDP socket; rejects with the OS error (e.g. EADDRINUSE) when it cannot. */
export function bindUdp(at: Address, onDatagram: OnDatagram, options: UdpOptions = {}): Promise<Transport> {
  const socket = dgram.createSocket({
    type: at.host.includes(":") ? "udp6" : "udp4",
    reuseAddr: !!options.multicastGroup,
    lookup: lookupAtOnce as dgram.SocketOptions["lookup"],
  });
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
