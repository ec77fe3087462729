/**
 * Several "hosts" on one machine for black-box tests: Linux network
 * namespaces made with `ip netns` (iproute2; root needed). One namespace is
 * the switch (a bridge `br0`); each host, and the clients, get a namespace of
 * their own joined to the bridge by a veth pair, with an address 10.24.0.N/24
 * that exists only inside these namespaces (no route leaves them, nothing in
 * the test's own namespace changes). Names carry a random suffix
 * (`dct-<hex>-a`), so parallel runs never meet, and every namespace this
 * module made is deleted — its processes killed first — by `remove()`, at
 * exit and on SIGINT/SIGTERM (testing/processes.ts `stopOnSignals`).
 *
 * @example
 * ```ts
 * const why = netnsUnavailable();            // null: namespaces work here
 * const lab = makeLab(["a", "b", "c"]);      // hosts a, b, c and the clients' namespace
 * const file = writeServersFile(lab, tempDir());
 * const srv = await startServer({ id: "a", servers: file, wrap: lab.wrap("a") });
 * lab.cut("c"); lab.heal("c");               // c's cable out, and back
 * lab.killHost("a");                         // every process of host a, SIGKILL at once
 * lab.remove();
 * ```
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { Buffer } from "node:buffer";
import { scriptCommand } from "../lib/platform/runtime.ts";
import type { Transport } from "../lib/wire/transport.ts";
import type { OnDatagram } from "../lib/wire/transport.ts";
import { keyField } from "../lib/config/servers_file.ts";
import { makeServerKey, ROOT, udpClient, type UdpClient } from "./harness.ts";
import { startProcess } from "./processes.ts";

/** The /24 the hosts live on, inside the namespaces only. */
export const SUBNET = "10.24.0";
/** Ports every host uses, as in docs/DEPLOY.md. */
export const PORTS = { client: 7001, peer: 7101 } as const;

/** One namespace of a lab: its name, its address, its veth end on the bridge. */
export type Host = { id: string; ns: string; ip: string; port: string };

export type NetLab = {
  /** The switch's namespace (bridge br0). */
  sw: string;
  hosts: Record<string, Host>;
  /** The clients' namespace (address SUBNET.100). */
  clients: Host;
  /** argv prefix that runs a command in host `id`'s namespace (`clients` for the clients'). */
  wrap(id: string): string[];
  /** Takes host `id`'s link down at the bridge: a partition (the host's processes keep running). */
  cut(id: string): void;
  /** Brings host `id`'s link back up. */
  heal(id: string): void;
  /** SIGKILLs every process in host `id`'s namespace at once (a host lost); how many. */
  killHost(id: string): number;
  /** Kills what runs in the lab's namespaces and deletes them; idempotent. */
  remove(): void;
};

const made = new Set<string>();

function ip(args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.error || r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.error?.message ?? r.stderr.trim()}`);
  return r.stdout;
}

/** PIDs of the processes in namespace `ns`. */
function pidsIn(ns: string): number[] {
  const r = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 10_000 });
  return (r.stdout ?? "").split(/\s+/).filter((p) => /^\d+$/.test(p)).map(Number);
}

function killIn(ns: string): number {
  const pids = pidsIn(ns);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* gone meanwhile */ }
  }
  return pids.length;
}

function deleteNs(ns: string): void {
  if (!made.has(ns)) return;
  killIn(ns);
  spawnSync("ip", ["netns", "del", ns], { timeout: 10_000 });
  made.delete(ns);
}

process.on("exit", () => {
  for (const ns of [...made]) deleteNs(ns);
});

/** Why network namespaces cannot be made here (not root, no iproute2, …), or null when they can. */
export function netnsUnavailable(): string | null {
  const ns = `dct-probe-${randomBytes(3).toString("hex")}`;
  const r = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8", timeout: 10_000 });
  if (r.error) return `ip netns: ${r.error.message}`;
  if (r.status !== 0) return `ip netns add: ${r.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", ns], { timeout: 10_000 });
  return null;
}

function addNs(ns: string): void {
  ip(["netns", "add", ns]);
  made.add(ns);
  ip(["-n", ns, "link", "set", "lo", "up"]);
}

/** Host `id`'s namespace joined to the switch `sw` with address SUBNET.n. */
function addHost(prefix: string, sw: string, id: string, n: number): Host {
  const host: Host = { id, ns: `${prefix}-${id}`, ip: `${SUBNET}.${n}`, port: `p${n}` };
  addNs(host.ns);
  ip(["-n", sw, "link", "add", host.port, "type", "veth", "peer", "name", "eth0", "netns", host.ns]);
  ip(["-n", sw, "link", "set", host.port, "master", "br0", "up"]);
  ip(["-n", host.ns, "addr", "add", `${host.ip}/24`, "dev", "eth0"]);
  ip(["-n", host.ns, "link", "set", "eth0", "up"]);
  return host;
}

/** A switch, one namespace per id (addresses SUBNET.1, .2, …) and the clients' (SUBNET.100). Throws (after undoing) on failure. */
export function makeLab(ids: string[]): NetLab {
  const prefix = `dct-${randomBytes(3).toString("hex")}`;
  const sw = `${prefix}-sw`;
  const mine: string[] = [];
  try {
    addNs(sw);
    mine.push(sw);
    ip(["-n", sw, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", sw, "link", "set", "br0", "up"]);
    const hosts: Record<string, Host> = {};
    ids.forEach((id, i) => {
      hosts[id] = addHost(prefix, sw, id, i + 1);
      mine.push(hosts[id].ns);
    });
    const clients = addHost(prefix, sw, "clients", 100);
    mine.push(clients.ns);
    const host = (id: string) => {
      const h = id === "clients" ? clients : hosts[id];
      if (!h) throw new Error(`no host ${id} in this lab`);
      return h;
    };
    return {
      sw,
      hosts,
      clients,
      wrap: (id) => ["ip", "netns", "exec", host(id).ns],
      cut: (id) => void ip(["-n", sw, "link", "set", host(id).port, "down"]),
      heal: (id) => void ip(["-n", sw, "link", "set", host(id).port, "up"]),
      killHost: (id) => killIn(host(id).ns),
      remove: () => mine.forEach(deleteNs),
    };
  } catch (e) {
    mine.forEach(deleteNs);
    throw e;
  }
}

/** servers.txt in `dir` for the lab's hosts: `id IP:7001 IP:7101 key=…` (each key pair made as `<dir>/<id>.server.key`). */
export function writeServersFile(lab: NetLab, dir: string): string {
  const file = join(dir, "servers.txt");
  const line = (h: Host) => `${h.id} ${h.ip}:${PORTS.client} ${h.ip}:${PORTS.peer} ${keyField(makeServerKey(dir, h.id))}`;
  writeFileSync(file, "# written by testing/netns.ts\n" + Object.values(lab.hosts).map(line).join("\n") + "\n");
  return file;
}

/**
 * A Transport whose socket lives in namespace `ns`: a relay process there
 * (testing/netns_relay.ts) sends and receives for it over its stdin/stdout.
 */
export async function nsTransport(ns: string, onDatagram: OnDatagram): Promise<Transport> {
  let port = 0;
  let partial = "";
  const p = startProcess(["ip", "netns", "exec", ns, ...scriptCommand(join(ROOT, "testing/netns_relay.ts"))], {
    cwd: ROOT,
    stdin: "pipe",
    onStdout(chunk) {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf("\n")) >= 0) {
        const [a, b, c] = partial.slice(0, nl).split(" ");
        partial = partial.slice(nl + 1);
        if (a === "ready") port = Number(b);
        else if (c !== undefined) onDatagram(new Uint8Array(Buffer.from(c, "base64")), { host: a, port: Number(b) });
      }
    },
  });
  for (const until = Date.now() + 30_000; port === 0;) {
    if (p.ended || Date.now() > until) {
      await p.kill9();
      throw new Error(`netns relay in ${ns} did not start: ${p.stderr().trim()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    address: { host: "0.0.0.0", port },
    send: (bytes, to) => p.write(`${to.host} ${to.port} ${Buffer.from(bytes).toString("base64")}\n`),
    sendErrors: 0,
    close: async () => {
      p.endInput();
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 2000))]);
      await p.kill9();
    },
  };
}

/** The harness's raw UDP client (request, next, …) with its socket in namespace `ns`. */
export function nsUdpClient(ns: string): Promise<UdpClient> {
  return udpClient("0.0.0.0", undefined, (_at, on) => nsTransport(ns, on));
}
