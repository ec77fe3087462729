/**
 * The IRC listener's sockets (docs/IRC.md "The listener"): binds `--irc`
 * (TCP) and `--irc-tls` (TLS) and hands each connection to one
 * IrcTransport (lib/ircd/listener.ts), which does the rest.
 */
import { createServer as createTcp, type Server, type Socket } from "node:net";
import { createServer as createTls } from "node:tls";
import { formatAddress } from "../wire/address.ts";
import type { IrcListenConfig } from "../config/node_config.ts";
import type { NodeTransports } from "../server/node.ts";
import { bindProblem } from "../platform/port_owner.ts";
import { listen } from "../web/listener.ts";
import { type IrcListener, type IrcListenerOptions, IrcTransport } from "./listener.ts";

/** Builds the listener and binds it; rejects with the OS error when it cannot. */
export async function openIrcListener(o: IrcListenerOptions): Promise<IrcListener> {
  const { config } = o;
  const irc = new IrcTransport(o);
  const servers: Server[] = [];
  const close = async (): Promise<void> => {
    irc.close();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };
  const origins: string[] = [];
  try {
    if (config.at) {
      const s = createTcp();
      s.on("connection", (socket: Socket) => (irc.accept(socket), irc.open(socket)));
      servers.push(s);
      origins.push(`irc://${formatAddress({ ...config.at, port: await listen(s, config.at) })}`);
    }
    if (config.tlsAt) {
      if (!o.tls) throw new Error("--irc-tls needs --tls-cert and --tls-key");
      const s = createTls({ cert: o.tls.cert, key: o.tls.key }, (socket) => irc.open(socket));
      // The TCP socket under each TLS one is budgeted before its handshake (the same key: address and port).
      s.on("connection", (socket: Socket) => irc.accept(socket));
      s.on("tlsClientError", (_e, socket) => socket.destroy());
      servers.push(s);
      origins.push(`ircs://${formatAddress({ ...config.tlsAt, port: await listen(s, config.tlsAt) })}`);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { origin: origins.join(" "), close };
}

/** The node's `transports.irc` for `config` (lib/server/node.ts): opens the listener; a port it cannot bind is told in its flag's words. */
export function ircTransport(config: IrcListenConfig, o: Omit<IrcListenerOptions, "config" | "deliver" | "hooks">): NonNullable<NodeTransports["irc"]> {
  return (deliver, hooks) =>
    openIrcListener({ ...o, config, deliver, hooks }).catch((e) => {
      const at = config.at ?? config.tlsAt!;
      throw new Error(bindProblem(formatAddress(at), at.port, e, config.at ? "--irc" : "--irc-tls", false));
    });
}
