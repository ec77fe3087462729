/**
 * A DistChat cluster of N real servers (server.ts under Node or Deno) for the
 * cluster benchmarks: free loopback ports, each server in its own process
 * group with its database in a temp dir, optionally a testing/udp_proxy.ts for
 * every ordered pair of servers (so one server can be cut off in both
 * directions), and `stat` over the peer protocol (the server's `state` JSON:
 * vector, messages, sent/received peer datagrams).
 *
 * @example
 * ```ts
 * const c = await startBenchCluster("node", dir, 3, { pairProxies: false, args: ["--rate-limit", "0"] });
 * (await c.stat("b"))?.vector; // "a=4,b=2,c=2"
 * await c.close();
 * ```
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { decodePeer, encodePeer } from "../lib/wire/codec.ts";
import { parseReport, type StatusReport } from "../lib/server/status.ts";
import { bindUdp } from "../lib/net/udp_node.ts";
import { type Address } from "../lib/wire/address.ts";
import { type Transport } from "../lib/wire/transport.ts";
import { startUdpProxy, type UdpProxy } from "../testing/udp_proxy.ts";
import type { Runtime } from "./_child.ts";
import { displayCommand, ROOT, runtimeCommand } from "./_child.ts";
import { freePort } from "../testing/harness.ts";
import { type Proc, startProcess } from "../testing/processes.ts";

const LOOPBACK = "127.0.0.1";
const IDS = "abcdefghijklmnop";

async function distinctPorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  for (let i = 0; out.size < n && i < n * 20; i++) out.add(await freePort());
  if (out.size < n) throw new Error("no free ports");
  return [...out];
}

const fmt = (a: Address) => `${a.host}:${a.port}`;

/** Asks servers for their `state` over the peer protocol (no cluster key). */
export class StatClient {
  #t!: Transport;
  #waiters = new Map<number, (r: StatusReport) => void>();

  static async open(): Promise<StatClient> {
    const c = new StatClient();
    c.#t = await bindUdp({ host: LOOPBACK, port: 0 }, (bytes, from) => {
      const d = decodePeer(bytes);
      if (!d.ok || d.value.datagram.verb !== "state") return;
      const r = parseReport(d.value.datagram.json);
      const w = c.#waiters.get(from.port);
      if (r && w) {
        c.#waiters.delete(from.port);
        w(r);
      }
    }, { recvBufferSize: 1 << 20 });
    return c;
  }

  /** The report of the server whose peer socket is `peer`; null after `timeoutMs` (resent every 100 ms). */
  async stat(peer: Address, timeoutMs = 1000): Promise<StatusReport | null> {
    const bytes = encodePeer({ verb: "stat", from: "bench", nonce: "-" });
    let timer: ReturnType<typeof setInterval> | undefined;
    const got = new Promise<StatusReport | null>((resolve) => {
      this.#waiters.set(peer.port, resolve);
      const end = performance.now() + timeoutMs;
      timer = setInterval(() => {
        if (performance.now() > end) {
          this.#waiters.delete(peer.port);
          resolve(null);
        } else this.#t.send(bytes, peer);
      }, 100);
      this.#t.send(bytes, peer);
    });
    const r = await got;
    clearInterval(timer);
    return r;
  }

  close(): Promise<void> {
    return this.#t.close();
  }
}

export type ClusterServer = {
  id: string;
  client: Address;
  /** The server's real peer socket (--peer-listen). */
  peer: Address;
  pid: number;
  running: boolean;
};

export type BenchCluster = {
  runtime: Runtime;
  ids: string[];
  servers: Record<string, ClusterServer>;
  /** With pairProxies: the proxy carrying `from`'s datagrams to `to`, key "from>to". */
  proxies: Map<string, UdpProxy>;
  /** One server's command line as a reader would type it. */
  shown: string;
  /** Starts (or restarts on its database) server `id`; resolves with ms until its startup line. */
  start(id: string): Promise<number>;
  /** SIGKILL (a crash) or SIGTERM to server `id`'s process group; resolves when it has exited. */
  stop(id: string, signal?: NodeJS.Signals): Promise<void>;
  stat(id: string, timeoutMs?: number): Promise<StatusReport | null>;
  /** Stats of every running server (throws when one does not answer). */
  stats(): Promise<StatusReport[]>;
  close(): Promise<void>;
};

export type ClusterOptions = {
  pairProxies: boolean;
  args: string[];
  /** More environment for the servers (e.g. bench/_gc_trace.ts's). */
  env?: Record<string, string>;
  /** Hears each chunk of a server's stdout as it arrives. */
  onStdout?: (id: string, chunk: string) => void;
};

/** Starts `n` servers (ids a, b, c, …) under `runtime`, databases and servers files in `dir`. */
export async function startBenchCluster(runtime: Runtime, dir: string, n: number, o: ClusterOptions): Promise<BenchCluster> {
  const ids = [...IDS.slice(0, n)];
  const ports = await distinctPorts(2 * n);
  const servers: Record<string, ClusterServer> = {};
  ids.forEach((id, i) => {
    servers[id] = { id, client: { host: LOOPBACK, port: ports[2 * i] }, peer: { host: LOOPBACK, port: ports[2 * i + 1] }, pid: -1, running: false };
  });
  const proxies = new Map<string, UdpProxy>();
  const files: Record<string, string> = {};
  const statClient = await StatClient.open();
  const exits = new Map<string, Promise<void>>();
  const procs = new Map<string, Proc>();
  let shown = "";
  try {
    for (const id of ids) {
      const line = (other: string, peer: Address) => `${other} ${fmt(servers[other].client)} ${fmt(peer)}`;
      const rows: string[] = [];
      for (const other of ids) {
        if (other === id || !o.pairProxies) {
          rows.push(line(other, servers[other].peer));
          continue;
        }
        const p = await startUdpProxy({ listen: { host: LOOPBACK, port: 0 }, target: servers[other].peer, seed: proxies.size + 1 });
        proxies.set(`${id}>${other}`, p);
        rows.push(line(other, p.address));
      }
      files[id] = join(dir, `servers-${id}.txt`);
      writeFileSync(files[id], rows.join("\n") + "\n");
    }
  } catch (e) {
    await statClient.close();
    await Promise.all([...proxies.values()].map((p) => p.close()));
    throw e;
  }

  const start = async (id: string): Promise<number> => {
    const s = servers[id];
    if (s.running) throw new Error(`server ${id} is running`);
    const db = join(dir, `${id}.sqlite`);
    const argv = runtimeCommand(runtime, "server.ts", [
      "--id", id, "--servers", files[id], "--db", db, "--peer-listen", fmt(s.peer), ...(existsSync(db) ? [] : ["--new-cluster"]), "--insecure-peers", "--allow-plaintext", ...o.args,
    ]);
    shown ||= displayCommand(argv).replaceAll(dir, "TMPDIR").replace(`--peer-listen ${fmt(s.peer)}`, "--peer-listen PEER_ADDRESS");
    const t0 = performance.now();
    const onStdout = o.onStdout && ((chunk: string) => o.onStdout!(id, chunk));
    const proc = startProcess(argv, { cwd: ROOT, maxStderr: 20_000, env: o.env, onStdout });
    procs.set(id, proc);
    s.pid = proc.pid;
    s.running = true;
    exits.set(id, proc.exited.then(() => void (s.running = false)));
    const text = () => (proc.stdout() + proc.stderr()).slice(0, 20_000);
    const until = Date.now() + 30_000;
    while (!/clients \S+, peers/.test(text())) {
      if (!s.running || Date.now() > until) {
        await proc.kill9();
        throw new Error(`server ${id} did not start: ${text().trim().slice(-500)}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return performance.now() - t0;
  };

  const stop = async (id: string, signal: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    const s = servers[id];
    if (!s.running) return;
    const proc = procs.get(id)!;
    proc.signal(signal);
    const t = setTimeout(() => proc.signal("SIGKILL"), 5000);
    await exits.get(id);
    clearTimeout(t);
  };

  const cluster: BenchCluster = {
    runtime,
    ids,
    servers,
    proxies,
    get shown() {
      return shown;
    },
    start,
    stop,
    stat: (id, timeoutMs) => statClient.stat(servers[id].peer, timeoutMs),
    async stats() {
      const up = ids.filter((id) => servers[id].running);
      const rs = await Promise.all(up.map((id) => statClient.stat(servers[id].peer, 2000)));
      rs.forEach((r, i) => {
        if (!r) throw new Error(`server ${up[i]} did not answer stat`);
      });
      return rs as StatusReport[];
    },
    async close() {
      await Promise.all(ids.map((id) => stop(id)));
      await Promise.all([...proxies.values()].map((p) => p.close()));
      await statClient.close();
    },
  };
  try {
    await Promise.all(ids.map((id) => start(id)));
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}

/** Polls stats every `stepMs` until `done(reports)`; resolves with performance.now() then, or null after `maxMs`. */
export async function statsUntil(
  c: BenchCluster,
  done: (rs: StatusReport[]) => boolean,
  maxMs: number,
  stepMs = 20,
  ids: string[] = c.ids,
): Promise<{ at: number; reports: StatusReport[] } | null> {
  const end = performance.now() + maxMs;
  let last: StatusReport[] = [];
  while (performance.now() < end) {
    const rs = await Promise.all(ids.map((id) => c.stat(id, 500)));
    const at = performance.now();
    if (rs.every((r) => r !== null)) {
      last = rs as StatusReport[];
      if (done(last)) return { at, reports: last };
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return null;
}
