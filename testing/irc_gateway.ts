/**
 * A stand-in for the IRC listener (issue 25 phase B wires one into
 * server.ts), for tests, irctest and trying real IRC clients meanwhile —
 * never the product: a TCP port where each connection is an IrcConnection
 * (lib/irc/connection.ts) whose DistChat requests go, as datagrams, to one
 * server's client port over UDP, exactly as a terminal client's would (one
 * UDP socket per IRC connection; same-tag resends while unanswered).
 *
 *   node testing/irc_gateway.ts --irc 127.0.0.1:6667 --server 127.0.0.1:7001 [--name a.distchat]
 */
import dgram from "node:dgram";
import net from "node:net";
import process from "node:process";
import { randomBytes } from "node:crypto";
import { clientFinal } from "../lib/accounts/scram.ts";
import { decodeReply, encodeRequest } from "../lib/wire/codec.ts";
import type { Request } from "../lib/wire/messages.ts";
import { type IrcConfig, IrcConnection, type IrcStep } from "../lib/irc/connection.ts";
import { parseAddress } from "../lib/wire/address.ts";
import { defineCommand, fail, parseCommandLine } from "../lib/config/cli.ts";

const GATEWAY = defineCommand({
  name: "irc_gateway",
  about: "irc_gateway: an IRC port in front of one DistChat server (tests only).",
  usage: "node testing/irc_gateway.ts --irc HOST:PORT --server HOST:PORT [--name NAME] [--servers N]",
  flags: {
    irc: { type: "string", value: "HOST:PORT", help: "where to serve IRC (required)" },
    server: { type: "string", value: "HOST:PORT", help: "the DistChat server's client port (required)" },
    name: { type: "string", value: "NAME", default: "a.distchat", help: "the IRC server's name" },
    servers: { type: "string", value: "N", default: "1", help: "servers the network tells it has" },
  },
});

/** Resend an unanswered request after this long (a held poll: after its wait and this). */
const RESEND_MS = 1000;

type Out = { req: Request; sentAt: number; bytes: Uint8Array };

/** Serves IRC on `irc`, relaying to the DistChat client port `server`; resolves once listening. */
export async function startGateway(irc: { host: string; port: number }, server: { host: string; port: number }, config: IrcConfig): Promise<net.Server> {
  let local = 0, max = 0;
  const cfg: IrcConfig = { ...config, census: () => ({ local, max }) };
  /** Every connection, to nudge the recipients of a direct message (IrcStep.dmsTo). */
  const live = new Set<{ conn: IrcConnection; apply: (step: IrcStep) => void }>();
  const tcp = net.createServer((socket) => {
    local++;
    max = Math.max(max, local);
    const udp = dgram.createSocket("udp4");
    let udpOpen = true;
    const conn = new IrcConnection(cfg, Date.now());
    const out = new Map<string, Out>();
    let closed = false;
    const apply = (step: IrcStep) => {
      if (step.lines.length > 0 && !socket.destroyed) socket.write(step.lines.map((l) => l + "\r\n").join(""));
      for (const req of step.requests) {
        const bytes = encodeRequest(req);
        out.set(req.tag, { req, sentAt: Date.now(), bytes });
        if (udpOpen) udp.send(bytes, server.port, server.host);
      }
      for (const job of step.proofs) {
        // SCRAM's PBKDF2 (and a proof of work, when asked) is asynchronous: the proof comes back later.
        void clientFinal(job.password, job.clientFirstBare, job.serverFirst).then((final) => apply(conn.proved(job.id, final?.message ?? null, Date.now())));
      }
      for (const nick of step.dmsTo) {
        for (const other of live) {
          if (other.conn !== conn && other.conn.state.nick?.toLowerCase() === nick.toLowerCase()) other.apply(other.conn.checkDms(Date.now()));
        }
      }
      if (step.close) end();
    };
    const entry = { conn, apply: (step: IrcStep) => apply(step) };
    live.add(entry);
    const closeUdp = () => {
      // a moment later: the logout must go out first
      setTimeout(() => {
        if (udpOpen) udp.close();
        udpOpen = false;
      }, 300);
    };
    const end = () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      socket.end();
      closeUdp();
    };
    udp.on("message", (bytes) => {
      const r = decodeReply(new Uint8Array(bytes));
      if (!r.ok || !out.has(r.value.tag)) return;
      out.delete(r.value.tag);
      apply(conn.reply(r.value, Date.now()));
    });
    udp.on("error", () => {});
    udp.bind(0, "127.0.0.1");
    const timer = setInterval(() => {
      const now = Date.now();
      for (const o of out.values()) {
        const wait = o.req.verb === "request" ? o.req.waitMs + RESEND_MS : RESEND_MS;
        if (now - o.sentAt > wait) {
          o.sentAt = now;
          if (udpOpen) udp.send(o.bytes, server.port, server.host);
        }
      }
      apply(conn.tick(now));
    }, 250);
    socket.on("data", (chunk: Uint8Array) => apply(conn.bytes(new Uint8Array(chunk), Date.now())));
    socket.on("error", () => {});
    socket.on("close", () => {
      local--;
      live.delete(entry);
      if (closed) return;
      apply(conn.disconnected(Date.now()));
      closed = true;
      clearInterval(timer);
      closeUdp();
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(irc.port, irc.host, () => resolve());
  });
  return tcp;
}

if (import.meta.main ?? process.argv[1]?.endsWith("irc_gateway.ts")) {
  const { values } = parseCommandLine(GATEWAY);
  if (!values.irc || !values.server) fail("irc_gateway", "give --irc HOST:PORT and --server HOST:PORT");
  let irc, server;
  try {
    irc = parseAddress(values.irc);
    server = parseAddress(values.server);
  } catch (e) {
    fail("irc_gateway", (e as Error).message);
  }
  await startGateway(irc, server, {
    serverName: values.name!,
    network: "DistChat",
    version: "distchat-irc-gateway",
    createdAt: Date.now(),
    motd: ["DistChat IRC gateway (testing/irc_gateway.ts)"],
    servers: Number(values.servers),
    pollWaitMs: 25000,
    dmsEveryMs: 3000,
    random: (n) => new Uint8Array(randomBytes(n)),
  });
  console.log(`irc gateway: IRC on ${values.irc}, DistChat at ${values.server}`);
}
