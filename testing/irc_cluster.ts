/**
 * A cluster whose servers each have an IRC listener, for black-box IRC
 * tests: started with one disk per ack and no login quota, a UDP client
 * beside it, and one call that ends it all (IRC clients, UDP, servers,
 * temp dirs) even when the test failed.
 *
 * @example
 * ```ts
 * const k = await ircCluster(["a", "b"]);
 * try {
 *   const c = k.keep(await ircClient(k.ports[0]));
 * } finally {
 *   await k.stop();
 * }
 * ```
 */
import { freeTcpPort, makeCluster, removeTempDirs, type ServerHandle, startServer, type UdpClient, udpClient } from "./harness.ts";
import type { Irc } from "./irc_client.ts";

/** The running cluster: its servers and IRC ports in the order of `ids`. */
export type IrcCluster = { servers: ServerHandle[]; ports: number[]; udp: UdpClient; keep(c: Irc): Irc; stop(): Promise<void> };

/** Starts servers `ids`, each with `--irc` on a free loopback port (with `oneDiskAcks: false`, two-disk acks as by default). */
export async function ircCluster(ids: string[], o: { oneDiskAcks?: boolean } = {}): Promise<IrcCluster> {
  const { file } = await makeCluster(ids);
  const ports: number[] = [];
  for (const _ of ids) ports.push(await freeTcpPort());
  const servers: ServerHandle[] = [];
  const clients: Irc[] = [];
  const udp = await udpClient();
  const stop = async () => {
    for (const c of clients) c.end();
    await udp.close();
    for (const s of servers) await s.stop();
    removeTempDirs();
  };
  try {
    for (const [i, id] of ids.entries()) {
      const acks = o.oneDiskAcks === false ? [] : ["--one-disk-acks"];
      servers.push(await startServer({ id, servers: file, extraArgs: ["--quota", "logins-per-ip-minute=0", ...acks, "--irc", `127.0.0.1:${ports[i]}`] }));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { servers, ports, udp, keep: (c) => (clients.push(c), c), stop };
}
