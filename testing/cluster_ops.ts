/**
 * Helpers for cluster tests and benchmarks of real server processes:
 * a cluster whose peer addresses in servers.txt are fault-injecting UDP
 * proxies (testing/udp_proxy.ts) in front of the servers' real peer ports, and a
 * few client requests (login, open/connect, add, read a whole room).
 *
 * @example
 * ```ts
 * const fc = await startFaultyCluster(["a", "b", "c"], { loss: 0.2, duplicate: 0.05, seed: 1 });
 * const u = await udpClient();
 * const tok = await login(u, fc.servers.a.clientAddr, "alice");
 * await enter(u, fc.servers.a.clientAddr, tok, "lobby");
 * await add(u, fc.servers.a.clientAddr, tok, "lobby", "hi");
 * (await readAll(u, fc.servers.b.clientAddr, tok, "lobby")).ids; // eventually ["a.1"]
 * await fc.stop();
 * ```
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { decodePeer, escapeText } from "../lib/wire/codec.ts";
import { parseClockHint, statDatagram, type StatusReport } from "../lib/server/status.ts";
import type { PollReply } from "../lib/wire/messages.ts";
import { formatVector } from "../lib/wire/vector.ts";
import { formatAddress } from "../lib/wire/address.ts";
import { keyField } from "../lib/config/servers_file.ts";
import { startUdpProxy, type UdpProxy } from "./udp_proxy.ts";
import { type Address, freePort, lines, makeServerKey, parsePoll, type ServerHandle, startServer, type StartOptions, tempDir, type UdpClient } from "./harness.ts";

/** Re-exported for the cluster benchmarks, which read polls the same way. */
export { parsePoll };

const LOOPBACK = "127.0.0.1";
let tagNo = 0;
/** A fresh request tag. */
export const tag = (): string => `f${(++tagNo).toString(36)}`;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type Faults = { loss: number; duplicate: number; jitterMs?: number; seed: number };

export type FaultyCluster = {
  ids: string[];
  file: string;
  dir: string;
  servers: Record<string, ServerHandle>;
  /** The proxy in front of each server's peer port (what servers.txt names). */
  proxies: Record<string, UdpProxy>;
  /** Each server's real peer address (--peer-listen). */
  peerListen: Record<string, Address>;
  clientAddr: Record<string, Address>;
  /** Each server's static public key (its key= in servers.txt), by client address `host:port`. */
  keys: Map<string, Uint8Array>;
  /** Starts (or restarts, on the same database) server `id`; `extra`: more flags (e.g. --join); `o.waitForWrites` false: return at its start line, before a restarted server has caught up. */
  start(id: string, extra?: string[], o?: Pick<StartOptions, "waitForWrites">): Promise<ServerHandle>;
  /** Rewrites servers.txt with the lines of `live` and a `retired` line for each of `retired` (a membership change). */
  writeServers(live: readonly string[], retired?: readonly string[]): void;
  stop(): Promise<void>;
};

async function distinctPorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  for (let i = 0; out.size < n && i < n * 20; i++) out.add(await freePort());
  if (out.size < n) throw new Error("no free ports");
  return [...out];
}

/**
 * Starts one proxy per server (listening where servers.txt says the server's
 * peer port is, forwarding to its real one) and the servers, each bound with
 * `--peer-listen` to its real peer port; `command(id)`, when it gives one, is
 * the argv that runs server `id` at each start (e.g. a previous release).
 */
export async function startFaultyCluster(
  ids: string[],
  faults: Faults,
  extraArgs: string[] = [],
  spares: string[] = [],
  command: (id: string) => ((args: string[]) => string[]) | undefined = () => undefined,
): Promise<FaultyCluster> {
  const live = ids;
  ids = [...ids, ...spares];
  const dir = tempDir("distchat-faults-");
  const ports = await distinctPorts(ids.length * 3);
  const clientAddr: Record<string, Address> = {};
  const proxyAddr: Record<string, Address> = {};
  const peerListen: Record<string, Address> = {};
  ids.forEach((id, i) => {
    clientAddr[id] = { host: LOOPBACK, port: ports[3 * i] };
    proxyAddr[id] = { host: LOOPBACK, port: ports[3 * i + 1] };
    peerListen[id] = { host: LOOPBACK, port: ports[3 * i + 2] };
  });
  const file = join(dir, "servers.txt");
  const keys = new Map(ids.map((id) => [formatAddress(clientAddr[id]), makeServerKey(dir, id)] as const));
  const line = (id: string) => `${id} ${formatAddress(clientAddr[id])} ${formatAddress(proxyAddr[id])} ${keyField(keys.get(formatAddress(clientAddr[id]))!)}`;
  const writeServers = (now: readonly string[], retired: readonly string[] = []) =>
    writeFileSync(file, "# peers behind fault-injecting proxies (testing/cluster_ops.ts)\n" + [...now.map(line), ...retired.map((id) => `${id} retired`)].join("\n") + "\n");
  writeServers(live);
  const proxies: Record<string, UdpProxy> = {};
  const servers: Record<string, ServerHandle> = {};
  const fc: FaultyCluster = {
    ids,
    file,
    dir,
    servers,
    proxies,
    peerListen,
    clientAddr,
    keys,
    async start(id, extra = [], o = {}) {
      servers[id] = await startServer({
        id,
        servers: file,
        db: join(dir, `${id}.sqlite`),
        extraArgs: ["--peer-listen", formatAddress(peerListen[id]), "--sync", "normal", ...extraArgs, ...extra],
        newCluster: !extra.includes("--join"),
        command: command(id),
        ...o,
      });
      return servers[id];
    },
    writeServers,
    async stop() {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
      await Promise.all(Object.values(proxies).map((p) => p.close()));
    },
  };
  try {
    for (const [i, id] of ids.entries()) {
      proxies[id] = await startUdpProxy({
        listen: proxyAddr[id],
        target: peerListen[id],
        loss: faults.loss,
        duplicate: faults.duplicate,
        jitterMs: faults.jitterMs ?? 0,
        seed: faults.seed * 31 + i,
      });
    }
    await Promise.all(live.map((id) => fc.start(id)));
  } catch (e) {
    await fc.stop();
    throw e;
  }
  return fc;
}

// --- client requests ------------------------------------------------------------

function failIfError(reply: string, what: string): string {
  if (!reply.startsWith("ok\n") && !reply.startsWith("poll\n")) throw new Error(`${what}: ${reply.replace(/\n/g, " | ")}`);
  return reply;
}

export async function login(u: UdpClient, to: Address, user: string): Promise<string> {
  const r = failIfError(await u.request(to, lines("login", tag(), user)), `login ${user}`);
  return r.split("\n")[4];
}

/** Opens the room, or connects to it when it exists. */
export async function enter(u: UdpClient, to: Address, token: string, room: string): Promise<void> {
  const r = await u.request(to, lines("open", tag(), token, room));
  if (r.startsWith("error\n") && r.split("\n")[2] === "room-exists") {
    failIfError(await u.request(to, lines("connect", tag(), token, room)), `connect ${room}`);
  } else failIfError(r, `open ${room}`);
}

/** Connects, retrying (fresh tags) until the room has reached this server. */
export async function connectWhenThere(u: UdpClient, to: Address, token: string, room: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await u.request(to, lines("connect", tag(), token, room));
    if (r.startsWith("ok\n")) return;
    if (Date.now() > until) throw new Error(`connect ${room}: ${r.replace(/\n/g, " | ")}`);
    await sleep(30);
  }
}

/** Adds a message; resolves with its msgID ("a.17") once acked. Retransmits (same tag) on silence. */
export async function add(u: UdpClient, to: Address, token: string, room: string, msg: string): Promise<string> {
  const t = tag();
  const text = lines("add", t, token, escapeText(msg), room);
  for (let i = 0;; i++) {
    try {
      const r = failIfError(await u.request(to, text, 2000), `add ${msg}`);
      return r.split("\n")[5];
    } catch (e) {
      if (i >= 4 || !/no reply/.test((e as Error).message)) throw e;
    }
  }
}


export function cursorText(p: PollReply): string {
  return formatVector(p.cursor);
}

export type Listed = { ids: string[]; msgs: string[]; cursor: string };

/** Every message of a room on a server, from cursor 0 while `more`. */
export async function readAll(u: Pick<UdpClient, "request">, to: Address, token: string, room: string, cursor = "0"): Promise<Listed> {
  const out: Listed = { ids: [], msgs: [], cursor };
  for (let pages = 0; pages < 100_000; pages++) {
    const p = parsePoll(await u.request(to, lines("request", tag(), token, room, out.cursor), 5000));
    for (const e of p.entries) {
      out.ids.push(`${e.msgId.origin}.${e.msgId.n}`);
      out.msgs.push(e.msg);
    }
    out.cursor = cursorText(p);
    if (!p.more) return out;
  }
  throw new Error("readAll: too many pages");
}

/**
 * Polls `check` every `stepMs` until it returns true; resolves with the ms
 * waited, or null after `ms`.
 */
export async function within(ms: number, check: () => Promise<boolean>, stepMs = 50): Promise<number | null> {
  const start = performance.now();
  for (;;) {
    if (await check()) return Math.round(performance.now() - start);
    if (performance.now() - start > ms) return null;
    await sleep(stepMs);
  }
}

/**
 * Asks a server's peer port for its `state` (as npm run status does, MACed
 * with `key` if given; asked again in the server's time after a clock hint);
 * null after `timeoutMs`.
 */
export async function askState(u: UdpClient, to: Address, key: Uint8Array | null = null, timeoutMs = 1000): Promise<StatusReport | null> {
  const ask = (offset: number) => u.send(to, statDatagram(key, Date.now() + offset, randomBytes(8).toString("hex")));
  ask(0);
  for (let hinted = false;;) {
    const d = await u.next(timeoutMs);
    if (!d) return null;
    const p = decodePeer(d.bytes);
    if (!p.ok || p.value.datagram.verb !== "state") continue;
    const hint = parseClockHint(p.value.datagram.json);
    if (hint && !hinted) {
      hinted = true;
      ask(hint.now - Date.now());
      continue;
    }
    if (!hint) return JSON.parse(p.value.datagram.json) as StatusReport;
  }
}
